import Logging

/// Reads the timestamps of single messages of one cluster: assigns a manual (groupless) consumer to the offset,
/// takes the first message at or after it, and remembers what it saw.
///
/// Meant for searches that fetch a few messages per partition (`TimestampSearch`): each fetch is one assign and
/// one fetch round trip; the consumer prefetches little. Nothing is committed or stored anywhere. Call `close()`.
public actor MessageTimestampReader {
    /// Properties that keep a single-message fetch cheap; the user's `-X` properties come after them.
    ///
    /// Small fetches, and a short broker wait. Not a small `queued.min.messages`: librdkafka 2.0.2 then stops
    /// fetching once one message is queued and looks again only on its one-second timer, which made every
    /// re-assigned fetch take about half a second (14.6 s instead of 2.6 s for the 4-partition test plan).
    public static let fetchProperties: [String: String] = [
        "max.partition.fetch.bytes": "65536",
        "fetch.wait.max.ms": "50",
    ]

    private let consumer: KafkaPartitionConsumer
    private let timeout: Duration
    private var seen: [TopicPartition: [Int64: TimelineSample]] = [:]
    /// Messages fetched so far (cache hits not counted).
    public private(set) var fetches = 0

    /// A reader of the cluster `configuration` points at; each fetch fails after `timeout`.
    public init(configuration: KafkaConfiguration, timeout: Duration = .seconds(10), logger: Logger) throws {
        var tuned = configuration
        tuned.properties = Self.fetchProperties.merging(configuration.properties) { _, user in user }
        consumer = try KafkaPartitionConsumer(configuration: tuned, logger: logger)
        self.timeout = timeout
    }

    /// The first message of `partition` at or after `offset` (an offset inside the log: below the log end and
    /// at or above its start, else the consumer fails with `.offsetOutOfRange`).
    ///
    /// Throws `MissingTimestamp` when the message carries no timestamp (message format before Kafka 0.10),
    /// `KafkaError(.timedOut)` naming the partition when nothing arrives within the timeout.
    public func sample(_ partition: TopicPartition, atOrAfter offset: Int64) async throws -> TimelineSample {
        if let known = seen[partition]?[offset] { return known }
        try consumer.assign([partition: offset])
        fetches += 1
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            // A message of an earlier assignment may still arrive: only the partition, at or after the offset.
            for message in try await consumer.nextBatch(maxMessages: 64, timeout: .milliseconds(200))
            where message.topicPartition == partition && message.offset >= offset {
                guard let millis = message.timestampMillis, millis >= 0 else {
                    throw MissingTimestamp(partition: partition, offset: message.offset)
                }
                let found = TimelineSample(offset: message.offset, millis: millis)
                seen[partition, default: [:]][offset] = found
                seen[partition, default: [:]][found.offset] = found
                return found
            }
        }
        throw KafkaError(
            code: .timedOut, message: "no message of \(partition) at or after offset \(offset) within \(timeout)",
            topic: partition.topic, partition: partition.partition)
    }

    /// Every message of `partition` fetched so far, in offset order.
    public func samples(of partition: TopicPartition) -> [TimelineSample] {
        (seen[partition] ?? [:]).values.reduce(into: [Int64: TimelineSample]()) { $0[$1.offset] = $1 }.values
            .sorted { $0.offset < $1.offset }
    }

    /// Releases the consumer.
    public func close() async {
        await consumer.close()
    }
}
