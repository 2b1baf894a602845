import Foundation
import Testing
import ZooKeeper

@Suite("Default ACLs: Kafka's zookeeper.set.acl convention", .serialized, .timeLimit(.minutes(1)))
struct ACLTests {
    /// The digest id ZooKeeper stores for `user:password`: `user:base64(sha1("user:password"))`.
    static func isDigest(_ acl: ACL, user: String) -> Bool {
        acl.scheme == "digest" && acl.id.hasPrefix(user + ":") && acl.permissions == .all
    }

    @Test func withCredentialsEveryCreateIsCreatorAllAndWorldRead() async throws {
        let owner = try await TestServer.connect(authentication: [("digest", "alice:secret")])
        let stranger = try await TestServer.connect()
        defer { Task { await owner.close(); await stranger.close() } }
        #expect(owner.defaultACL == .creatorAllWorldRead)
        #expect(stranger.defaultACL == .openUnsafe)
        let root = try await TestServer.freshRoot(stranger)

        // create, ensurePath (every level it creates), a transaction's create: none names an ACL.
        try await owner.create(root + "/created", data: [1])
        try await owner.ensurePath(root + "/a/b")
        try await owner.multi([.create(root + "/in-multi", data: [2])])
        let paths = [root + "/created", root + "/a", root + "/a/b", root + "/in-multi"]
        for (path, result) in zip(paths, await stranger.getACL(paths)) {
            let acl = try result.get().acl
            #expect(acl.count == 2, "\(path): \(acl)")
            #expect(acl.contains { Self.isDigest($0, user: "alice") }, "\(path): \(acl)")
            #expect(acl.contains(ACL(permissions: .read, scheme: "world", id: "anyone")), "\(path): \(acl)")
        }
        // Everyone still reads; nobody else writes, creates below or deletes, and the refusal names the znode.
        #expect(try await stranger.getData(root + "/created").bytes == [1])
        let write = await #expect(throws: ZooKeeperError.self) { try await stranger.setData(root + "/created", data: [9]) }
        #expect(write?.code == .noAuth)
        #expect(write?.path == root + "/created")
        #expect(write?.isRetryable == false)
        let create = await #expect(throws: ZooKeeperError.self) { try await stranger.create(root + "/a/b/c") }
        #expect(create?.code == .noAuth)
        let transaction = await #expect(throws: ZooKeeperError.self) {
            try await stranger.multi([.setData(root + "/in-multi", data: [9])])
        }
        #expect(transaction?.code == .noAuth)
        #expect(transaction?.path == root + "/in-multi")
        #expect(try await owner.getData(root + "/created").bytes == [1], "nothing was written")
    }

    @Test func anExplicitACLWinsAndAConfiguredDefaultIsUsed() async throws {
        let owner = try await TestServer.connect(authentication: [("digest", "alice:secret")])
        let configured = try await ZooKeeperClient.connect(
            ZooKeeperConfiguration(
                connectString: TestServer.connectString, authentication: [("digest", "bob:pw")], defaultACL: .creatorAll
            )
        )
        let plain = try await TestServer.connect()
        defer { Task { await owner.close(); await configured.close(); await plain.close() } }
        let root = try await TestServer.freshRoot(plain)
        try await owner.create(root + "/open", acl: .openUnsafe)
        try await configured.create(root + "/private")
        // Reading an ACL takes read or admin permission (ZooKeeper 3.5+): each asks about what it may read.
        #expect(try await owner.getACL([root + "/open"])[0].get().acl == .openUnsafe)
        let privateACL = try await configured.getACL([root + "/private"])[0].get().acl
        #expect(privateACL.count == 1 && Self.isDigest(privateACL[0], user: "bob"), "\(privateACL)")
        let refused = await #expect(throws: ZooKeeperError.self) { try await owner.getData(root + "/private") }
        #expect(refused?.code == .noAuth)
    }

    /// Kafka's convention keeps the shared `/consumers` open: a group with other credentials (or none) can still
    /// be created beside ours, while each group's own znodes are protected. (A chroot gives this test its own
    /// `/consumers`: the first authenticated client creates it.)
    @Test func theSharedConsumersRootStaysOpenWhileGroupsAreProtected() async throws {
        let setup = try await TestServer.connect()
        defer { Task { await setup.close() } }
        let root = try await TestServer.freshRoot(setup)
        let owner = try await ZooKeeperClient.connect(
            ZooKeeperConfiguration(connectString: TestServer.connectString + root, authentication: [("digest", "alice:secret")])
        )
        let stranger = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: TestServer.connectString + root))
        defer { Task { await owner.close(); await stranger.close() } }
        try await owner.ensurePath("/consumers/alices-group/offsets")
        #expect(try await stranger.getACL(["/consumers"])[0].get().acl == .openUnsafe)
        #expect(try await stranger.getACL(["/consumers/alices-group"])[0].get().acl.count == 2)
        try await stranger.ensurePath("/consumers/another-group/offsets")
        let refused = await #expect(throws: ZooKeeperError.self) { try await stranger.create("/consumers/alices-group/ids") }
        #expect(refused?.code == .noAuth)
    }
}
