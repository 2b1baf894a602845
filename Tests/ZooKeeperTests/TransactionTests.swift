import Testing
import ZooKeeper

@Suite("ZooKeeper transactions", .serialized, .timeLimit(.minutes(1)))
struct TransactionTests {
    @Test func allOperationsApplyTogetherWithTheirResults() async throws {
        let client = try await TestServer.connect()
        defer { Task { await client.close() } }
        let root = try await TestServer.freshRoot(client)
        try await client.create(root + "/existing", data: [1])
        try await client.create(root + "/doomed")

        let results = try await client.multi([
            .create(root + "/new", data: [9]),
            .create(root + "/seq-", mode: .persistentSequential),
            .check(root + "/existing", version: 0),
            .setData(root + "/existing", data: [2], version: 0),
            .delete(root + "/doomed"),
        ])
        #expect(results.count == 5)
        #expect(results[0] == .created(path: root + "/new"))
        // The sequence number is the parent's child-change count: two creates before, one in this transaction.
        #expect(results[1] == .created(path: root + "/seq-0000000003"))
        #expect(results[2] == .checked)
        guard case .setData(let stat) = results[3] else {
            Issue.record("expected a setData result, got \(results[3])")
            return
        }
        #expect(stat.version == 1)
        #expect(results[4] == .deleted)
        #expect(try await client.getData(root + "/new").bytes == [9])
        #expect(try await client.exists(root + "/doomed") == nil)
        // One transaction: one zxid for every write in it.
        #expect(try await client.getData(root + "/new").stat.czxid == stat.mzxid)
    }

    @Test func aTransactionWhoseLastOperationFailsChangesNothing() async throws {
        let client = try await TestServer.connect()
        defer { Task { await client.close() } }
        let root = try await TestServer.freshRoot(client)
        try await client.create(root + "/a", data: [1])
        try await client.create(root + "/b", data: [1])

        let error = await #expect(throws: ZooKeeperError.self) {
            try await client.multi([
                .setData(root + "/a", data: [2]),
                .create(root + "/c"),
                .delete(root + "/b"),
                .setData(root + "/a", data: [3], version: 0),  // version is 1 after the first op: fails
            ])
        }
        #expect(error?.code == .badVersion)
        #expect(error?.failedOperationIndex == 3)
        #expect(error?.path == root + "/a")
        #expect(error?.description.contains("operation 3") == true)
        #expect(try await client.getData(root + "/a").bytes == [1])
        #expect(try await client.getData(root + "/a").stat.version == 0)
        #expect(try await client.exists(root + "/c") == nil)
        #expect(try await client.exists(root + "/b") != nil)
    }

    @Test func aFailedCheckFailsTheTransaction() async throws {
        let client = try await TestServer.connect()
        defer { Task { await client.close() } }
        let root = try await TestServer.freshRoot(client)
        try await client.create(root + "/offset", data: [UInt8](utf8: "5"))
        let error = await #expect(throws: ZooKeeperError.self) {
            try await client.multi([.check(root + "/owner"), .setData(root + "/offset", data: [UInt8](utf8: "6"))])
        }
        #expect(error?.code == .noNode)
        #expect(error?.failedOperationIndex == 0)
        #expect(try await client.getData(root + "/offset").string == "5")
    }

    @Test func aThousandSetsInOneTransactionShareOneZxid() async throws {
        let client = try await TestServer.connect()
        defer { Task { await client.close() } }
        let root = try await TestServer.freshRoot(client)
        let paths = (0..<1000).map { root + "/\($0)" }
        try await client.multi(paths.map { .create($0, data: [UInt8](utf8: "0")) })
        let results = try await client.multi(paths.map { .setData($0, data: [UInt8](utf8: "123456"), version: 0) })
        let zxids = Set(results.compactMap { result -> Int64? in
            if case .setData(let stat) = result { return stat.mzxid }
            return nil
        })
        #expect(zxids.count == 1)
        let read = await client.getData(paths)
        #expect(Set(read.compactMap { try? $0.get().stat.mzxid }) == zxids)
        #expect(read.allSatisfy { (try? $0.get().string) == "123456" })
    }

    @Test func anEmptyTransactionIsANoOp() async throws {
        let client = try await TestServer.connect()
        defer { Task { await client.close() } }
        #expect(try await client.multi([]).isEmpty)
    }
}
