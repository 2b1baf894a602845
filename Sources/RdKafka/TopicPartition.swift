/// One partition of one topic: the unit of assignment, offsets and watermarks.
///
/// Ordered by topic name, then partition number, so sorted output is stable and readable.
public struct TopicPartition: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The topic name.
    public var topic: String
    /// The partition number within the topic, starting at 0.
    public var partition: Int32

    /// Creates a topic-partition pair; no validation happens here, the broker judges existence.
    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    /// Orders by topic name first, then by partition number.
    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }

    /// `topic-partition`, the form Kafka's own tools print.
    public var description: String { "\(topic)-\(partition)" }
}
