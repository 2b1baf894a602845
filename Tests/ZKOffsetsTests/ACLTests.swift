import Foundation
import Testing
import ZKOffsets
import ZKOffsetsTool

@Suite("Offsets written with credentials: readable by everyone, writable by their owner", .serialized, .timeLimit(.minutes(1)))
struct OffsetACLTests {
    static func connect(_ authentication: [(scheme: String, credentials: String)] = []) async throws -> ZooKeeperClient {
        try await ZooKeeperClient.connect(
            ZooKeeperConfiguration(connectString: TestEnvironment.zooKeeper, authentication: authentication),
            logger: TestEnvironment.logger
        )
    }

    /// Runs kazoo (the Python client Burrow-era tooling and many scripts use) against the znode, unauthenticated:
    /// prints the data, then tries to overwrite it and prints the outcome.
    static func kazoo(_ path: String) async throws -> [String] {
        let program = """
            import sys
            from kazoo.client import KazooClient
            from kazoo.exceptions import NoAuthError
            zk = KazooClient(hosts=sys.argv[1]); zk.start(timeout=15)
            data, stat = zk.get(sys.argv[2]); print(data.decode())
            try:
                zk.set(sys.argv[2], b"0"); print("written")
            except NoAuthError:
                print("NoAuthError")
            zk.stop()
            """
        let result = try await Script.run("/usr/bin/python3", ["-c", program, TestEnvironment.zooKeeper, path])
        #expect(result.status == 0, "kazoo: \(result.standardError)")
        return result.standardOutput.split(separator: "\n").map(String.init)
    }

    @Test func kazooAndStrangersReadOffsetsButOnlyTheOwnerWrites() async throws {
        let owner = try await Self.connect([("digest", "kafka:secret")])
        let stranger = try await Self.connect()
        defer { Task { await owner.close(); await stranger.close() } }
        let group = TestEnvironment.freshGroup()
        let partition = TopicPartition(topic: "secured", partition: 0)
        let store = try ZooKeeperOffsetStore(client: owner, group: group)
        try await store.commit([partition: 42])
        let path = store.layout.offsetPath(partition)

        #expect(try await Self.kazoo(path) == ["42", "NoAuthError"])
        let strangerStore = try ZooKeeperOffsetStore(client: stranger, group: group)
        #expect(try await strangerStore.read([partition])[partition]?.offset == 42)
        let refused = await #expect(throws: OffsetError.self) { try await strangerStore.commit([partition: 7]) }
        #expect(refused?.code == .notAuthorized)
        #expect(refused?.path == path)
        #expect(refused?.message.contains(path) == true)
        // A new topic needs a create below the group's znodes: refused the same way.
        let other = TopicPartition(topic: "other", partition: 0)
        let create = await #expect(throws: OffsetError.self) { try await strangerStore.commit([other: 1]) }
        #expect(create?.code == .notAuthorized)
        #expect(try await owner.getData(path).bytes == Array("42".utf8), "the refused commits wrote nothing")
        try await store.commit([partition: 43])
        #expect(try await Self.kazoo(path).first == "43")
    }

    @Test func verifyReportsGroupsTheWorldMayWriteWhenAsked() async throws {
        let owner = try await Self.connect([("digest", "kafka:secret")])
        let plain = try await Self.connect()
        defer { Task { await owner.close(); await plain.close() } }
        let secured = TestEnvironment.freshGroup("secured")
        let open = TestEnvironment.freshGroup("open")
        let partition = TopicPartition(topic: "t", partition: 0)
        try await ZooKeeperOffsetStore(client: owner, group: secured).commit([partition: 1])
        try await ZooKeeperOffsetStore(client: plain, group: open).commit([partition: 1])
        let inventory = GroupInventory(client: owner)

        let openFindings = try await OffsetVerifier.verify(inventory: inventory, admin: nil, group: open, checkACLs: true)
        #expect(openFindings.map(\.kind) == [.worldWritable], "\(openFindings)")
        #expect(openFindings.first?.message.contains("/consumers/\(open)/offsets/t/0") == true)
        #expect(try await OffsetVerifier.verify(inventory: inventory, admin: nil, group: secured, checkACLs: true) == [])
        // Not asked: groups written without credentials are open by design.
        #expect(try await OffsetVerifier.verify(inventory: inventory, admin: nil, group: open) == [])
    }
}
