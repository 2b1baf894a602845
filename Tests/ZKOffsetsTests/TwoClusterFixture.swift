import Foundation
import Logging
import Testing
import ZKOffsets
import ZKOffsetsTool

/// An old and a new mock cluster holding the same messages with the same timestamps at different offsets, plus
/// the ZooKeeper of `ZK_CONNECT` for the old cluster's group offsets.
///
/// Topic `orders`: in the old cluster message `i` (0..<40) of partition `p` is at offset `i`, value `p-i`, time
/// `base + 1000 p + 10 i`, except that messages 20, 21 and 22 of partition 1 share one time. The new cluster
/// holds `filler` older messages of 800 kB in front of the same 40, so message `i` is at offset `filler + i`;
/// the mock keeps about 5 MiB per partition, so the oldest filler is dropped and the new log starts above 0.
struct TwoClusterFixture {
    static let topic = "orders"
    static let base: Int64 = 1_700_000_000_000
    static let shared = 40
    static let filler = 7

    let old: MockKafkaCluster
    let new: MockKafkaCluster
    let oldAdmin: KafkaAdminClient
    let newAdmin: KafkaAdminClient
    let client: ZooKeeperClient
    let inventory: GroupInventory
    let group: String
    let logger: Logger

    static func time(_ partition: Int32, _ index: Int) -> Int64 {
        if partition == 1 && (20...22).contains(index) { return base + 1_000 + 200 }
        return base + 1_000 * Int64(partition) + 10 * Int64(index)
    }

    static func value(_ partition: Int32, _ index: Int) -> String { "\(partition)-\(index)" }

    static func start(oldPartitions: Int32 = 4, newPartitions: Int32 = 4) async throws -> TwoClusterFixture {
        var logger = Logger(label: "cluster-migration-tests")
        logger.logLevel = .warning
        let old = try MockKafkaCluster(logger: logger)
        let new = try MockKafkaCluster(logger: logger)
        try old.createTopic(topic, partitions: oldPartitions)
        try new.createTopic(topic, partitions: newPartitions)
        try await produce(to: old, partitions: oldPartitions, filler: 0, logger: logger)
        try await produce(to: new, partitions: newPartitions, filler: filler, logger: logger)
        let client = try await ZooKeeperClient.connect(
            ZooKeeperConfiguration(connectString: TestEnvironment.zooKeeper, connectTimeout: .seconds(15)),
            logger: logger)
        return TwoClusterFixture(
            old: old, new: new,
            oldAdmin: try KafkaAdminClient(configuration: configuration(old), logger: logger),
            newAdmin: try KafkaAdminClient(configuration: configuration(new), logger: logger),
            client: client, inventory: GroupInventory(client: client), group: TestEnvironment.freshGroup("carry"),
            logger: logger)
    }

    static func configuration(_ cluster: MockKafkaCluster) -> KafkaConfiguration {
        KafkaConfiguration(bootstrapServers: cluster.bootstrapServers)
    }

    private static func produce(
        to cluster: MockKafkaCluster, partitions: Int32, filler: Int, logger: Logger
    ) async throws {
        let producer = try KafkaProducer(configuration: configuration(cluster), logger: logger)
        let padding = [UInt8](repeating: 0x2e, count: 800_000)
        for partition in 0..<partitions {
            for index in 0..<filler {
                try producer.send(
                    topic: topic, partition: partition, value: padding, timestampMillis: base - 100_000 + Int64(index))
            }
            // Filler first, acknowledged, so that the shared messages follow it in the log.
            try await producer.flush()
            for index in 0..<shared {
                try producer.send(
                    topic: topic, partition: partition, value: Array(value(partition, index).utf8),
                    timestampMillis: time(partition, index))
            }
        }
        try await producer.flush()
        await producer.close()
    }

    func partition(_ number: Int32) -> TopicPartition { TopicPartition(topic: Self.topic, partition: number) }

    /// Stores the group's old-cluster offsets in ZooKeeper.
    func commitOld(_ offsets: [Int32: Int64]) async throws {
        try await client.ensurePath("/consumers/\(group)/offsets/\(Self.topic)")
        for (partition, offset) in offsets {
            try await client.create(
                "/consumers/\(group)/offsets/\(Self.topic)/\(partition)", data: Array(String(offset).utf8))
        }
    }

    func plan(_ target: ClusterMigrationTarget = .kafka) async throws -> ClusterMigrationPlan {
        try await ClusterMigration.plan(
            group: group, source: inventory, oldAdmin: oldAdmin, oldKafka: Self.configuration(old), newAdmin: newAdmin,
            newKafka: Self.configuration(new), target: target, logger: logger)
    }

    /// Every value of `partition` in the new cluster from `offset` to the log end, read by a plain consumer.
    func newValues(_ partition: Int32, from offset: Int64) async throws -> [String] {
        let end = try await newAdmin.watermarks(for: [self.partition(partition)])[self.partition(partition)]!.high
        guard offset < end else { return [] }
        let consumer = try KafkaPartitionConsumer(configuration: Self.configuration(new), logger: logger)
        try consumer.assign([self.partition(partition): offset])
        var values: [String] = []
        var last = offset - 1
        let deadline = ContinuousClock.now + .seconds(30)
        while last < end - 1, ContinuousClock.now < deadline {
            for message in try await consumer.nextBatch() {
                last = message.offset
                values.append(message.value.count > 1_000 ? "filler" : String(decoding: message.value, as: UTF8.self))
            }
        }
        await consumer.close()
        return values
    }

    func close() async {
        try? await client.deleteRecursive("/consumers/\(group)")
        await oldAdmin.close()
        await newAdmin.close()
        await old.close()
        await new.close()
        await client.close()
    }
}

func withTwoClusters(
    oldPartitions: Int32 = 4, newPartitions: Int32 = 4, _ body: (TwoClusterFixture) async throws -> Void
) async throws {
    let fixture = try await TwoClusterFixture.start(oldPartitions: oldPartitions, newPartitions: newPartitions)
    do {
        try await body(fixture)
    } catch {
        await fixture.close()
        throw error
    }
    await fixture.close()
}
