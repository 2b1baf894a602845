/// One message read from a partition; its bytes are owned by Swift (copied out of librdkafka, one buffer per
/// batch: see `MessageBytes`).
public struct KafkaMessage: Sendable, Equatable {
    /// The topic the message was read from.
    public var topic: String
    /// The partition the message was read from.
    public var partition: Int32
    /// The message's offset; the next offset to consume after processing it is `offset + 1`.
    public var offset: Int64
    /// The key, or `nil` when the message has none.
    public var key: MessageBytes?
    /// The value; empty for a message with a null value (a tombstone).
    public var value: MessageBytes
    /// The message timestamp in milliseconds since 1970 (create or log-append time), when the broker sent one.
    public var timestampMillis: Int64?

    /// Creates a message value; used by tests and by code that fakes a stream.
    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]? = nil, value: [UInt8],
        timestampMillis: Int64? = nil
    ) {
        self.init(
            topic: topic, partition: partition, offset: offset, key: key.map(MessageBytes.init),
            value: MessageBytes(value), timestampMillis: timestampMillis)
    }

    /// Creates a message from bytes already in `MessageBytes`.
    public init(
        topic: String, partition: Int32, offset: Int64, key: MessageBytes?, value: MessageBytes,
        timestampMillis: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.timestampMillis = timestampMillis
    }

    /// The partition this message came from.
    public var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }
}
