import Foundation
import Synchronization
import Testing
import ZKOffsets
import ZKOffsetsTool

/// Members of one group as users run them: separate print-consumer processes on a real ZooKeeper and the mock
/// cluster, with messages flowing while members join, leave, crash and freeze.
@Suite("Consumer groups of print-consumer processes", .serialized, .timeLimit(.minutes(4)))
struct GroupTests {
    static let topic = "grouped"
    static let partitions: Int32 = 6

    @Test func membersSplitByRangeAndGracefulMovesRepeatNothing() async throws {
        let executable = try #require(TestEnvironment.executable("print-consumer"), "build print-consumer first")
        let fixture = try await GroupFixture(executable: executable)
        defer { Task { await fixture.close() } }

        let members = try (0..<3).map { _ in try fixture.startMember() }
        try await fixture.produce(0..<120)
        try await fixture.waitForRangeSplit(members: 3)
        for member in members { try await member.waitUntilStarted() }
        try await fixture.waitUntilPrinted(120, by: members)

        // A graceful leave under traffic: its partitions move with their committed offsets.
        let producing = Task { try await fixture.produce(120..<360, slices: 12) }
        try await Task.sleep(for: .milliseconds(300))  // traffic, not synchronisation: the leave lands mid-stream
        members[0].terminate()
        #expect(try await members[0].wait() == 0, "a graceful leave exits 0: \(members[0].errors)")
        try await fixture.waitForRangeSplit(members: 2)
        // A new member under traffic.
        let joiner = try fixture.startMember()
        try await fixture.waitForRangeSplit(members: 3)
        try await joiner.waitUntilStarted()
        try await producing.value
        let all = members + [joiner]
        try await fixture.waitUntilPrinted(360, by: all)

        let printed = all.flatMap { $0.output.compactMap(PrintedLine.init) }
        #expect(Set(printed.map(\.value)) == Set((0..<360).map { "m\($0)" }), "every message delivered")
        #expect(printed.count == 360, "graceful moves repeat no message: \(printed.count - 360) repeated")
        #expect(fixture.backwards.isEmpty, "offsets moved backwards: \(fixture.backwards)")
        for member in all.dropFirst() { member.terminate() }
        for member in all.dropFirst() { #expect(try await member.wait() == 0, "\(member.errors)") }
    }

    @Test func aCrashedMemberIsReplacedAndAFrozenZombieCannotRewind() async throws {
        let executable = try #require(TestEnvironment.executable("print-consumer"), "build print-consumer first")
        let fixture = try await GroupFixture(executable: executable)
        defer { Task { await fixture.close() } }

        let members = try (0..<3).map { _ in try fixture.startMember() }
        try await fixture.waitForRangeSplit(members: 3)
        try await fixture.produce(0..<120)
        try await fixture.waitUntilPrinted(120, by: members)

        // SIGKILL: its partitions move once its session expires (4 s).
        let producing = Task { try await fixture.produce(120..<240, slices: 6) }
        members[0].kill()
        try await fixture.waitForRangeSplit(members: 2, timeout: .seconds(30))
        try await producing.value
        try await fixture.waitUntilPrinted(240, by: members)

        // SIGSTOP past the session timeout: the others take its partitions; after SIGCONT its session is gone,
        // its commit refused, and it joins again.
        let zombie = members[1]
        zombie.signal(SIGSTOP)
        try await fixture.waitForRangeSplit(members: 1, timeout: .seconds(30))
        try await fixture.produce(240..<300)
        try await fixture.waitUntilPrinted(300, by: members)
        zombie.signal(SIGCONT)
        try await fixture.waitForRangeSplit(members: 2, timeout: .seconds(30))
        try await fixture.produce(300..<360)
        try await fixture.waitUntilPrinted(360, by: members)

        let printed = members.flatMap { $0.output.compactMap(PrintedLine.init) }
        #expect(Set(printed.map(\.value)) == Set((0..<360).map { "m\($0)" }), "every message delivered")
        #expect(fixture.backwards.isEmpty, "no offset ever moved backwards: \(fixture.backwards)")
        #expect(zombie.process.value.isRunning, "the zombie rejoined instead of exiting: \(zombie.errors)")
        for member in members.dropFirst() { member.terminate() }
        for member in members.dropFirst() { #expect(try await member.wait() == 0, "\(member.errors)") }
    }
}

/// One group's world: a mock cluster with the topic, a producer, the members, and a watch on every offset znode
/// that records each value it sees (so that a backwards move between two reads cannot hide).
final class GroupFixture: Sendable {
    let executable: URL
    let cluster: MockKafkaCluster
    let group = TestEnvironment.freshGroup()
    let client: ZooKeeperClient
    private let history = OffsetHistory()
    private let watches: [Task<Void, Never>]

    /// The ZooKeeper the members use (the single test server unless given, e.g. the ensemble).
    let zooKeeper: String

    init(executable: URL, zooKeeper: String = TestEnvironment.zooKeeper, brokers: Int = 1) async throws {
        self.executable = executable
        self.zooKeeper = zooKeeper
        cluster = try MockKafkaCluster(brokers: brokers, logger: TestEnvironment.logger)
        try cluster.createTopic(GroupTests.topic, partitions: GroupTests.partitions)
        // A long session: the observer must outlive the faults the members go through (an ensemble frozen past
        // their sessions), or its reads and watches would end with them.
        client = try await ZooKeeperClient.connect(
            ZooKeeperConfiguration(connectString: zooKeeper, sessionTimeout: .seconds(30), connectTimeout: .seconds(30)),
            logger: TestEnvironment.logger)
        let layout = try OffsetLayout(group: group)
        var watches: [Task<Void, Never>] = []
        let history = self.history
        let client = self.client
        for partition in 0..<GroupTests.partitions {
            let path = layout.offsetPath(TopicPartition(topic: GroupTests.topic, partition: partition))
            watches.append(Task {
                // The znode appears when the first member starts the partition: watch its parent first.
                while !Task.isCancelled, (try? await client.exists(path)) == nil {
                    try? await Task.sleep(for: .milliseconds(20))
                }
                do {
                    for try await data in client.watchData(path) {
                        guard let value = data?.string.flatMap({ Int64($0) }) else { continue }
                        history.values.withLock { $0[partition, default: []].append(value) }
                    }
                } catch {}
            })
        }
        self.watches = watches
    }

    func close() async {
        for watch in watches { watch.cancel() }
        await client.close()
        await cluster.close()
    }

    /// Offset changes seen going down: (partition, from, to).
    var backwards: [(Int32, Int64, Int64)] {
        history.values.withLock { seen in
            seen.flatMap { partition, values in
                zip(values, values.dropFirst()).compactMap { $1 < $0 ? (partition, $0, $1) : nil }
            }
        }
    }

    func startMember(_ extra: [String] = []) throws -> RunningConsumer {
        try RunningConsumer(
            executable: executable,
            arguments: [
                "--zookeeper", zooKeeper, "--bootstrap-server", cluster.bootstrapServers,
                "--group", group, "--topic", GroupTests.topic, "--session-timeout-ms", "4000",
                "--commit-interval-ms", "200",
            ] + extra)
    }

    /// Produces `m<i>` for each i, round-robin over the partitions, in `slices` steps (traffic over time).
    func produce(_ range: Range<Int>, slices: Int = 1) async throws {
        let values = range.map { "m\($0)" }
        let size = max(1, values.count / slices)
        var index = range.lowerBound
        for slice in stride(from: 0, to: values.count, by: size) {
            let part = Array(values[slice..<min(slice + size, values.count)])
            let producer = try KafkaProducer(
                configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers),
                logger: TestEnvironment.logger)
            for value in part {
                try producer.send(
                    topic: GroupTests.topic, partition: Int32(index % Int(GroupTests.partitions)),
                    value: Array(value.utf8))
                index += 1
            }
            try await producer.flush()
            await producer.close()
            if slices > 1 { try await Task.sleep(for: .milliseconds(100)) }
        }
    }

    /// Waits until the owner znodes are exactly Kafka 0.8.2's range split over the `members` registered ids.
    func waitForRangeSplit(members count: Int, timeout: Duration = .seconds(20)) async throws {
        let layout = try OffsetLayout(group: group)
        var last = ""
        try await eventually(timeout: timeout, "owners = range split over \(count) members (last: \(last))") {
            guard let ids = try? await client.children(layout.idsPath).names, ids.count == count else { return false }
            var members: [GroupMember] = []
            for (id, result) in zip(ids, await client.getData(ids.map { layout.idPath(consumerID: $0) })) {
                guard case .success(let node) = result else { return false }
                members.append(try GroupMember(consumerID: id, registration: node.bytes))
            }
            let expected = try PartitionAssignor.assign(
                .range, members: members, partitions: [GroupTests.topic: Array(0..<GroupTests.partitions)])
            let partitions = (0..<GroupTests.partitions).map { TopicPartition(topic: GroupTests.topic, partition: $0) }
            let owners = await client.getData(partitions.map { layout.ownerPath($0) })
            let actual = zip(partitions, owners).map { partition, result in
                (partition, (try? result.get())?.string)
            }
            last = actual.map { "\($0.0.partition)=\($0.1 ?? "-")" }.joined(separator: " ")
            return actual.allSatisfy { expected[$0.0] == $0.1 }
        }
    }

    /// Waits until the members together printed `count` distinct messages.
    func waitUntilPrinted(_ count: Int, by members: [RunningConsumer]) async throws {
        try await eventually(timeout: .seconds(60), "\(count) distinct messages printed") {
            Set(members.flatMap { $0.output.compactMap(PrintedLine.init).map(\.value) }).count >= count
        }
    }
}

/// Every value each offset znode was seen holding, in order.
final class OffsetHistory: Sendable {
    let values = Mutex<[Int32: [Int64]]>([:])
}

extension RunningConsumer {
    /// Whether the consumer's log (LOG_LEVEL=info) holds `text` anywhere.
    func logged(_ text: String) -> Bool {
        ((try? String(contentsOf: errorLog, encoding: .utf8)) ?? "").contains(text)
    }

    /// Waits until the member finished starting (its first rebalance took partitions), so that a SIGTERM reaches
    /// its graceful-shutdown handler rather than a process still starting.
    func waitUntilStarted() async throws {
        try await eventually(timeout: .seconds(60), "the member started: \(errors)") { logged("rebalanced:") }
    }

    func terminate() { signal(SIGTERM) }
    func signal(_ signal: Int32) { _ = Glibc.kill(process.value.processIdentifier, signal) }
}
