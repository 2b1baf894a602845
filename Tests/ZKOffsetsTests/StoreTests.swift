import Foundation
import Testing
import ZKOffsets
import ZKOffsetsTool

@Suite("Offset store in ZooKeeper", .serialized, .timeLimit(.minutes(1)))
struct StoreTests {
    @Test func commitWritesPlainDecimalsAndSkipsUnchanged() async throws {
        let client = try await TestEnvironment.connect()
        defer { Task { await client.close() } }
        let store = try ZooKeeperOffsetStore(client: client, group: TestEnvironment.freshGroup())
        let a = TopicPartition(topic: "orders", partition: 0)
        let b = TopicPartition(topic: "orders", partition: 1)

        var summary = try await store.commit([a: 5, b: 7])
        #expect(summary == CommitSummary(written: 2, unchanged: 0, transactions: 1))
        #expect(try await client.getData(store.layout.offsetPath(a)).bytes == Array("5".utf8))
        #expect(try await client.getData(store.layout.offsetPath(b)).bytes == Array("7".utf8))

        summary = try await store.commit([a: 5, b: 9])
        #expect(summary == CommitSummary(written: 1, unchanged: 1, transactions: 1))
        summary = try await store.commit([a: 5, b: 9])
        #expect(summary.transactions == 0)
        #expect(try await store.read([a, b]).mapValues(\.offset) == [a: 5, b: 9])
    }

    @Test func aThousandPartitionsCommitInOneTransaction() async throws {
        let client = try await TestEnvironment.connect()
        defer { Task { await client.close() } }
        let store = try ZooKeeperOffsetStore(client: client, group: TestEnvironment.freshGroup())
        let partitions = (0..<1000).map { TopicPartition(topic: "wide", partition: Int32($0)) }
        try await store.commit(Dictionary(uniqueKeysWithValues: partitions.map { ($0, Int64(1)) }))
        let summary = try await store.commit(Dictionary(uniqueKeysWithValues: partitions.map { ($0, Int64(1_000_000 + Int($0.partition))) }))
        #expect(summary == CommitSummary(written: 1000, unchanged: 0, transactions: 1))
        let nodes = await client.getData(partitions.map { store.layout.offsetPath($0) })
        let zxids = Set(nodes.compactMap { try? $0.get().stat.mzxid })
        #expect(zxids.count == 1, "one transaction: every offset znode has the same mzxid")
        #expect(nodes.count == 1000)
    }

    @Test func aCommitLargerThanOneTransactionIsSplitBelowTheLimit() async throws {
        let client = try await TestEnvironment.connect()
        defer { Task { await client.close() } }
        let store = try ZooKeeperOffsetStore(client: client, group: TestEnvironment.freshGroup(), maxTransactionBytes: 20_000)
        let partitions = (0..<1000).map { TopicPartition(topic: "wide", partition: Int32($0)) }
        let summary = try await store.commit(Dictionary(uniqueKeysWithValues: partitions.map { ($0, Int64(42)) }))
        #expect(summary.written == 1000)
        #expect(summary.transactions > 1)
        #expect(try await store.read(partitions).values.allSatisfy { $0.offset == 42 })
    }

    @Test func anOffsetMovedByAnotherWriterIsNeverOverwritten() async throws {
        let client = try await TestEnvironment.connect()
        defer { Task { await client.close() } }
        let group = TestEnvironment.freshGroup()
        let store = try ZooKeeperOffsetStore(client: client, group: group)
        let a = TopicPartition(topic: "t", partition: 0)
        let b = TopicPartition(topic: "t", partition: 1)
        try await store.commit([a: 10, b: 10])
        try await client.setData(store.layout.offsetPath(a), data: Array("3".utf8))  // an operator's reset

        let error = await #expect(throws: OffsetError.self) { try await store.commit([a: 11, b: 11]) }
        #expect(error?.code == .concurrentModification)
        #expect(error?.path == store.layout.offsetPath(a))
        #expect(try await client.getData(store.layout.offsetPath(a)).string == "3")
        #expect(try await client.getData(store.layout.offsetPath(b)).string == "10", "nothing of the commit applied")
    }

    @Test(arguments: [
        ("abc", false), ("-1", false), ("", false), ("12345678901234567890", false), ("5\n", true), (" 17 ", true),
        ("+5", false), ("1.5", false), ("\u{ac}\u{ed}\u{0}\u{5}sr", false),
    ])
    func malformedDataIsReportedAndLeftAsItIs(data: String, accepted: Bool) async throws {
        let client = try await TestEnvironment.connect()
        defer { Task { await client.close() } }
        let store = try ZooKeeperOffsetStore(client: client, group: TestEnvironment.freshGroup())
        let partition = TopicPartition(topic: "t", partition: 0)
        let path = store.layout.offsetPath(partition)
        try await client.ensurePath(store.layout.offsetsPath(topic: "t"))
        try await client.create(path, data: Array(data.utf8))

        if accepted {
            let value = try await store.read([partition])[partition]?.offset
            #expect(value == Int64(data.trimmingCharacters(in: .whitespacesAndNewlines)))
            return
        }
        let error = await #expect(throws: OffsetError.self) { try await store.read([partition]) }
        #expect(error?.code == .malformedOffset)
        #expect(error?.path == path)
        #expect(error?.message.contains(path) == true)
        let after = try await client.getData(path)
        #expect(after.bytes == Array(data.utf8))
        #expect(after.stat.version == 0)
    }

    @Test(arguments: ["", "a/b", "..", ".", "bad\u{1}group"])
    func badGroupNamesAreRejectedBeforeAnyZnode(group: String) async throws {
        #expect(throws: OffsetError.self) { try OffsetLayout(group: group) }
    }

    @Test(arguments: ["", "a/b", "..", ".", "sp ace", "ü", String(repeating: "x", count: 250)])
    func badTopicNamesAreRejected(topic: String) async throws {
        let error = #expect(throws: OffsetError.self) { try OffsetLayout.validateTopic(topic) }
        #expect(error?.code == .invalidTopic)
    }

    @Test func zkCliShowsThePlainDecimal() async throws {
        let zkCli = "/usr/share/zookeeper/bin/zkCli.sh"
        try #require(FileManager.default.isExecutableFile(atPath: zkCli), "zkCli.sh is installed by scripts/bootstrap")
        let client = try await TestEnvironment.connect()
        defer { Task { await client.close() } }
        let store = try ZooKeeperOffsetStore(client: client, group: TestEnvironment.freshGroup())
        let partition = TopicPartition(topic: "t", partition: 3)
        try await store.commit([partition: 1234567])

        let process = Process()
        process.executableURL = URL(fileURLWithPath: zkCli)
        process.arguments = ["-server", TestEnvironment.zooKeeper, "get", store.layout.offsetPath(partition)]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(output.split(separator: "\n").contains("1234567"), "zkCli.sh output: \(output)")
    }
}
