import ZKOffsets

/// One partition's committed offset carried from an old cluster to a new one by message time.
///
/// The rule (offsets are "next offset to consume"; `c` is the old committed offset):
/// 1. `c` above the old log end: refused (truncated or re-created topic; reset it first).
/// 2. Nothing to take a time from, so nothing may be skipped: `c == 0` (the group consumed nothing), the old
///    log is empty, or `c` is below the old log start (retention dropped messages the group never read) -> the
///    new log start. The last two are noted: messages may be delivered again.
/// 3. `c` at the old log end (the group consumed everything): the last consumed message (`c - 1`) has time T;
///    the new offset is the first message with a time after T, the new log end when there is none. So a group
///    that consumed everything lands at the new log end, or at the first message the old cluster never had.
/// 4. Otherwise the next message to consume (`c`) has time T; the new offset is the first message with a time
///    at or after T, the new log end when there is none.
///
/// Equal timestamps: when the consumed and the unconsumed messages around `c` share a millisecond, rule 4
/// delivers the consumed ones of that millisecond again (at least once, never lost) and rule 3 skips every
/// message of that millisecond in the new cluster; both are noted as ambiguous. The search assumes message
/// times never decrease along a partition (see `TimestampSearch`); a decrease among the messages fetched is
/// noted.
public struct OffsetTranslation: Sendable, Equatable {
    /// Which message's time was carried over.
    public enum Basis: String, Sendable, Equatable {
        /// The next message to consume (rule 4).
        case nextMessage = "next"
        /// The last consumed message, the group being at the old log end (rule 3).
        case lastConsumed = "last"
        /// The group consumed nothing: new log start (rule 2).
        case nothingConsumed = "none-consumed"
        /// The old partition holds no message: new log start (rule 2).
        case oldLogEmpty = "old-empty"
        /// The offset is below the old log start: new log start (rule 2).
        case belowOldLogStart = "below-start"
    }

    /// How the new offset was found.
    public enum Method: String, Sendable, Equatable {
        /// The new cluster's offsets-for-times answer, checked against the messages around it.
        case offsetsForTimes = "offsets-for-times"
        /// Binary search over fetched message times.
        case search
        /// The new log start, by rule 2.
        case logStart = "log-start"
        /// The new log end: the new partition is empty, or its last message is older than the time.
        case logEnd = "log-end"
    }

    /// The partition, the same number on both clusters.
    public var partition: TopicPartition
    /// The committed offset in the old cluster.
    public var oldOffset: Int64
    /// Which rule applied; nil when refused before one could.
    public var basis: Basis?
    /// The old message whose time was carried (rules 3 and 4).
    public var referenceOffset: Int64?
    /// That message's time, milliseconds since 1970.
    public var timestampMillis: Int64?
    /// The offset to store for the new cluster; nil when refused.
    public var newOffset: Int64?
    /// How `newOffset` was found.
    public var method: Method?
    /// Things to know about this partition (ambiguity, decreasing times, empty logs), one sentence each.
    public var notes: [String]
    /// Why this partition cannot be carried; any refusal stops the whole migration.
    public var refusal: String?

    /// A translation as decided by the migration; the fields are not checked against the rules above.
    public init(
        partition: TopicPartition, oldOffset: Int64, basis: Basis? = nil, referenceOffset: Int64? = nil,
        timestampMillis: Int64? = nil, newOffset: Int64? = nil, method: Method? = nil, notes: [String] = [],
        refusal: String? = nil
    ) {
        self.partition = partition
        self.oldOffset = oldOffset
        self.basis = basis
        self.referenceOffset = referenceOffset
        self.timestampMillis = timestampMillis
        self.newOffset = newOffset
        self.method = method
        self.notes = notes
        self.refusal = refusal
    }

    /// What the new cluster's message must satisfy; nil when the rule needs no time (or refused).
    public var bound: TimestampSearch.Bound? {
        guard refusal == nil, let timestampMillis else { return nil }
        switch basis {
        case .nextMessage: return .atOrAfter(timestampMillis)
        case .lastConsumed: return .after(timestampMillis)
        default: return nil
        }
    }

    /// Step one: picks the rule for committed offset `committed` and reads the old message times it needs.
    /// `sample(o)` returns the old cluster's first message at or after `o`.
    public static func reference(
        partition: TopicPartition, committed: Int64, old: Watermarks,
        sample: (Int64) async throws -> TimelineSample
    ) async throws -> OffsetTranslation {
        var result = OffsetTranslation(partition: partition, oldOffset: committed)
        if committed > old.high {
            result.refusal =
                "offset \(committed) is above the old log end \(old.high) (topic truncated or re-created?): "
                + "reset it in the old cluster first"
            return result
        }
        if old.count == 0 {
            result.basis = .oldLogEmpty
            if committed > 0 {
                result.notes.append(
                    "the old partition holds no message (log \(old.low)..\(old.high)): no time to carry; starts at "
                        + "the new log start so nothing is skipped (messages may be delivered again)")
            }
            return result
        }
        if committed == 0 {
            result.basis = .nothingConsumed
            return result
        }
        if committed < old.low {
            result.basis = .belowOldLogStart
            result.notes.append(
                "offset \(committed) is below the old log start \(old.low): retention dropped \(old.low - committed) "
                    + "message(s) the group never consumed; starts at the new log start so none the new cluster "
                    + "still holds is skipped (messages may be delivered again)")
            return result
        }
        var samples: [TimelineSample] = []
        if committed == old.high {
            let last = try await sample(committed - 1)
            samples.append(last)
            result.basis = .lastConsumed
            result.referenceOffset = last.offset
            result.timestampMillis = last.millis
            if committed - 2 >= old.low {
                let before = try await sample(committed - 2)
                samples.append(before)
                if before.millis == last.millis && before.offset < last.offset {
                    result.notes.append(
                        "ambiguous: several consumed messages share the last timestamp "
                            + "\(TimestampText.iso8601(millis: last.millis)); every message of that millisecond in "
                            + "the new cluster counts as consumed")
                }
            }
        } else {
            let next = try await sample(committed)
            samples.append(next)
            result.basis = .nextMessage
            result.referenceOffset = next.offset
            result.timestampMillis = next.millis
            if committed - 1 >= old.low {
                let before = try await sample(committed - 1)
                samples.append(before)
                if before.millis == next.millis && before.offset < next.offset {
                    result.notes.append(
                        "ambiguous: the last consumed message (offset \(before.offset)) has the same timestamp "
                            + "\(TimestampText.iso8601(millis: next.millis)) as the next; messages of that millisecond "
                            + "already consumed will be delivered again")
                }
            }
        }
        if let decrease = TimestampSearch.firstDecrease(samples) {
            result.notes.append(Self.decreaseNote("old", decrease.earlier, decrease.later))
        }
        return result
    }

    /// Step two: finds the new offset in the new partition `new`. `brokerAnswer` is the new cluster's
    /// offsets-for-times answer for `bound.earliestAccepted` (nil when it answered none); it is used only when
    /// the messages around it agree. `sample(o)` returns the new cluster's first message at or after `o`.
    public mutating func locate(
        in new: Watermarks, brokerAnswer: Int64?, sample: (Int64) async throws -> TimelineSample
    ) async throws {
        guard refusal == nil, basis != nil else { return }
        guard let bound else {
            newOffset = new.low
            method = .logStart
            return
        }
        if new.count == 0 {
            newOffset = new.high
            method = .logEnd
            notes.append("the new partition holds no message: starts at its log end \(new.high)")
            return
        }
        var samples: [TimelineSample] = []
        func sampleInLog(_ offset: Int64) async throws -> TimelineSample? {
            let found = try await sample(offset)
            samples.append(found)
            return found.offset < new.high ? found : nil
        }
        var found: Int64?
        if let answer = brokerAnswer {
            if try await Self.agrees(answer, bound: bound, in: new, sample: sampleInLog) {
                found = answer
                method = .offsetsForTimes
            } else {
                notes.append(
                    "the new cluster's offsets-for-times answer \(answer) disagrees with its messages: searched")
            }
        } else if let last = try await sampleInLog(new.high - 1), !bound.accepts(last.millis) {
            found = new.high
            method = .logEnd
        }
        if found == nil {
            let outcome = try await TimestampSearch.first(bound, low: new.low, high: new.high, sample: sampleInLog)
            found = outcome.offset
            method = .search
        }
        guard let offset = found else { return }
        newOffset = offset
        if basis == .nextMessage {
            if offset == new.high {
                notes.append("no message in the new cluster is this recent: starts at the new log end \(new.high)")
            } else if let first = try await sampleInLog(offset), first.millis != timestampMillis {
                if offset == new.low {
                    notes.append(
                        "the new log starts after this time (first message "
                            + "\(TimestampText.iso8601(millis: first.millis))): messages between are not in the new cluster")
                } else {
                    notes.append(
                        "no message of the new cluster has exactly this time; the next one is at "
                            + TimestampText.iso8601(millis: first.millis))
                }
            }
        }
        if let decrease = TimestampSearch.firstDecrease(samples) {
            notes.append(Self.decreaseNote("new", decrease.earlier, decrease.later))
        }
    }

    /// True when `answer` is the first accepted offset as far as its message and the one before it tell.
    private static func agrees(
        _ answer: Int64, bound: TimestampSearch.Bound, in new: Watermarks,
        sample: (Int64) async throws -> TimelineSample?
    ) async throws -> Bool {
        guard new.contains(answer) else { return false }
        if answer < new.high {
            guard let at = try await sample(answer), at.offset == answer, bound.accepts(at.millis) else { return false }
        }
        if answer > new.low {
            guard let before = try await sample(answer - 1), before.offset == answer - 1, !bound.accepts(before.millis)
            else { return false }
        }
        return true
    }

    private static func decreaseNote(_ side: String, _ earlier: TimelineSample, _ later: TimelineSample) -> String {
        "timestamps go down in the \(side) cluster (offset \(earlier.offset) at "
            + "\(TimestampText.iso8601(millis: earlier.millis)), offset \(later.offset) at "
            + "\(TimestampText.iso8601(millis: later.millis))): the search assumes they never do; check this partition"
    }
}
