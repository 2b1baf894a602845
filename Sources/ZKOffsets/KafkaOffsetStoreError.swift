/// A read or commit of Kafka-stored group offsets that failed: names the group, the partitions and the
/// operation, and keeps librdkafka's error. Nothing is known to be stored when a commit fails.
public struct KafkaOffsetStoreError: Error, Sendable, CustomStringConvertible {
    /// Which request failed.
    public struct Operation: Hashable, Sendable, CustomStringConvertible {
        /// The request's name in messages: `read` or `commit`.
        public let name: String
        private init(_ name: String) { self.name = name }

        /// OffsetFetch: reading the group's committed offsets.
        public static let read = Operation("read")
        /// OffsetCommit: storing the group's offsets.
        public static let commit = Operation("commit")

        /// `read` or `commit`.
        public var description: String { name }
    }

    /// The request that failed.
    public var operation: Operation
    /// The group id whose offsets were read or committed.
    public var group: String
    /// The partitions of the request, sorted.
    public var partitions: [TopicPartition]
    /// What librdkafka or the brokers answered.
    public var underlying: KafkaError

    /// An error for `operation` on `group`'s offsets; the partitions are kept sorted, so the description is stable.
    public init(operation: Operation, group: String, partitions: [TopicPartition], underlying: KafkaError) {
        self.operation = operation
        self.group = group
        self.partitions = partitions.sorted()
        self.underlying = underlying
    }

    /// True when the same request may succeed later (timeouts, transport, coordinator moving).
    public var isRetryable: Bool { underlying.isRetryable }

    /// `Kafka offset <operation> for group '<g>' failed (<partitions>): <error>`; at most 10 partitions named.
    public var description: String {
        let shown = partitions.prefix(10).map(\.description).joined(separator: ", ")
        let more = partitions.count > 10 ? " and \(partitions.count - 10) more" : ""
        return "Kafka offset \(operation) for group '\(group)' failed (\(shown)\(more)): \(underlying)"
    }
}
