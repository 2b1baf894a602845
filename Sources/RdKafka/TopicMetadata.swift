/// What the cluster reports about one topic.
public struct TopicMetadata: Sendable, Equatable {
    /// The topic name.
    public var name: String
    /// The partition numbers of the topic, sorted ascending.
    public var partitions: [Int32]

    /// Creates topic metadata; `partitions` is kept in the order given.
    public init(name: String, partitions: [Int32]) {
        self.name = name
        self.partitions = partitions
    }

    /// Every partition of the topic as a `TopicPartition`, in ascending partition order.
    public var topicPartitions: [TopicPartition] {
        partitions.map { TopicPartition(topic: name, partition: $0) }
    }
}
