/// A change of a member's partitions: what it gave up and what it took, after a rebalance.
public struct AssignmentChange: Sendable, Hashable, CustomStringConvertible {
    /// Partitions now consumed by this member (their start positions are in `OffsetConsumer.startPositions`).
    public var assigned: [TopicPartition]
    /// Partitions given up: their processed offsets were committed with the release of their owner znodes,
    /// and no message of them is handed out any more.
    public var revoked: [TopicPartition]
    /// Every partition of the member after the change.
    public var assignment: [TopicPartition]

    /// A change as `OffsetConsumer.assignmentChanges` reports it; the three lists are not checked against each other.
    public init(assigned: [TopicPartition], revoked: [TopicPartition], assignment: [TopicPartition]) {
        self.assigned = assigned
        self.revoked = revoked
        self.assignment = assignment
    }

    /// `assigned [...], revoked [...], now N partition(s)`, for logs.
    public var description: String {
        "assigned [\(assigned.map(\.description).joined(separator: ", "))], "
            + "revoked [\(revoked.map(\.description).joined(separator: ", "))], now \(assignment.count) partition(s)"
    }
}
