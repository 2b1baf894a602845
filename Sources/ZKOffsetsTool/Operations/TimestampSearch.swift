import ZKOffsets

/// One message as a timestamp search saw it: its offset and its timestamp (milliseconds since 1970).
public struct TimelineSample: Sendable, Equatable {
    /// The message's offset (at or after the offset asked for: compaction leaves gaps).
    public var offset: Int64
    /// The message's timestamp in milliseconds since 1970.
    public var millis: Int64

    /// A sample as a fetch saw it.
    public init(offset: Int64, millis: Int64) {
        self.offset = offset
        self.millis = millis
    }
}

/// Binary search over a partition's messages for the first one at or after a time, fetching one message per step.
///
/// Assumes timestamps never decrease along the searched offsets (log-append time guarantees it; create time
/// mostly does, producers' clocks permitting). Under that assumption the answer is exact and costs at most
/// about log2(high - low) + 1 fetches. When timestamps do go down, the search still ends, at *an* offset where
/// the predicate turns true, not necessarily the first: `firstDecrease` finds such violations among the messages
/// fetched, so callers can warn.
public enum TimestampSearch {
    /// What the wanted message's timestamp must satisfy.
    public enum Bound: Sendable, Equatable {
        /// Timestamp >= the value: where the next message to consume carried on.
        case atOrAfter(Int64)
        /// Timestamp > the value: the first message after the last one consumed.
        case after(Int64)

        /// True when a message with timestamp `millis` is at or past the bound.
        public func accepts(_ millis: Int64) -> Bool {
            switch self {
            case .atOrAfter(let time): millis >= time
            case .after(let time): millis > time
            }
        }

        /// The smallest timestamp accepted, as offsets-for-times takes it.
        public var earliestAccepted: Int64 {
            switch self {
            case .atOrAfter(let time): time
            case .after(let time): time == Int64.max ? time : time + 1
            }
        }
    }

    /// Where the search ended and what it fetched on the way.
    public struct Outcome: Sendable, Equatable {
        /// The first offset in `low..<high` whose message is accepted, or `high` when none is.
        public var offset: Int64
        /// Every message fetched, in fetch order.
        public var samples: [TimelineSample]
    }

    /// Searches `low..<high`. `sample(o)` returns the first message at or after offset `o` (nil when none is
    /// left before `high`); its errors are thrown as they are.
    public static func first(
        _ bound: Bound, low: Int64, high: Int64, sample: (Int64) async throws -> TimelineSample?
    ) async throws -> Outcome {
        var lower = low
        var upper = high
        var samples: [TimelineSample] = []
        // Invariant: every offset below `lower` is rejected, `upper` is accepted (or the log end).
        while lower < upper {
            let middle = lower + (upper - lower) / 2
            guard let found = try await sample(middle), found.offset < high else {
                upper = middle
                continue
            }
            samples.append(found)
            if bound.accepts(found.millis) {
                upper = middle
            } else {
                // Offsets from `middle` up to the message found hold nothing (compaction) or this message.
                lower = found.offset + 1
            }
        }
        return Outcome(offset: lower, samples: samples)
    }

    /// The first two messages, in offset order, whose timestamps go down; nil when the samples are in order.
    public static func firstDecrease(_ samples: [TimelineSample]) -> (earlier: TimelineSample, later: TimelineSample)? {
        var byOffset: [Int64: TimelineSample] = [:]
        for sample in samples { byOffset[sample.offset] = sample }
        let ordered = byOffset.values.sorted { $0.offset < $1.offset }
        for (earlier, later) in zip(ordered, ordered.dropFirst()) where later.millis < earlier.millis {
            return (earlier, later)
        }
        return nil
    }
}
