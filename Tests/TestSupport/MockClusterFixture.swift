import Logging
import RdKafka

/// A mock cluster with one topic, holding `perPartition` messages in each partition.
///
/// Message `i` of partition `p` has key `"k<p>-<i>"`, value `"v<p>-<i>"` and timestamp `1_000 + i`, so a reader
/// can check every byte and every offset.
public struct MockClusterFixture: Sendable {
    /// The cluster.
    public let cluster: MockKafkaCluster
    /// Its one topic.
    public let topic: String
    /// The topic's partition count.
    public let partitions: Int32
    /// Messages produced into each partition at the start.
    public let perPartition: Int
    /// The logger the cluster and its clients use.
    public let logger: Logger

    /// A cluster with `topic` of `partitions` partitions, each holding `perPartition` messages.
    public static func start(topic: String = "events", partitions: Int32 = 3, perPartition: Int = 100) async throws
        -> MockClusterFixture
    {
        let logger = testLogger()
        let cluster = try MockKafkaCluster(logger: logger)
        try cluster.createTopic(topic, partitions: partitions)
        let fixture = MockClusterFixture(
            cluster: cluster, topic: topic, partitions: partitions, perPartition: perPartition, logger: logger)
        if perPartition > 0 {
            try await fixture.produce(range: 0..<perPartition)
        }
        return fixture
    }

    public var configuration: KafkaConfiguration { KafkaConfiguration(bootstrapServers: cluster.bootstrapServers) }

    public var allPartitions: [TopicPartition] {
        (0..<partitions).map { TopicPartition(topic: topic, partition: $0) }
    }

    public func partition(_ number: Int32) -> TopicPartition { TopicPartition(topic: topic, partition: number) }

    public func produce(range: Range<Int>, partitionsTo: [Int32]? = nil) async throws {
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        for partition in partitionsTo ?? Array(0..<partitions) {
            for index in range {
                try producer.send(
                    topic: topic, partition: partition, key: Self.key(partition, index),
                    value: Self.value(partition, index))
            }
        }
        try await producer.flush()
        await producer.close()
    }

    public func close() async { await cluster.close() }

    public static func key(_ partition: Int32, _ index: Int) -> [UInt8] { Array("k\(partition)-\(index)".utf8) }
    public static func value(_ partition: Int32, _ index: Int) -> [UInt8] { Array("v\(partition)-\(index)".utf8) }
}

/// A logger that shows warnings and errors only.
public func testLogger() -> Logger {
    var logger = Logger(label: "rdkafka-tests")
    logger.logLevel = .warning
    return logger
}

/// Reads batches until `done` holds for everything read so far, or fails after `limit`.
public func consume(
    _ consumer: KafkaPartitionConsumer, limit: Duration = .seconds(30),
    until done: ([KafkaMessage]) -> Bool
) async throws -> [KafkaMessage] {
    let deadline = ContinuousClock.now + limit
    var messages: [KafkaMessage] = []
    while !done(messages) {
        guard ContinuousClock.now < deadline else {
            throw TestFailure("condition not met after \(limit); read \(messages.count) messages")
        }
        messages += try await consumer.nextBatch(maxMessages: 1_000, timeout: .milliseconds(200))
    }
    return messages
}

/// Reads batches until one throws, or fails after `limit`; returns the error.
public func firstError(_ consumer: KafkaPartitionConsumer, limit: Duration = .seconds(30)) async throws -> any Error {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        do {
            _ = try await consumer.nextBatch(timeout: .milliseconds(200))
        } catch {
            return error
        }
    }
    throw TestFailure("no error within \(limit)")
}

/// A test's own failure, with what went wrong.
public struct TestFailure: Error, CustomStringConvertible {
    /// What went wrong.
    public let description: String
    /// A failure saying `description`.
    public init(_ description: String) { self.description = description }
}

extension Array where Element == KafkaMessage {
    /// The offsets of the messages of `partition`, in order.
    public func offsets(of partition: Int32) -> [Int64] { filter { $0.partition == partition }.map(\.offset) }
}
