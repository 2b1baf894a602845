import Foundation
import Logging
import Testing
import ZKOffsets
import ZKOffsetsTool

/// ZooKeeper from `ZK_CONNECT` (loopback default) plus a fresh mock Kafka cluster with topics holding messages,
/// for the operator tests. Group names are unique per fixture, so tests sharing a server never see each other.
struct OperationsFixture {
    static let zooKeeperConnect = TestServer.connectString

    let client: ZooKeeperClient
    let inventory: GroupInventory
    let kafka: MockKafkaCluster
    let admin: KafkaAdminClient
    let suffix: String
    let logger: Logger

    /// `topics`: name, partitions, messages per partition (partition p gets `messages + 10 * p`).
    static func start(topics: [(String, Int32, Int)] = [("events", 4, 100), ("clicks", 2, 50)]) async throws
        -> OperationsFixture
    {
        var logger = Logger(label: "operations-tests")
        logger.logLevel = .warning
        let client = try await ZooKeeperClient.connect(
            ZooKeeperConfiguration(connectString: zooKeeperConnect, connectTimeout: .seconds(15)), logger: logger)
        let kafka = try MockKafkaCluster(logger: logger)
        let configuration = KafkaConfiguration(bootstrapServers: kafka.bootstrapServers)
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        for (topic, partitions, messages) in topics {
            try kafka.createTopic(topic, partitions: partitions)
            for partition in 0..<partitions {
                for index in 0..<(messages + 10 * Int(partition)) {
                    try producer.send(topic: topic, partition: partition, value: Array("m\(index)".utf8))
                }
            }
        }
        try await producer.flush()
        await producer.close()
        let admin = try KafkaAdminClient(configuration: configuration, logger: logger)
        return OperationsFixture(
            client: client, inventory: GroupInventory(client: client), kafka: kafka, admin: admin,
            suffix: String(UUID().uuidString.prefix(8)).lowercased(), logger: logger)
    }

    /// A group name unique to this fixture.
    func group(_ name: String = #function) -> String {
        "\(name.filter { $0.isLetter || $0.isNumber })-\(suffix)"
    }

    /// Writes raw bytes into an offset znode (creating parents).
    func put(_ group: String, _ topic: String, _ partition: Int32, _ bytes: [UInt8]) async throws {
        let path = "/consumers/\(group)/offsets/\(topic)/\(partition)"
        try await client.ensurePath("/consumers/\(group)/offsets/\(topic)")
        if try await client.exists(path) != nil {
            try await client.setData(path, data: bytes)
        } else {
            try await client.create(path, data: bytes)
        }
    }

    func put(_ group: String, _ topic: String, _ partition: Int32, _ offset: Int64) async throws {
        try await put(group, topic, partition, Array(String(offset).utf8))
    }

    /// The raw bytes of an offset znode, nil when absent.
    func bytes(_ group: String, _ topic: String, _ partition: Int32) async throws -> [UInt8]? {
        do {
            return try await client.getData("/consumers/\(group)/offsets/\(topic)/\(partition)").bytes
        } catch {
            if error.code == .noNode { return nil }
            throw error
        }
    }

    /// Every offset znode of the group with its version: to check that nothing was written.
    func snapshot(_ group: String) async throws -> [String: [UInt8]] {
        var result: [String: [UInt8]] = [:]
        for (partition, node) in try await inventory.offsets(group: group) {
            result["\(partition)@\(node.stat.version)"] = node.bytes
        }
        return result
    }

    /// A live member znode (ephemeral, as a Kafka 0.8 consumer registers).
    func addMember(_ group: String, _ id: String) async throws {
        try await client.ensurePath("/consumers/\(group)/ids")
        try await client.create("/consumers/\(group)/ids/\(id)", data: Array("{}".utf8), mode: .ephemeral)
    }

    func close() async {
        try? await client.deleteRecursive("/consumers/\(group("cleanup"))")
        await admin.close()
        await kafka.close()
        await client.close()
    }

    /// Deletes every group this fixture made.
    func removeGroups() async {
        guard let names = try? await client.children("/consumers").names else { return }
        for name in names where name.hasSuffix("-\(suffix)") {
            try? await client.deleteRecursive("/consumers/\(name)")
        }
    }
}

/// Runs `body` with a fresh fixture, always cleaning up.
func withOperationsFixture(
    topics: [(String, Int32, Int)] = [("events", 4, 100), ("clicks", 2, 50)],
    _ body: (OperationsFixture) async throws -> Void
) async throws {
    let fixture = try await OperationsFixture.start(topics: topics)
    do {
        try await body(fixture)
    } catch {
        await fixture.removeGroups()
        await fixture.close()
        throw error
    }
    await fixture.removeGroups()
    await fixture.close()
}
