import Foundation
import Synchronization
import Testing
import ZKOffsets
import ZKOffsetsTool

/// Kafka faults injected with librdkafka's mock cluster controls (3 brokers) while messages flow: a broker down and
/// up, every partition leader moving, Fetch, ListOffsets and (for `dual` storage) OffsetCommit requests failing.
/// Consumers read through them losing nothing and repeating nothing (graceful joins only, so not even the batch in
/// hand: every (partition, offset) below the log ends is read exactly once), and no offset znode ever moves
/// backwards (every change watched). A topic that disappears under a consumer stops it with an error naming the
/// topic, and its offsets stay as they were (data and version).
@Suite("Kafka faults (mock cluster controls)", .serialized, .timeLimit(.minutes(3)))
struct KafkaFaultTests {
    static let topic = GroupTests.topic
    static let partitions = GroupTests.partitions

    @Test func aConsumerReadsThroughBrokerOutagesLeaderMovesAndRequestErrors() async throws {
        let executable = try #require(TestEnvironment.executable("print-consumer"), "build print-consumer first")
        let fixture = try await GroupFixture(executable: executable, brokers: 3)
        defer { Task { await fixture.close() } }
        var faults = KafkaFaults(cluster: fixture.cluster, topic: Self.topic, partitions: Self.partitions)
        try faults.spreadLeaders()

        // Its start positions are looked up through failing ListOffsets requests.
        try faults.listOffsetsErrors()
        let consumer = try await OffsetConsumer.start(
            TestEnvironment.configuration(group: fixture.group, topics: [Self.topic], cluster: fixture.cluster),
            logger: TestEnvironment.logger)
        let read = ReadLines()
        let reader = Task {
            do {
                while let batch = try await consumer.nextBatch() {
                    read.lines.withLock { $0 += batch.map(PrintedLine.init) }
                    consumer.markProcessed(batch)
                    try await consumer.commit()
                }
            } catch {
                Issue.record("the consumer failed: \(error)")  // said at once: the waits below only time out
                throw error
            }
        }
        let traffic = try Traffic(cluster: fixture.cluster, topic: Self.topic, partitions: Self.partitions)
        let consumed = { read.lines.withLock { $0.count } }
        try await faults.brokerDownAndUp(2, consumed: consumed)
        try await faults.moveEveryLeader(consumed: consumed)
        try await faults.fetchErrors(consumed: consumed)
        let sent = try await traffic.stop()
        let ends = try await logEnds(fixture.cluster)
        try await eventually("every message read") { consumed() >= Int(ends.values.reduce(0, +)) }
        consumer.stop()
        try await reader.value
        try await consumer.close()

        let check = DeliveryCheck(read.lines.withLock { $0 }, ends: ends, sent: sent)
        #expect(check.duplicates == 0, "a Kafka fault repeats no message: \(check.duplicates) repeated")
        #expect(fixture.backwards.isEmpty, "offsets moved backwards: \(fixture.backwards)")
        #expect(try await committedOffsets(fixture) == ends, "the committed offsets are the log ends")
        print("library consumer: \(sent) sent, \(check.read) read, \(check.duplicates) repeated; faults: \(faults.injected)")
    }

    @Test func aGroupOfPrintConsumersReadsThroughTheSameFaults() async throws {
        let executable = try #require(TestEnvironment.executable("print-consumer"), "build print-consumer first")
        let fixture = try await GroupFixture(executable: executable, brokers: 3)
        defer { Task { await fixture.close() } }
        var faults = KafkaFaults(cluster: fixture.cluster, topic: Self.topic, partitions: Self.partitions)
        try faults.spreadLeaders()

        var members = try (0..<2).map { _ in try fixture.startMember() }
        defer { for member in members { member.killIfRunning() } }  // a failed expectation leaves none behind
        try await fixture.waitForRangeSplit(members: 2)
        for member in members { try await member.waitUntilStarted() }
        let traffic = try Traffic(cluster: fixture.cluster, topic: Self.topic, partitions: Self.partitions)
        let consumed = { [members] in members.reduce(0) { $0 + $1.output.count } }
        faults.consumerState = { [members] in members.map(\.errors).joined(separator: "\n---\n") }
        try await faults.brokerDownAndUp(2, consumed: consumed)
        try await faults.moveEveryLeader(consumed: consumed)
        try await faults.fetchErrors(consumed: consumed)
        // A member joins mid-stream: the partitions it takes over start through failing ListOffsets requests.
        try faults.listOffsetsErrors()
        members.append(try fixture.startMember())
        try await fixture.waitForRangeSplit(members: 3, timeout: .seconds(30))
        let sent = try await traffic.stop()
        let ends = try await logEnds(fixture.cluster)
        try await fixture.waitUntilPrinted(sent, by: members)
        try await eventually("the members committed the log ends") { (try? await committedOffsets(fixture)) == ends }

        let printed = members.flatMap { $0.output.compactMap(PrintedLine.init) }
        let check = DeliveryCheck(printed, ends: ends, sent: sent)
        #expect(check.duplicates == 0, "Kafka faults and a graceful join repeat no message: \(check.duplicates) repeated")
        #expect(fixture.backwards.isEmpty, "offsets moved backwards: \(fixture.backwards)")
        for member in members { #expect(member.process.value.isRunning, "no member exited: \(member.errors)") }
        for member in members { member.terminate() }
        for member in members { #expect(try await member.wait() == 0, "\(member.errors)") }
        print("print-consumer group: \(sent) sent, \(check.read) printed, \(check.duplicates) repeated; faults: \(faults.injected)")
    }

    @Test func aDualStorageMemberCommitsThroughFailingOffsetCommits() async throws {
        let executable = try #require(TestEnvironment.executable("print-consumer"), "build print-consumer first")
        let fixture = try await GroupFixture(executable: executable)
        defer { Task { await fixture.close() } }
        var faults = KafkaFaults(cluster: fixture.cluster, topic: Self.topic, partitions: Self.partitions)

        let member = try fixture.startMember(["--offsets-storage", "dual"])
        defer { member.killIfRunning() }
        faults.consumerState = { member.errors }
        try await member.waitUntilStarted()
        let traffic = try Traffic(cluster: fixture.cluster, topic: Self.topic, partitions: Self.partitions)
        try await faults.offsetCommitErrors { member.output.count }
        let sent = try await traffic.stop()
        let ends = try await logEnds(fixture.cluster)
        try await fixture.waitUntilPrinted(sent, by: [member])
        try await eventually("ZooKeeper holds the log ends") { (try? await committedOffsets(fixture)) == ends }
        try await eventually("Kafka holds the log ends") { (try? await kafkaOffsets(fixture)) == ends }

        let check = DeliveryCheck(member.output.compactMap(PrintedLine.init), ends: ends, sent: sent)
        #expect(check.duplicates == 0, "a failed Kafka commit repeats no message: \(check.duplicates) repeated")
        #expect(fixture.backwards.isEmpty, "offsets moved backwards: \(fixture.backwards)")
        #expect(member.process.value.isRunning, "the member consumed on: \(member.errors)")
        member.terminate()
        #expect(try await member.wait() == 0, "\(member.errors)")
        print("dual storage: \(sent) sent, \(check.read) printed, \(check.duplicates) repeated; faults: \(faults.injected)")
    }

    @Test func aTopicDeletedUnderTheConsumersStopsThemNamingItAndLeavesTheOffsets() async throws {
        let executable = try #require(TestEnvironment.executable("print-consumer"), "build print-consumer first")
        let fixture = try await GroupFixture(executable: executable)
        defer { Task { await fixture.close() } }
        try await fixture.produce(0..<60)

        // A print-consumer (the fixture's group) and a library consumer (a group of its own) read everything. They
        // look at the metadata every second (30 s by default), which is when they see the topic gone.
        let member = try fixture.startMember(["--metadata-refresh-ms", "1000"])
        defer { member.killIfRunning() }
        let library = TestEnvironment.freshGroup("library")
        var configuration = TestEnvironment.configuration(group: library, topics: [Self.topic], cluster: fixture.cluster)
        configuration.metadataRefreshInterval = .seconds(1)
        let consumer = try await OffsetConsumer.start(configuration, logger: TestEnvironment.logger)
        #expect(try await TestEnvironment.consume(consumer, count: 60).count == 60)
        try await fixture.waitUntilPrinted(60, by: [member])
        let ends = try await logEnds(fixture.cluster)
        try await eventually("the print-consumer committed everything") {
            (try? await committedOffsets(fixture)) == ends
        }
        let before = try await storedOffsets(fixture.group) + storedOffsets(library)

        try fixture.cluster.makeTopicLookDeleted(Self.topic)
        let error = await #expect(throws: (any Error).self, "the library consumer fails") {
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline, try await consumer.nextBatch() != nil {}
        }
        let offsetError = try #require(error as? OffsetError, "an OffsetError, not \(String(describing: error))")
        #expect(offsetError.code == .unknownTopic)
        #expect(offsetError.message.contains("topic \(Self.topic) does not exist"), "names the topic: \(offsetError.message)")
        try await consumer.close()

        let status = try await member.wait()
        #expect(status == 1, "print-consumer exits 1 on the error: \(member.errors)")
        #expect(member.errors.contains("topic \(Self.topic) does not exist"), "its error names the topic: \(member.errors)")
        let after = try await storedOffsets(fixture.group) + storedOffsets(library)
        #expect(after == before, "the stored offsets (data and version) are untouched")
        print("topic deleted: library error: \(offsetError.message)")
    }

    // MARK: Helpers

    private func logEnds(_ cluster: MockKafkaCluster) async throws -> [Int32: Int64] {
        let admin = try KafkaAdminClient(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: TestEnvironment.logger)
        let partitions = (0..<Self.partitions).map { TopicPartition(topic: Self.topic, partition: $0) }
        let marks = try await admin.watermarks(for: partitions)
        await admin.close()
        return Dictionary(uniqueKeysWithValues: marks.map { ($0.key.partition, $0.value.high) })
    }

    /// The group's offsets in Kafka (OffsetFetch).
    private func kafkaOffsets(_ fixture: GroupFixture) async throws -> [Int32: Int64] {
        let admin = try KafkaAdminClient(
            configuration: KafkaConfiguration(bootstrapServers: fixture.cluster.bootstrapServers),
            logger: TestEnvironment.logger)
        defer { Task { await admin.close() } }
        let partitions = (0..<Self.partitions).map { TopicPartition(topic: Self.topic, partition: $0) }
        let offsets = try await admin.committedOffsets(group: fixture.group, partitions: partitions)
        return Dictionary(uniqueKeysWithValues: offsets.map { ($0.key.partition, $0.value) })
    }

    private func committedOffsets(_ fixture: GroupFixture) async throws -> [Int32: Int64] {
        var offsets: [Int32: Int64] = [:]
        for stored in try await storedOffsets(fixture.group) { offsets[stored.partition] = Int64(stored.data) }
        return offsets
    }

    /// Every offset znode of `group`'s topic: partition, data and version.
    private func storedOffsets(_ group: String) async throws -> [StoredZnode] {
        let client = try await TestEnvironment.connect()
        defer { Task { await client.close() } }
        let layout = try OffsetLayout(group: group)
        var stored: [StoredZnode] = []
        for partition in 0..<Self.partitions {
            let path = layout.offsetPath(TopicPartition(topic: Self.topic, partition: partition))
            let node = try await client.getData(path)
            stored.append(StoredZnode(partition: partition, data: node.string ?? "", version: node.stat.version))
        }
        return stored
    }
}

extension RunningConsumer {
    /// SIGKILL, unless the process already ended.
    func killIfRunning() {
        if process.value.isRunning { kill() }
    }
}

/// What a library consumer read, as print-consumer lines.
final class ReadLines: Sendable {
    let lines = Mutex<[PrintedLine]>([])
}

struct StoredZnode: Equatable {
    let partition: Int32
    let data: String
    let version: Int32
}
