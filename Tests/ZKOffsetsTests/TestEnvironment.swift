import Foundation
import Logging
import Testing
import ZKOffsets
import ZKOffsetsTool

/// The real ZooKeeper the tests use (`TestServer`, `ZK_CONNECT`) and helpers around a mock Kafka cluster.
enum TestEnvironment {
    static let zooKeeper = TestServer.connectString
    static let logger: Logger = {
        var logger = Logger(label: "zkoffsets-tests")
        logger.logLevel = .warning
        return logger
    }()

    static func connect() async throws -> ZooKeeperClient {
        try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: zooKeeper), logger: logger)
    }

    /// A group name no other test uses.
    static func freshGroup(_ name: String = #function) -> String {
        "test-" + name.filter { $0.isLetter || $0.isNumber }.prefix(40) + "-" + UUID().uuidString.prefix(8)
    }

    static func configuration(
        group: String, topics: [String], cluster: MockKafkaCluster, policy: ResetPolicy = .earliest,
        commitInterval: Duration? = .seconds(1)
    ) -> ConsumerConfiguration {
        ConsumerConfiguration(
            group: group, topics: topics, zookeeper: ZooKeeperConfiguration(connectString: zooKeeper),
            kafka: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), resetPolicy: policy,
            commitInterval: commitInterval, pollTimeout: .milliseconds(50), kafkaTimeout: .seconds(10)
        )
    }

    /// Produces `values` round-robin over `partitions` of `topic` and waits until all are delivered.
    static func produce(
        _ values: [String], topic: String, partitions: Int32, cluster: MockKafkaCluster, partition: Int32? = nil
    ) async throws {
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger
        )
        for (index, value) in values.enumerated() {
            try producer.send(
                topic: topic, partition: partition ?? Int32(index % Int(partitions)), value: Array(value.utf8)
            )
        }
        try await producer.flush()
        await producer.close()
    }

    /// Consumes until `count` messages arrived or `timeout` passed; marks and commits each batch.
    static func consume(
        _ consumer: OffsetConsumer, count: Int, timeout: Duration = .seconds(30)
    ) async throws -> [KafkaMessage] {
        var messages: [KafkaMessage] = []
        let deadline = ContinuousClock.now + timeout
        while messages.count < count, ContinuousClock.now < deadline {
            guard let batch = try await consumer.nextBatch() else { break }
            messages += batch
            consumer.markProcessed(batch)
            try await consumer.commit()
        }
        return messages
    }

    /// The built executable `name` (scripts/test builds everything before testing), or nil.
    static func executable(_ name: String) -> URL? {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) { break }
            directory.deleteLastPathComponent()
        }
        let bundle = Bundle.main.bundleURL.deletingLastPathComponent()
        for candidate in [bundle.appendingPathComponent(name), directory.appendingPathComponent(".build/debug/\(name)")]
        where FileManager.default.isExecutableFile(atPath: candidate.path) {
            return candidate
        }
        return nil
    }
}

extension KafkaMessage {
    var text: String { String(decoding: value, as: UTF8.self) }
}
