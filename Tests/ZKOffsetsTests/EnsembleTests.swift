import Foundation
import Synchronization
import Testing
import ZKOffsets

/// Faults of the ZooKeeper ensemble under a committing store: the leader killed (twice, the second time after
/// the first came back), the whole ensemble frozen for less and for more than the session timeout.
/// Every test checks the invariants itself: no acknowledged commit lost, no offset moving backwards.
@Suite("ZooKeeper ensemble faults", .serialized, .timeLimit(.minutes(5)))
struct EnsembleTests {
    static let partitions = (0..<4).map { TopicPartition(topic: "failover", partition: Int32($0)) }

    /// scripts/zk-server run from this process used to never "exit": the restarted JVM inherited the socket
    /// Foundation's Process watches to learn that its child ended.
    @Test func aNodeRestartedFromTheTestProcessReturns() async throws {
        let ensemble = try Self.ensemble()
        let node = 3
        try await ensemble.zkServer(["stop-node", "\(node)"])
        try await ensemble.start(node)
        let modes = try await ensemble.modes()
        #expect(modes[node] == "leader" || modes[node] == "follower", "modes: \(modes)")
    }

    @Test func commitsCarryOnWhenTheLeaderIsKilledTwice() async throws {
        let ensemble = try Self.ensemble()
        try await ensemble.waitUntilServing(ensemble.nodes)
        let writer = try await Self.connect(ensemble, sessionTimeout: .seconds(10))
        let observer = try await Self.connect(ensemble, sessionTimeout: .seconds(10))
        let session = writer.sessionID
        let states = StateLog(writer.connectionStates())
        let store = try ZooKeeperOffsetStore(client: writer, group: TestEnvironment.freshGroup())
        let loop = CommitLoop(store: store, partitions: Self.partitions)
        let watched = ValueLog(observer, path: store.layout.offsetPath(Self.partitions[0]))
        defer { Task { loop.stop(); watched.stop(); await writer.close(); await observer.close() } }
        loop.start()
        try await eventually("the first commits") { loop.acknowledged >= 20 }

        for round in 1...2 {
            let leader = try await ensemble.leader()
            let before = loop.acknowledged
            try await ensemble.kill(leader)
            do {
                // The other two elect a new leader first; nobody can commit before. It takes under a second here,
                // but up to ~20 s on a loaded CI machine (seen: "LEADER ELECTION TOOK - 10199 MS", after a failed
                // round), which is the server's time, not the client's.
                try await ensemble.waitUntilServing(ensemble.nodes.filter { $0 != leader })
                // Then commits carry on within the session timeout (the writer may have been on any node).
                try await eventually(timeout: writer.negotiatedSessionTimeout, "round \(round): commits after leader \(leader) was killed") {
                    loop.acknowledged >= before + 10
                }
                try await Self.expectNothingLost(loop, store: store, "round \(round), leader \(leader) down")
            } catch {
                try? await ensemble.start(leader)  // the next tests need all three nodes
                throw error
            }
            try await ensemble.start(leader)
            try await ensemble.waitUntilServing(ensemble.nodes)
            let afterRestart = loop.acknowledged
            try await eventually(timeout: writer.negotiatedSessionTimeout, "round \(round): commits after \(leader) came back") {
                loop.acknowledged >= afterRestart + 10
            }
        }
        let final = await loop.stopAndWait()
        #expect(loop.failures.isEmpty, "failed commits: \(loop.failures.prefix(5))")
        try await Self.expectNothingLost(loop, store: store, "the end")
        // Every node holds the last acknowledged commit once it has caught up.
        try await eventually("the observer reads the last commit") {
            try await OffsetValue.decode(observer.getData(store.layout.offsetPath(Self.partitions[0])).bytes, path: "")
                == final
        }
        try await eventually("the observer's watch sees the last commit") { watched.values.last == final }
        let seen = watched.values
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0 <= $1 }, "an offset moved backwards: \(seen)")
        #expect(writer.sessionID == session, "the session survives a leader change")
        #expect(!states.seen.contains(.expired), "states: \(states.seen)")
    }

    @Test func anEnsembleFrozenForLessThanTheSessionTimeoutKeepsTheSession() async throws {
        let ensemble = try Self.ensemble()
        try await ensemble.waitUntilServing(ensemble.nodes)
        let client = try await Self.connect(ensemble, sessionTimeout: .seconds(20))
        defer { Task { try? ensemble.freeze(false); await client.close() } }
        let session = client.sessionID
        let states = StateLog(client.connectionStates())
        let store = try ZooKeeperOffsetStore(client: client, group: TestEnvironment.freshGroup())
        let partition = Self.partitions[0]
        try await store.commit([partition: 100])

        try ensemble.freeze(true)
        // A commit made while nothing answers retries what is retryable for a session timeout: it lands after
        // the thaw, or (on a slow machine, where the thawed ensemble may first re-elect) gives up retryable.
        let pending = Task { try await store.commit([partition: 101]) }
        // The client notices after about 2/3 of the session timeout; thaw then, well inside the timeout.
        try await eventually(timeout: .seconds(30), "the client suspends") { states.seen.contains(.suspended) }
        try ensemble.freeze(false)
        try await eventually(timeout: client.negotiatedSessionTimeout, "the same session reconnects") {
            states.seen.last == .reconnected
        }
        try await ensemble.waitUntilServing(ensemble.nodes)
        do {
            _ = try await pending.value
        } catch let error as ZooKeeperError {
            #expect(error.isRetryable, "the commit during the freeze failed for good: \(error)")
        }
        #expect(client.sessionID == session)
        #expect(!states.seen.contains(.expired), "states: \(states.seen)")
        let during = try #require(try await store.read([partition])[partition]?.offset)
        #expect(during == 100 || during == 101, "nothing lost, nothing backwards: \(during)")
        try await store.commit([partition: 102])
        let stored = try await store.read([partition])
        #expect(stored[partition]?.offset == 102)
    }

    @Test func anEnsembleFrozenForLongerThanTheSessionTimeoutExpiresItAndANewSessionWorks() async throws {
        let ensemble = try Self.ensemble()
        try await ensemble.waitUntilServing(ensemble.nodes)
        let group = TestEnvironment.freshGroup()
        let partition = Self.partitions[0]
        var expiredClient: ZooKeeperClient?
        // The server expires the session when it runs again; the client, also reconnecting at the thaw, can win
        // that race once in a while and keep its session: then freeze again.
        for attempt in 1...3 where expiredClient == nil {
            let client = try await Self.connect(ensemble, sessionTimeout: .seconds(4))
            let states = StateLog(client.connectionStates())
            let store = try ZooKeeperOffsetStore(client: client, group: group)
            try await store.commit([partition: Int64(200 + attempt)])
            let timeout = client.negotiatedSessionTimeout
            try ensemble.freeze(true)
            do {
                try await eventually(timeout: .seconds(30), "the client suspends") { states.seen.contains(.suspended) }
                // The fault itself: nothing answers for longer than the session timeout.
                try await Task.sleep(for: timeout + .seconds(2))
            } catch {
                try ensemble.freeze(false)
                throw error
            }
            try ensemble.freeze(false)
            try await eventually(timeout: .seconds(40), "the client reconnects or learns of the expiry") {
                states.seen.last == .expired || states.seen.last == .reconnected
            }
            if states.seen.last == .expired {
                expiredClient = client
                let refused = await #expect(throws: ZooKeeperError.self) { try await store.commit([partition: 999]) }
                #expect(refused?.code == .sessionExpired)
            } else {
                await client.close()
            }
        }
        let expired = try #require(expiredClient, "three freezes longer than the session timeout never expired it")
        #expect(expired.state == .expired)
        await expired.close()

        let successor = try await Self.connect(ensemble, sessionTimeout: .seconds(10))
        defer { Task { await successor.close() } }
        let store = try ZooKeeperOffsetStore(client: successor, group: group)
        let before = try #require(try await store.read([partition])[partition]?.offset)
        #expect(before >= 201, "the commit before the freeze is kept: \(before)")
        try await store.commit([partition: before + 1])
        #expect(try await store.read([partition])[partition]?.offset == before + 1)
    }

    // MARK: Helpers

    static func ensemble() throws -> Ensemble {
        try #require(Ensemble.fromEnvironment, "scripts/test starts the ensemble (ZK_ENSEMBLE_CONNECT, ZK_ENSEMBLE_DIR)")
    }

    static func connect(_ ensemble: Ensemble, sessionTimeout: Duration) async throws -> ZooKeeperClient {
        try await ZooKeeperClient.connect(
            ZooKeeperConfiguration(
                connectString: ensemble.connectString, sessionTimeout: sessionTimeout, connectTimeout: .seconds(30)
            ),
            logger: TestEnvironment.logger
        )
    }

    /// Reads through the writer's own session (which sees its own writes on any server): every partition holds
    /// at least what was acknowledged before the read.
    static func expectNothingLost(
        _ loop: CommitLoop, store: ZooKeeperOffsetStore, _ when: String
    ) async throws {
        var attempt = 0
        while true {
            let acknowledged = loop.acknowledged
            do {
                let stored = try await store.read(partitions)
                for partition in partitions {
                    let offset = stored[partition]?.offset ?? -1
                    #expect(offset >= acknowledged, "\(when): \(partition) holds \(offset), \(acknowledged) was acknowledged")
                }
                return
            } catch let error as ZooKeeperError where error.isRetryable && attempt < 20 {
                attempt += 1
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }
}

/// Commits `n` to every partition, n = 1, 2, 3 ..., as fast as the ensemble takes them; remembers the last
/// acknowledged n and every failure.
final class CommitLoop: Sendable {
    private let store: ZooKeeperOffsetStore
    private let partitions: [TopicPartition]
    private struct State {
        var acknowledged: Int64 = 0
        var failures: [String] = []
        var task: Task<Void, Never>?
    }
    private let state = Mutex(State())

    init(store: ZooKeeperOffsetStore, partitions: [TopicPartition]) {
        self.store = store
        self.partitions = partitions
    }

    var acknowledged: Int64 { state.withLock { $0.acknowledged } }
    var failures: [String] { state.withLock { $0.failures } }

    func start() {
        let task = Task { [store, partitions] in
            var next: Int64 = 1
            while !Task.isCancelled {
                do {
                    try await store.commit(Dictionary(uniqueKeysWithValues: partitions.map { ($0, next) }))
                    state.withLock { $0.acknowledged = next }
                    next += 1
                } catch {
                    if Task.isCancelled { break }
                    state.withLock { $0.failures.append("commit \(next): \(error)") }
                }
            }
        }
        state.withLock { $0.task = task }
    }

    func stop() { state.withLock { $0.task }?.cancel() }

    /// Stops after the commit in flight and returns the last acknowledged n.
    func stopAndWait() async -> Int64 {
        let task = state.withLock { $0.task }
        task?.cancel()
        await task?.value
        return acknowledged
    }
}

/// Every state a client goes through from now on.
final class StateLog: Sendable {
    private let states = Mutex<[ConnectionState]>([])
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(_ stream: AsyncStream<ConnectionState>) {
        let task = Task { [weak self] in
            for await state in stream { self?.states.withLock { $0.append(state) } }
        }
        self.task.withLock { $0 = task }
    }

    var seen: [ConnectionState] { states.withLock { $0 } }
}

/// The offsets an observer's watch sees on one znode, in order; re-subscribes when a watch stream ends.
final class ValueLog: Sendable {
    private let log = Mutex<[Int64]>([])
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(_ client: ZooKeeperClient, path: String) {
        let task = Task { [weak self] in
            while !Task.isCancelled {
                do {
                    for try await data in client.watchData(path) {
                        guard let data, let offset = try? OffsetValue.decode(data.bytes, path: path) else { continue }
                        self?.log.withLock { $0.append(offset) }
                    }
                } catch {
                    if client.state.isTerminal { return }
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
        }
        self.task.withLock { $0 = task }
    }

    var values: [Int64] { log.withLock { $0 } }

    func stop() { task.withLock { $0 }?.cancel() }
}
