import Foundation
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

    /// The server's list of this session's watched paths (`wchc`, whitelisted by scripts/zk-server), asked over
    /// bash's /dev/tcp like scripts/zk-server does.
    static func watchedPaths(session: Int64) async throws -> Set<String> {
        let hostPort = TestServer.connectString.split(separator: ",")[0].split(separator: "/")[0]
        let port = hostPort.split(separator: ":").last.map(String.init) ?? "2181"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "exec 3<>/dev/tcp/127.0.0.1/$0 && printf wchc >&3 && timeout 5 cat <&3", port]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        var paths: Set<String> = []
        var current = false
        let id = "0x" + String(UInt64(bitPattern: session), radix: 16)
        for line in output.split(separator: "\n") {
            if line.hasPrefix("0x") {
                current = line == id
            } else if current {
                paths.insert(line.trimmingCharacters(in: .whitespaces))
            }
        }
        return paths
    }

    /// Ended watches used to stay in the client and on the server until close.
    @Test func anEndedWatchIsRemovedFromTheServer() async throws {
        let client = try await TestServer.connect()
        defer { Task { await client.close() } }
        let root = try await TestServer.freshRoot(client)
        try await client.create(root + "/kept", data: [1])
        try await client.create(root + "/children")
        var paths: [String] = []
        for index in 0..<50 {
            try await client.create(root + "/n\(index)", data: [0])
            paths.append(root + "/n\(index)")
        }
        let missing = root + "/not-there-yet"
        // One stream stays; fifty data watches, a children watch and a watch on a missing znode end.
        var kept = client.watchData(root + "/kept").makeAsyncIterator()
        _ = try await kept.next()
        for path in paths + [missing] {
            var stream = client.watchData(path).makeAsyncIterator()
            _ = try await stream.next()
        }
        do {
            var children = client.watchChildren(root + "/children").makeAsyncIterator()
            _ = try await children.next()
        }
        let expected = Set([root + "/kept"])
        try await eventually("the server keeps only the live watch") {
            try await Self.watchedPaths(session: client.sessionID).filter { $0.hasPrefix(root) } == expected
        }
        // The live watch still works.
        try await client.setData(root + "/kept", data: [2])
        #expect(try await kept.next()??.bytes == [2])
    }

    /// Two streams on one znode: ending one keeps the other's watch (only its own watcher is removed).
    @Test func endingOneOfTwoWatchesOnAZnodeKeepsTheOther() async throws {
        let client = try await TestServer.connect()
        defer { Task { await client.close() } }
        let root = try await TestServer.freshRoot(client)
        let path = root + "/shared"
        try await client.create(path, data: [1])
        var staying = client.watchData(path).makeAsyncIterator()
        _ = try await staying.next()
        do {
            var leaving = client.watchData(path).makeAsyncIterator()
            _ = try await leaving.next()
        }
        try await client.setData(path, data: [2])
        #expect(try await staying.next()??.bytes == [2])
        try await client.setData(path, data: [3])
        #expect(try await staying.next()??.bytes == [3])
        #expect(try await Self.watchedPaths(session: client.sessionID).contains(path))
    }
}
