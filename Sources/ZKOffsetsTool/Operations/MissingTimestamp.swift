import ZKOffsets

/// A message without a timestamp (Kafka's message format before 0.10): it cannot be placed in time.
public struct MissingTimestamp: Error, Sendable, Equatable, CustomStringConvertible {
    /// The partition of the message.
    public var partition: TopicPartition
    /// The message's offset.
    public var offset: Int64

    /// The message at `offset` of `partition`.
    public init(partition: TopicPartition, offset: Int64) {
        self.partition = partition
        self.offset = offset
    }

    /// Names the message and its partition, and why it has no time.
    public var description: String {
        "message \(offset) of \(partition) has no timestamp (message format before Kafka 0.10)"
    }
}
