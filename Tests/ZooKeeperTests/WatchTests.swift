import Testing
import ZooKeeper

@Suite("ZooKeeper watches", .serialized, .timeLimit(.minutes(1)))
struct WatchTests {
    @Test func dataWatchFiresOnChangeAndDeleteAndReArms() async throws {
        let client = try await TestServer.connect()
        let writer = try await TestServer.connect()
        defer { Task { await client.close(); await writer.close() } }
        let root = try await TestServer.freshRoot(client)
        let path = root + "/watched"
        try await client.create(path, data: [UInt8](utf8: "v0"))

        var events = client.watchData(path).makeAsyncIterator()
        #expect(try await events.next()??.string == "v0")
        try await writer.setData(path, data: [UInt8](utf8: "v1"))
        #expect(try await events.next()??.string == "v1")
        try await writer.setData(path, data: [UInt8](utf8: "v2"))  // the watch re-armed
        #expect(try await events.next()??.string == "v2")
        try await writer.delete(path)
        let deleted = try await events.next()
        #expect(deleted != nil && deleted! == nil, "deletion yields nil")
        try await writer.create(path, data: [UInt8](utf8: "again"))
        #expect(try await events.next()??.string == "again")
    }

    @Test func childrenWatchFiresOnEachChange() async throws {
        let client = try await TestServer.connect()
        let writer = try await TestServer.connect()
        defer { Task { await client.close(); await writer.close() } }
        let root = try await TestServer.freshRoot(client)

        var events = client.watchChildren(root).makeAsyncIterator()
        #expect(try await events.next() == [])
        try await writer.create(root + "/b")
        #expect(try await events.next() == ["b"])
        try await writer.create(root + "/a")
        #expect(try await events.next() == ["a", "b"])
        try await writer.delete(root + "/b")
        #expect(try await events.next() == ["a"])
    }

    @Test func childrenWatchOfAMissingZnodeEndsWithNoNode() async throws {
        let client = try await TestServer.connect()
        defer { Task { await client.close() } }
        let root = try await TestServer.freshRoot(client)
        var events = client.watchChildren(root + "/missing").makeAsyncIterator()
        await #expect(throws: ZooKeeperError(code: .noNode, path: root + "/missing")) { _ = try await events.next() }
    }

    @Test func watchesEndWithClosingWhenTheClientCloses() async throws {
        let client = try await TestServer.connect()
        let root = try await TestServer.freshRoot(client)
        var events = client.watchData(root).makeAsyncIterator()
        _ = try await events.next()
        await client.close()
        let error = await #expect(throws: ZooKeeperError.self) { _ = try await events.next() }
        #expect(error?.code == .closing)
    }
}
