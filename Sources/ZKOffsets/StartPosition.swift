/// Where a partition starts consuming, and why.
public struct StartPosition: Sendable, Hashable, CustomStringConvertible {
    /// Why a partition starts where it does.
    public enum Reason: Sendable, Hashable {
        /// The stored offset, within the log.
        case stored
        /// No offset was stored: the reset policy chose.
        case noStoredOffset(ResetPolicy)
        /// The stored offset fell below the log start (retention removed data): the reset policy chose, and
        /// `skipped` messages were never consumed.
        case belowLogStart(stored: Int64, skipped: Int64, policy: ResetPolicy)
        /// The stored offset was above the log end and resetting was allowed.
        case aboveLogEnd(stored: Int64, policy: ResetPolicy)
    }

    /// The partition that starts at `offset`.
    public var partition: TopicPartition
    /// The next offset to consume.
    public var offset: Int64
    /// Whether `offset` is the stored one or a reset policy's choice, and what was stored.
    public var reason: Reason

    /// A start as decided elsewhere; `offset` is not checked against the log (`resolve` does that).
    public init(partition: TopicPartition, offset: Int64, reason: Reason) {
        self.partition = partition
        self.offset = offset
        self.reason = reason
    }

    /// True when the offset znode must be written (it was missing or out of range).
    public var needsWrite: Bool { reason != .stored }

    /// One line for logs: `orders-3 at stored offset 1042`, or the reset with its policy and skipped messages.
    public var description: String {
        switch reason {
        case .stored: "\(partition) at stored offset \(offset)"
        case .noStoredOffset(let policy): "\(partition) has no stored offset: starts at \(policy) offset \(offset)"
        case .belowLogStart(let stored, let skipped, let policy):
            "\(partition) stored offset \(stored) is below the log start: starts at \(policy) offset \(offset), "
                + "\(skipped) messages skipped"
        case .aboveLogEnd(let stored, let policy):
            "\(partition) stored offset \(stored) is above the log end: reset to \(policy) offset \(offset)"
        }
    }

    /// Decides the start of every partition from its stored offset and its watermarks, per DESIGN.md:
    /// stored and in range -> stored; none stored -> policy; below the log start -> policy, with the number of
    /// skipped messages; above the log end -> `offsetAboveLogEnd` unless `resetAboveLogEnd`. Policy `none`
    /// fails with `noStoredOffset` naming every partition it could not place.
    public static func resolve(
        partitions: [TopicPartition], stored: [TopicPartition: Int64], watermarks: [TopicPartition: Watermarks],
        policy: ResetPolicy, resetAboveLogEnd: Bool = false
    ) throws(OffsetError) -> [StartPosition] {
        var positions: [StartPosition] = []
        var unplaced: [String] = []
        var aboveEnd: [String] = []
        for partition in partitions.sorted() {
            let marks = watermarks[partition] ?? Watermarks(low: 0, high: 0)
            let byPolicy: Int64? =
                switch policy {
                case .earliest: marks.low
                case .latest: marks.high
                case .none: nil
                }
            guard let offset = stored[partition] else {
                if let byPolicy {
                    let reason = Reason.noStoredOffset(policy)
                    positions.append(StartPosition(partition: partition, offset: byPolicy, reason: reason))
                } else {
                    unplaced.append("\(partition) (no stored offset)")
                }
                continue
            }
            if offset < marks.low {
                if let byPolicy {
                    let reason = Reason.belowLogStart(stored: offset, skipped: marks.low - offset, policy: policy)
                    positions.append(StartPosition(partition: partition, offset: byPolicy, reason: reason))
                } else {
                    unplaced.append("\(partition) (stored \(offset) is below the log start \(marks.low))")
                }
            } else if offset > marks.high {
                if resetAboveLogEnd, let byPolicy {
                    let reason = Reason.aboveLogEnd(stored: offset, policy: policy)
                    positions.append(StartPosition(partition: partition, offset: byPolicy, reason: reason))
                } else {
                    aboveEnd.append("\(partition) (stored \(offset), log end \(marks.high))")
                }
            } else {
                positions.append(StartPosition(partition: partition, offset: offset, reason: .stored))
            }
        }
        if !aboveEnd.isEmpty {
            throw OffsetError(
                .offsetAboveLogEnd,
                "stored offsets above the log end (was the topic truncated or re-created?): "
                    + aboveEnd.joined(separator: ", ") + "; nothing was changed. Reset them with "
                    + "`zkoffsets reset`, or allow resetting them to the reset policy"
            )
        }
        if !unplaced.isEmpty {
            throw OffsetError(
                .noStoredOffset,
                "reset policy 'none' and no usable offset for: " + unplaced.joined(separator: ", ")
            )
        }
        return positions
    }
}
