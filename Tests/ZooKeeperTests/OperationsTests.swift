import Testing
import ZooKeeper

@Suite("ZooKeeper operations against a real server", .serialized, .timeLimit(.minutes(1)))
struct OperationsTests {
    @Test func createGetSetDeleteRoundTrip() async throws {
        let client = try await TestServer.connect()
        defer { Task { await client.close() } }
        let root = try await TestServer.freshRoot(client)
        let path = root + "/node"

        let created = try await client.create(path, data: [UInt8](utf8: "42"))
        #expect(created == path)
        var node = try await client.getData(path)
        #expect(node.string == "42")
        #expect(node.stat.version == 0)
        #expect(node.stat.ephemeralOwner == 0)

        let stat = try await client.setData(path, data: [UInt8](utf8: "43"), version: 0)
        #expect(stat.version == 1)
        node = try await client.getData(path)
        #expect(node.bytes == [UInt8](utf8: "43"))

        #expect(try await client.exists(path)?.version == 1)
        try await client.delete(path, version: 1)
        #expect(try await client.exists(path) == nil)
    }

    @Test func dataIsBytesNotCStrings() async throws {
        let client = try await TestServer.connect()
        defer { Task { await client.close() } }
        let root = try await TestServer.freshRoot(client)
        let binary: [UInt8] = [0, 1, 0, 255, 10]
        try await client.create(root + "/binary", data: binary)
        #expect(try await client.getData(root + "/binary").bytes == binary)
        try await client.create(root + "/empty")
        let empty = try await client.getData(root + "/empty")
        #expect(empty.bytes.isEmpty)
        #expect(empty.stat.dataLength == 0)
    }

    @Test func errorCodesNameThePath() async throws {
        let client = try await TestServer.connect()
        defer { Task { await client.close() } }
        let root = try await TestServer.freshRoot(client)

        await #expect(throws: ZooKeeperError(code: .noNode, path: root + "/missing")) {
            try await client.getData(root + "/missing")
        }
        try await client.create(root + "/a", data: [1])
        let exists = await #expect(throws: ZooKeeperError.self) { try await client.create(root + "/a") }
        #expect(exists?.code == .nodeExists)
        #expect(exists?.path == root + "/a")
        #expect(exists?.isRetryable == false)

        let badVersion = await #expect(throws: ZooKeeperError.self) {
            try await client.setData(root + "/a", data: [2], version: 7)
        }
        #expect(badVersion?.code == .badVersion)
        #expect(try await client.getData(root + "/a").bytes == [1])

        let badDelete = await #expect(throws: ZooKeeperError.self) { try await client.delete(root + "/a", version: 3) }
        #expect(badDelete?.code == .badVersion)

        try await client.create(root + "/a/child")
        let notEmpty = await #expect(throws: ZooKeeperError.self) { try await client.delete(root + "/a") }
        #expect(notEmpty?.code == .notEmpty)

        let noParent = await #expect(throws: ZooKeeperError.self) { try await client.create(root + "/x/y") }
        #expect(noParent?.code == .noNode)

        try await client.create(root + "/eph", mode: .ephemeral)
        let ephemeralChild = await #expect(throws: ZooKeeperError.self) { try await client.create(root + "/eph/c") }
        #expect(ephemeralChild?.code == .noChildrenForEphemerals)

        let missingSet = await #expect(throws: ZooKeeperError.self) { try await client.setData(root + "/nope", data: []) }
        #expect(missingSet?.code == .noNode)
        let missingDelete = await #expect(throws: ZooKeeperError.self) { try await client.delete(root + "/nope") }
        #expect(missingDelete?.code == .noNode)
        let missingChildren = await #expect(throws: ZooKeeperError.self) { try await client.children(root + "/nope") }
        #expect(missingChildren?.code == .noNode)
    }

    @Test(arguments: ["relative", "/trailing/", "/a//b", "/a/../b", "/a/./b", "/tab\there", ""])
    func invalidPathsAreRejectedBeforeSending(path: String) async throws {
        let client = try await TestServer.connect()
        defer { Task { await client.close() } }
        let error = await #expect(throws: ZooKeeperError.self) { try await client.create(path) }
        #expect(error?.code == .invalidPath)
        #expect(error?.description.contains("'\(path)'") == true)
    }

    @Test func ephemeralAndSequentialModes() async throws {
        let client = try await TestServer.connect()
        let root = try await TestServer.freshRoot(client)
        let first = try await client.create(root + "/seq-", mode: .persistentSequential)
        let second = try await client.create(root + "/seq-", mode: .persistentSequential)
        #expect(first == root + "/seq-0000000000")
        #expect(second == root + "/seq-0000000001")
        try await client.create(root + "/owned", mode: .ephemeral)
        #expect(try await client.exists(root + "/owned")?.ephemeralOwner == client.sessionID)
        #expect(client.sessionID != 0)
        await client.close()

        let other = try await TestServer.connect()
        defer { Task { await other.close() } }
        #expect(try await other.exists(root + "/owned") == nil)
        #expect(try await other.children(root).names.sorted() == ["seq-0000000000", "seq-0000000001"])
    }

    @Test func ensurePathAndDeleteRecursive() async throws {
        let client = try await TestServer.connect()
        defer { Task { await client.close() } }
        let root = try await TestServer.freshRoot(client)
        try await client.ensurePath(root + "/a/b/c")
        try await client.ensurePath(root + "/a/b/c")  // idempotent
        try await client.setData(root + "/a", data: [7])
        try await client.ensurePath(root + "/a/b2")
        #expect(try await client.getData(root + "/a").bytes == [7], "existing znodes keep their data")
        for index in 0..<50 { try await client.create(root + "/a/b/c/n\(index)") }
        #expect(try await client.children(root + "/a/b/c").names.count == 50)

        try await client.deleteRecursive(root + "/a")
        #expect(try await client.exists(root + "/a") == nil)
        #expect(try await client.exists(root) != nil)
        try await client.deleteRecursive(root + "/a")  // missing is fine
    }

    @Test func pipelinedReadsReturnOneResultPerPathInOrder() async throws {
        let client = try await TestServer.connect()
        defer { Task { await client.close() } }
        let root = try await TestServer.freshRoot(client)
        for index in 0..<20 { try await client.create(root + "/\(index)", data: [UInt8](utf8: "\(index)")) }
        let paths = (0..<25).map { root + "/\($0)" }
        let results = await client.getData(paths)
        #expect(results.count == 25)
        for (index, result) in results.enumerated() {
            if index < 20 {
                #expect(try result.get().string == "\(index)")
            } else {
                #expect(throws: ZooKeeperError(code: .noNode, path: paths[index])) { try result.get() }
            }
        }
    }

    @Test func tenThousandPipelinedSetsFromOneTaskAllLand() async throws {
        let client = try await TestServer.connect()
        defer { Task { await client.close() } }
        let root = try await TestServer.freshRoot(client)
        let paths = (0..<100).map { root + "/p\($0)" }
        for path in paths { try await client.create(path, data: [UInt8](utf8: "0")) }

        // 100 sets to each of 100 znodes, interleaved: order of submission must be order of application.
        let writes = (1...100).flatMap { round in paths.map { (path: $0, data: [UInt8](utf8: "\(round)"), version: Int32(-1)) } }
        #expect(writes.count == 10_000)
        let results = await client.setData(writes)
        #expect(results.count == 10_000)
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        let versions = results.suffix(100).compactMap { try? $0.get().version }
        #expect(versions == Array(repeating: 100, count: 100))
        for result in await client.getData(paths) {
            #expect(try result.get().string == "100")
        }
    }
}
