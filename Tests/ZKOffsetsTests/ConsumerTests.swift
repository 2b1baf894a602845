import Foundation
import Testing
import ZKOffsets
import ZKOffsetsTool

@Suite("Consumer: start positions, resume, out of range", .serialized, .timeLimit(.minutes(2)))
struct ConsumerTests {
    @Test func restartResumesExactlyAfterTheLastCommit() async throws {
        let cluster = try MockKafkaCluster(logger: TestEnvironment.logger)
        defer { Task { await cluster.close() } }
        try cluster.createTopic("seed", partitions: 3)
        let group = TestEnvironment.freshGroup()
        let configuration = TestEnvironment.configuration(group: group, topics: ["seed"], cluster: cluster)

        // The seed's test: 3 messages, consume, stop; 3 more; restart: exactly the 3 new ones.
        try await TestEnvironment.produce(["a", "b", "c"], topic: "seed", partitions: 3, cluster: cluster)
        var consumer = try await OffsetConsumer.start(configuration, logger: TestEnvironment.logger)
        let first = try await TestEnvironment.consume(consumer, count: 3)
        #expect(first.map(\.text).sorted() == ["a", "b", "c"])
        try await consumer.close()

        try await TestEnvironment.produce(["d", "e", "f"], topic: "seed", partitions: 3, cluster: cluster)
        consumer = try await OffsetConsumer.start(configuration, logger: TestEnvironment.logger)
        #expect(consumer.startPositions.map(\.offset) == [1, 1, 1])
        #expect(consumer.startPositions.allSatisfy { $0.reason == .stored })
        let second = try await TestEnvironment.consume(consumer, count: 3)
        #expect(second.map(\.text).sorted() == ["d", "e", "f"])
        // Nothing else is pending.
        let more = try await consumer.nextBatch()
        #expect(more == [])
        try await consumer.close()

        let client = try await TestEnvironment.connect()
        defer { Task { await client.close() } }
        for partition in 0..<3 {
            #expect(try await client.getData("/consumers/\(group)/offsets/seed/\(partition)").string == "2")
        }
    }

    @Test func onlyProcessedOffsetsAreCommittedAndTheCloseCommitsThem() async throws {
        let cluster = try MockKafkaCluster(logger: TestEnvironment.logger)
        defer { Task { await cluster.close() } }
        try cluster.createTopic("p", partitions: 1)
        let group = TestEnvironment.freshGroup()
        try await TestEnvironment.produce((0..<10).map { "m\($0)" }, topic: "p", partitions: 1, cluster: cluster)
        let consumer = try await OffsetConsumer.start(
            TestEnvironment.configuration(group: group, topics: ["p"], cluster: cluster, commitInterval: nil),
            logger: TestEnvironment.logger
        )
        var received: [KafkaMessage] = []
        while received.count < 10, let batch = try await consumer.nextBatch() { received += batch }
        consumer.markProcessed(Array(received.prefix(4)))
        consumer.markProcessed(Array(received.prefix(2)))  // never backwards
        let client = try await TestEnvironment.connect()
        defer { Task { await client.close() } }
        #expect(try await client.getData("/consumers/\(group)/offsets/p/0").string == "0", "nothing before a commit")
        try await consumer.close()
        #expect(try await client.getData("/consumers/\(group)/offsets/p/0").string == "4")
    }

    @Test func partitionsWithoutAZnodeStartByPolicyAndAreRecordedBeforeTheFirstMessage() async throws {
        let cluster = try MockKafkaCluster(logger: TestEnvironment.logger)
        defer { Task { await cluster.close() } }
        try cluster.createTopic("fresh", partitions: 4)
        try await TestEnvironment.produce((0..<8).map { "m\($0)" }, topic: "fresh", partitions: 4, cluster: cluster)
        let client = try await TestEnvironment.connect()
        defer { Task { await client.close() } }

        let early = TestEnvironment.freshGroup("early")
        let consumer = try await OffsetConsumer.start(
            TestEnvironment.configuration(group: early, topics: ["fresh"], cluster: cluster), logger: TestEnvironment.logger
        )
        // Before any message is asked for, every partition's znode holds its start.
        for partition in 0..<4 {
            #expect(try await client.getData("/consumers/\(early)/offsets/fresh/\(partition)").string == "0")
        }
        #expect(consumer.startPositions.allSatisfy { $0.reason == .noStoredOffset(.earliest) })
        #expect(try await TestEnvironment.consume(consumer, count: 8).count == 8)
        try await consumer.close()

        let late = TestEnvironment.freshGroup("late")
        let latest = try await OffsetConsumer.start(
            TestEnvironment.configuration(group: late, topics: ["fresh"], cluster: cluster, policy: .latest),
            logger: TestEnvironment.logger
        )
        for partition in 0..<4 {
            #expect(try await client.getData("/consumers/\(late)/offsets/fresh/\(partition)").string == "2")
        }
        #expect(try await latest.nextBatch() == [])
        try await latest.close()

        let strict = TestEnvironment.freshGroup("strict")
        let error = await #expect(throws: OffsetError.self) {
            try await OffsetConsumer.start(
                TestEnvironment.configuration(group: strict, topics: ["fresh"], cluster: cluster, policy: .none),
                logger: TestEnvironment.logger
            )
        }
        #expect(error?.code == .noStoredOffset)
        #expect(error?.message.contains("fresh-0") == true)
        #expect(error?.message.contains("fresh-3") == true)
        #expect(try await client.exists("/consumers/\(strict)/offsets/fresh/0") == nil, "nothing written")
    }

    @Test func aStoredOffsetAboveTheLogEndIsAnErrorNamingThePartition() async throws {
        let cluster = try MockKafkaCluster(logger: TestEnvironment.logger)
        defer { Task { await cluster.close() } }
        try cluster.createTopic("short", partitions: 2)
        try await TestEnvironment.produce(["x", "y"], topic: "short", partitions: 2, cluster: cluster)
        let group = TestEnvironment.freshGroup()
        let client = try await TestEnvironment.connect()
        defer { Task { await client.close() } }
        try await client.ensurePath("/consumers/\(group)/offsets/short")
        try await client.create("/consumers/\(group)/offsets/short/1", data: Array("500".utf8))

        let error = await #expect(throws: OffsetError.self) {
            try await OffsetConsumer.start(
                TestEnvironment.configuration(group: group, topics: ["short"], cluster: cluster),
                logger: TestEnvironment.logger
            )
        }
        #expect(error?.code == .offsetAboveLogEnd)
        #expect(error?.message.contains("short-1 (stored 500, log end 1)") == true)
        #expect(try await client.getData("/consumers/\(group)/offsets/short/1").string == "500", "left as it was")
        #expect(try await client.exists("/consumers/\(group)/offsets/short/0") == nil, "nothing written")

        var configuration = TestEnvironment.configuration(group: group, topics: ["short"], cluster: cluster)
        configuration.resetAboveLogEnd = true
        let consumer = try await OffsetConsumer.start(configuration, logger: TestEnvironment.logger)
        #expect(consumer.startPositions.contains {
            $0.partition.partition == 1 && $0.reason == .aboveLogEnd(stored: 500, policy: .earliest)
        })
        try await consumer.close()
    }

    @Test func aStoredOffsetBelowTheLogStartResetsAndReportsTheSkippedMessages() async throws {
        let cluster = try MockKafkaCluster(logger: TestEnvironment.logger)
        defer { Task { await cluster.close() } }
        try cluster.createTopic("retained", partitions: 1)
        // The mock keeps about 5 MiB per partition: 8 MiB of 100 KiB messages pushes the log start forward,
        // as retention does.
        let big = String(repeating: "r", count: 100 * 1024)
        try await TestEnvironment.produce(Array(repeating: big, count: 80), topic: "retained", partitions: 1, cluster: cluster)
        let admin = try KafkaAdminClient(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: TestEnvironment.logger)
        let marks = try await admin.watermarks(for: [TopicPartition(topic: "retained", partition: 0)]).values.first
        await admin.close()
        let low = try #require(marks?.low)
        try #require(low > 3, "the mock dropped old segments (log start \(low))")

        let group = TestEnvironment.freshGroup()
        let client = try await TestEnvironment.connect()
        defer { Task { await client.close() } }
        try await client.ensurePath("/consumers/\(group)/offsets/retained")
        try await client.create("/consumers/\(group)/offsets/retained/0", data: Array("3".utf8))

        let consumer = try await OffsetConsumer.start(
            TestEnvironment.configuration(group: group, topics: ["retained"], cluster: cluster),
            logger: TestEnvironment.logger
        )
        let start = try #require(consumer.startPositions.first)
        #expect(start.reason == .belowLogStart(stored: 3, skipped: low - 3, policy: .earliest))
        #expect(start.offset == low)
        #expect(try await client.getData("/consumers/\(group)/offsets/retained/0").string == "\(low)")
        let batch = try await TestEnvironment.consume(consumer, count: 1)
        #expect(batch.first?.offset == low)
        try await consumer.close()
    }

    @Test func unknownTopicsAndUnreachableServersFailClearlyAndInTime() async throws {
        let cluster = try MockKafkaCluster(logger: TestEnvironment.logger)
        defer { Task { await cluster.close() } }
        let unknown = await #expect(throws: OffsetError.self) {
            try await OffsetConsumer.start(
                TestEnvironment.configuration(group: TestEnvironment.freshGroup(), topics: ["nope"], cluster: cluster),
                logger: TestEnvironment.logger
            )
        }
        #expect(unknown?.code == .unknownTopic)
        #expect(unknown?.message.contains("nope") == true)

        var noZooKeeper = TestEnvironment.configuration(group: "g", topics: ["t"], cluster: cluster)
        noZooKeeper.zookeeper = ZooKeeperConfiguration(connectString: "127.0.0.1:1", connectTimeout: .seconds(2))
        let zkError = await #expect(throws: ZooKeeperError.self) {
            try await OffsetConsumer.start(noZooKeeper, logger: TestEnvironment.logger)
        }
        #expect(zkError?.code == .connectTimeout)

        try cluster.createTopic("t", partitions: 1)
        var noKafka = TestEnvironment.configuration(group: "g", topics: ["t"], cluster: cluster)
        noKafka.kafka = KafkaConfiguration(bootstrapServers: "127.0.0.1:1")
        noKafka.kafkaTimeout = .seconds(3)
        let kafkaError = await #expect(throws: KafkaError.self) {
            try await OffsetConsumer.start(noKafka, logger: TestEnvironment.logger)
        }
        #expect(kafkaError?.message.contains("127.0.0.1:1") == true)
    }

    @Test func anExpiredSessionIsReplacedAndCommitsGoOn() async throws {
        let cluster = try MockKafkaCluster(logger: TestEnvironment.logger)
        defer { Task { await cluster.close() } }
        try cluster.createTopic("expiring", partitions: 2)
        let group = TestEnvironment.freshGroup()
        try await TestEnvironment.produce(["a", "b"], topic: "expiring", partitions: 2, cluster: cluster)
        let consumer = try await OffsetConsumer.start(
            TestEnvironment.configuration(group: group, topics: ["expiring"], cluster: cluster),
            logger: TestEnvironment.logger
        )
        #expect(try await TestEnvironment.consume(consumer, count: 2).count == 2)

        // Expire the consumer's session for real (a second handle takes it over and closes it).
        let expired = consumer.zooKeeperClient
        let session = try #require(expired.session)
        let deadline = ContinuousClock.now + .seconds(40)
        while expired.state != .expired, ContinuousClock.now < deadline {
            if let intruder = try? await ZooKeeperClient.connect(
                ZooKeeperConfiguration(connectString: TestEnvironment.zooKeeper, session: session)
            ) {
                await intruder.close()
            }
            let attempt = ContinuousClock.now + .seconds(3)
            while expired.state != .expired, ContinuousClock.now < attempt { try await Task.sleep(for: .milliseconds(20)) }
        }
        try #require(expired.state == .expired)

        try await TestEnvironment.produce(["c", "d"], topic: "expiring", partitions: 2, cluster: cluster)
        let after = try await TestEnvironment.consume(consumer, count: 2)
        #expect(after.map(\.text).sorted() == ["c", "d"])
        #expect(consumer.zooKeeperClient !== expired, "a new session")
        try await consumer.close()
        let client = try await TestEnvironment.connect()
        defer { Task { await client.close() } }
        #expect(try await client.getData("/consumers/\(group)/offsets/expiring/0").string == "2")
        #expect(try await client.getData("/consumers/\(group)/offsets/expiring/1").string == "2")
    }
}
