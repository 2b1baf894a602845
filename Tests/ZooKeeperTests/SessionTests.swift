import Foundation
import Logging
import Testing
import ZooKeeper

@Suite("ZooKeeper sessions, authentication and close", .serialized, .timeLimit(.minutes(1)))
struct SessionTests {
    @Test func connectReportsTheSessionAndItsStates() async throws {
        let client = try await TestServer.connect(sessionTimeout: .seconds(6))
        defer { Task { await client.close() } }
        #expect(client.state == .connected)
        #expect(client.sessionID != 0)
        #expect(client.session?.password.count == 16)
        #expect(client.negotiatedSessionTimeout >= .seconds(4))
        #expect(client.negotiatedSessionTimeout <= .seconds(40))
        var states = client.connectionStates().makeAsyncIterator()
        #expect(await states.next() == .connected)
    }

    @Test func anExpiredSessionFailsCallsAndEndsWatchesAndANewClientTakesOver() async throws {
        let client = try await TestServer.connect(sessionTimeout: .seconds(6))
        let root = try await TestServer.freshRoot(client)
        try await client.create(root + "/ephemeral", mode: .ephemeral)
        let session = try #require(client.session)
        let recorder = StateRecorder(client.connectionStates())
        var watch = client.watchData(root).makeAsyncIterator()
        _ = try await watch.next()

        // Expire the session for real: a second handle joins it with the same id and password, then closing
        // that handle closes the session on the server. If the first client wins the session back before the
        // close arrives, the server ignores that close (the session moved): then take it over again.
        let deadline = ContinuousClock.now + .seconds(40)
        while client.state != .expired, ContinuousClock.now < deadline {
            if let intruder = try? await TestServer.connect(session: session) {
                #expect(intruder.sessionID == session.id)
                await intruder.close()
            }
            let attempt = ContinuousClock.now + .seconds(3)
            while client.state != .expired, ContinuousClock.now < attempt { try await Task.sleep(for: .milliseconds(20)) }
        }
        let seen = await recorder.states()
        #expect(seen.first == .connected)
        #expect(seen.last == .expired, "states seen: \(seen)")
        #expect(client.state == .expired)

        let watchError = await #expect(throws: ZooKeeperError.self) { _ = try await watch.next() }
        #expect(watchError?.code == .sessionExpired)
        let later = await #expect(throws: ZooKeeperError.self) { try await client.getData(root) }
        #expect(later?.code == .sessionExpired)
        #expect(later?.isRetryable == false)
        // The C client answers a multi on an expired handle with a marshalling error; it must still say expired.
        let transaction = await #expect(throws: ZooKeeperError.self) { try await client.multi([.check(root)]) }
        #expect(transaction?.code == .sessionExpired)

        let successor = try await TestServer.connect()
        defer { Task { await successor.close(); await client.close() } }
        #expect(successor.sessionID != session.id)
        #expect(try await successor.exists(root + "/ephemeral") == nil, "the expired session's ephemeral is gone")
        try await successor.create(root + "/ephemeral", mode: .ephemeral)
        #expect(try await successor.exists(root + "/ephemeral")?.ephemeralOwner == successor.sessionID)
    }

    @Test func creatorAllWithWorldReadRefusesOtherWritersAndAllowsReads() async throws {
        let owner = try await TestServer.connect(authentication: [("digest", "alice:secret")])
        let stranger = try await TestServer.connect()
        let intruder = try await TestServer.connect(authentication: [("digest", "mallory:guess")])
        defer { Task { await owner.close(); await stranger.close(); await intruder.close() } }
        let root = try await TestServer.freshRoot(owner)
        let path = root + "/protected"
        try await owner.create(path, data: [UInt8](utf8: "7"), acl: .creatorAllWorldRead)

        #expect(try await stranger.getData(path).string == "7")
        let refused = await #expect(throws: ZooKeeperError.self) { try await stranger.setData(path, data: [8]) }
        #expect(refused?.code == .noAuth)
        #expect(refused?.path == path)
        let alsoRefused = await #expect(throws: ZooKeeperError.self) { try await intruder.setData(path, data: [0]) }
        #expect(alsoRefused?.code == .noAuth)

        try await owner.setData(path, data: [UInt8](utf8: "8"))
        #expect(try await stranger.getData(path).string == "8")

        try await stranger.addAuth(scheme: "digest", credentials: "alice:secret")
        try await stranger.setData(path, data: [UInt8](utf8: "9"))
        #expect(try await owner.getData(path).string == "9")
    }

    @Test func closeCompletesEveryRequestInFlight() async throws {
        let setup = try await TestServer.connect()
        let root = try await TestServer.freshRoot(setup)
        try await setup.create(root + "/n", data: [1])
        await setup.close()

        let client = try await TestServer.connect()
        let reads = Task { await client.getData(Array(repeating: root + "/n", count: 10_000)) }
        // Close while the batch is being submitted and answered.
        try await eventually("some reads are in flight") { client.state == .connected }
        await client.close()
        let results = await reads.value
        #expect(results.count == 10_000)
        var succeeded = 0
        var closing = 0
        for result in results {
            switch result {
            case .success: succeeded += 1
            case .failure(let error) where error.code == .closing || error.code == .connectionLoss: closing += 1
            case .failure(let error): Issue.record("unexpected \(error)")
            }
        }
        #expect(succeeded + closing == 10_000)
        #expect(client.state == .closed)
        let after = await #expect(throws: ZooKeeperError.self) { try await client.getData(root) }
        #expect(after?.code == .closing)
    }

    @Test func aServerThatIsDownFailsTheConnectByItsDeadline() async throws {
        let started = ContinuousClock.now
        let error = await #expect(throws: ZooKeeperError.self) {
            try await ZooKeeperClient.connect(
                ZooKeeperConfiguration(connectString: "127.0.0.1:1", connectTimeout: .seconds(2)),
                logger: Logger(label: "test")
            )
        }
        #expect(error?.code == .connectTimeout)
        #expect(error?.description.contains("127.0.0.1:1") == true)
        // Not a timing assertion on speed: the deadline must be honoured at all (the test would hang otherwise).
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    @Test func anUnresolvableHostFailsTheConnectByItsDeadlineAsATimeout() async throws {
        let error = await #expect(throws: ZooKeeperError.self) {
            try await ZooKeeperClient.connect(
                ZooKeeperConfiguration(connectString: "zk-does-not-exist.invalid:2181", connectTimeout: .seconds(2)),
                logger: Logger(label: "test")
            )
        }
        #expect(error?.code == .connectTimeout, "\(String(describing: error))")
        #expect(error?.description.contains("zk-does-not-exist.invalid:2181") == true)
    }

    @Test func oneUnresolvableHostAmongGoodOnesStillConnects() async throws {
        let client = try await ZooKeeperClient.connect(
            ZooKeeperConfiguration(
                connectString: "zk-does-not-exist.invalid:2181," + TestServer.connectString, connectTimeout: .seconds(15)
            ),
            logger: Logger(label: "test")
        )
        defer { Task { await client.close() } }
        #expect(client.state == .connected)
    }

    @Test(arguments: ["", "host:notaport", "host:70000", ",127.0.0.1:2181", "127.0.0.1:2181/chroot/", "[::1"])
    func malformedConnectStringsAreRejected(connectString: String) async throws {
        let error = await #expect(throws: ZooKeeperError.self) {
            try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: connectString))
        }
        #expect(error?.code == .invalidConnectString)
    }

    @Test func connectStringsParse() throws {
        let parsed = try ConnectString("zk1:2181, zk2:2182,[::1]:2183/kafka/prod")
        #expect(parsed.servers.map(\.host) == ["zk1", "zk2", "::1"])
        #expect(parsed.servers.map(\.port) == [2181, 2182, 2183])
        #expect(parsed.chroot == "/kafka/prod")
        #expect(parsed.description == "zk1:2181,zk2:2182,[::1]:2183/kafka/prod")
        #expect(try ConnectString("localhost").servers.first?.port == 2181)
        #expect(try ConnectString("h:1/").chroot == nil)
    }

    @Test func aChrootScopesEveryPath() async throws {
        let plain = try await TestServer.connect()
        defer { Task { await plain.close() } }
        let root = try await TestServer.freshRoot(plain)
        let chrooted = try await ZooKeeperClient.connect(
            ZooKeeperConfiguration(connectString: TestServer.connectString + root)
        )
        defer { Task { await chrooted.close() } }
        try await chrooted.create("/inside", data: [5])
        #expect(try await plain.getData(root + "/inside").bytes == [5])
    }
}

/// Records every state of a stream until it ends (after a terminal state).
final class StateRecorder: Sendable {
    private let task: Task<[ConnectionState], Never>

    init(_ stream: AsyncStream<ConnectionState>) {
        task = Task {
            var states: [ConnectionState] = []
            for await state in stream { states.append(state) }
            return states
        }
    }

    /// All states, once the stream has ended.
    func states() async -> [ConnectionState] { await task.value }
}
