import Foundation
import Testing
import ZKOffsets
import ZKOffsetsTool

/// Kafka 0.8.2's rolling move of a live group between offset storages, one member restart at a time, with
/// messages flowing: zookeeper -> dual -> kafka -> dual -> zookeeper.
@Suite("Rolling offset-storage moves of a live group", .serialized, .timeLimit(.minutes(4)))
struct RollingStorageTests {
    @Test func zookeeperToKafkaAndBackLosesNothingAndRepeatsNothing() async throws {
        let executable = try #require(TestEnvironment.executable("print-consumer"), "build print-consumer first")
        let fixture = try await GroupFixture(executable: executable)
        defer { Task { await fixture.close() } }
        // A separate librdkafka client reads Kafka's committed offsets (OffsetFetch), not the consumers'.
        let admin = try KafkaAdminClient(
            configuration: KafkaConfiguration(bootstrapServers: fixture.cluster.bootstrapServers),
            logger: TestEnvironment.logger)
        defer { Task { await admin.close() } }
        let partitions = (0..<GroupTests.partitions).map { TopicPartition(topic: GroupTests.topic, partition: $0) }

        var members = try (0..<2).map { _ in try fixture.startMember(["--offsets-storage", "zookeeper"]) }
        var retired: [RunningConsumer] = []
        try await fixture.waitForRangeSplit(members: 2)
        for member in members { try await member.waitUntilStarted() }
        var produced = 0
        for storage in ["dual", "kafka", "dual", "zookeeper"] {
            for slot in 0..<2 {
                // Messages flow while the member restarts with the next storage.
                let next = produced..<(produced + 60)
                produced += 60
                let producing = Task { try await fixture.produce(next, slices: 6) }
                members[slot].terminate()
                #expect(try await members[slot].wait() == 0, "\(members[slot].errors)")
                retired.append(members[slot])
                members[slot] = try fixture.startMember(["--offsets-storage", storage])
                try await fixture.waitForRangeSplit(members: 2)
                try await members[slot].waitUntilStarted()
                try await producing.value
            }
            try await fixture.waitUntilPrinted(produced, by: members + retired)
            if storage == "kafka" {
                // Both members keep their offsets in Kafka now: Kafka's equal the log ends.
                let ends = try await admin.watermarks(for: partitions).mapValues(\.high)
                try await eventually("Kafka's committed offsets reach the log ends") {
                    try await admin.committedOffsets(group: fixture.group, partitions: partitions) == ends
                }
                // ... and ZooKeeper's stayed behind: the messages of the last step were committed to Kafka only.
                let layout = try OffsetLayout(group: fixture.group)
                let inZooKeeper = await fixture.client.getData(partitions.map { layout.offsetPath($0) })
                    .compactMap { (try? $0.get())?.string.flatMap { Int64($0) } }.reduce(0, +)
                #expect(inZooKeeper < ends.values.reduce(0, +), "ZooKeeper \(inZooKeeper) of \(ends)")
            }
        }
        let ends = try await admin.watermarks(for: partitions).mapValues(\.high)
        let layout = try OffsetLayout(group: fixture.group)
        try await eventually("ZooKeeper's offsets reach the log ends again") {
            let nodes = await fixture.client.getData(partitions.map { layout.offsetPath($0) })
            return zip(partitions, nodes).allSatisfy { partition, node in
                (try? node.get())?.string.flatMap { Int64($0) } == ends[partition]
            }
        }
        let printed = (members + retired).flatMap { $0.output.compactMap(PrintedLine.init) }
        #expect(Set(printed.map(\.value)) == Set((0..<produced).map { "m\($0)" }), "every message delivered")
        #expect(printed.count == produced, "graceful restarts repeat nothing: \(printed.count - produced) repeated")
        #expect(fixture.backwards.isEmpty, "ZooKeeper offsets never moved backwards: \(fixture.backwards)")
        for member in members { member.terminate() }
        for member in members { #expect(try await member.wait() == 0, "\(member.errors)") }
    }
}

@Suite("Dual offset storage", .serialized, .timeLimit(.minutes(2)))
struct DualStorageTests {
    @Test func aKafkaFailureFailsTheDualCommitAndTheApplicationSeesIt() async throws {
        let cluster = try MockKafkaCluster(logger: TestEnvironment.logger)
        try cluster.createTopic("dual", partitions: 2)
        try await TestEnvironment.produce(["a", "b", "c", "d"], topic: "dual", partitions: 2, cluster: cluster)
        let group = TestEnvironment.freshGroup()
        var configuration = TestEnvironment.configuration(group: group, topics: ["dual"], cluster: cluster, commitInterval: nil)
        configuration.offsetStorage = .dual
        configuration.kafkaTimeout = .seconds(2)
        let consumer = try await OffsetConsumer.start(configuration, logger: TestEnvironment.logger)
        var received: [KafkaMessage] = []
        while received.count < 4, let batch = try await consumer.nextBatch() { received += batch }
        consumer.markProcessed(received)
        let admin = try KafkaAdminClient(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: TestEnvironment.logger)
        let partitions = [TopicPartition(topic: "dual", partition: 0), TopicPartition(topic: "dual", partition: 1)]
        #expect(try await admin.committedOffsets(group: group, partitions: partitions).values.allSatisfy { $0 == 0 },
                "the starts went to Kafka too")
        await admin.close()

        // Kafka goes away: the commit reaches ZooKeeper, then fails on Kafka, and says so.
        await cluster.close()
        await #expect(throws: KafkaOffsetStoreError.self) { try await consumer.commit() }
        let client = try await TestEnvironment.connect()
        defer { Task { await client.close() } }
        for partition in 0..<2 {
            #expect(try await client.getData("/consumers/\(group)/offsets/dual/\(partition)").string == "2")
        }
        consumer.stop()
        try? await consumer.close()
    }
}
