import RdKafka
import Testing

@Suite("KafkaPartitionConsumer against the mock cluster", .timeLimit(.minutes(2)))
struct KafkaPartitionConsumerTests {
    @Test("reads every message of three partitions with exact offsets, keys and values")
    func readsEverything() async throws {
        let fixture = try await MockClusterFixture.start(perPartition: 100)
        let consumer = try KafkaPartitionConsumer(configuration: fixture.configuration, logger: fixture.logger)
        try consumer.assign(Dictionary(uniqueKeysWithValues: fixture.allPartitions.map { ($0, Int64(0)) }))

        let messages = try await consume(consumer) { $0.count >= 300 }

        #expect(messages.count == 300)
        for partition in 0..<fixture.partitions {
            #expect(messages.offsets(of: partition) == Array(0..<100))
        }
        for message in messages {
            let index = Int(message.offset)
            #expect(message.topic == fixture.topic)
            #expect(message.key.map(Array.init) == MockClusterFixture.key(message.partition, index))
            #expect(Array(message.value) == MockClusterFixture.value(message.partition, index))
            #expect(message.timestampMillis != nil)
        }
        await consumer.close()
        await fixture.close()
    }


    /// A consumer caught up at the log end waits in `nextBatch`; `wakeUp` from another task ends the wait long
    /// before its 10-minute poll timeout (the suite's 2-minute limit fails the test otherwise). A wake-up that
    /// comes before the poll starts waiting ends it too: librdkafka keeps the yield until the next poll.
    @Test func wakeUpEndsAWaitingPoll() async throws {
        let fixture = try await MockClusterFixture.start(perPartition: 1)
        let consumer = try KafkaPartitionConsumer(configuration: fixture.configuration, logger: fixture.logger)
        try consumer.assign(Dictionary(uniqueKeysWithValues: fixture.allPartitions.map { ($0, Int64(1)) }))
        let waker = Task { consumer.wakeUp() }
        let batch = try await consumer.nextBatch(timeout: .seconds(600))
        #expect(batch.isEmpty, "nothing past the log end to read")
        await waker.value
        await consumer.close()
        consumer.wakeUp()  // after close: does nothing
        await fixture.close()
    }
    @Test("starts mid-log exactly where told, per partition")
    func startsMidLog() async throws {
        let fixture = try await MockClusterFixture.start(perPartition: 100)
        let consumer = try KafkaPartitionConsumer(configuration: fixture.configuration, logger: fixture.logger)
        try consumer.assign([fixture.partition(0): 50, fixture.partition(1): 0, fixture.partition(2): 99])

        let messages = try await consume(consumer) { $0.count >= 151 }

        #expect(messages.offsets(of: 0) == Array(50..<100))
        #expect(messages.offsets(of: 1) == Array(0..<100))
        #expect(messages.offsets(of: 2) == [99])
        #expect(messages.first { $0.partition == 0 }.map { Array($0.value) } == MockClusterFixture.value(0, 50))
        await consumer.close()
        await fixture.close()
    }

    @Test("a start beyond the log end throws offsetOutOfRange naming the partition, despite a reset property")
    func outOfRangeStart() async throws {
        let fixture = try await MockClusterFixture.start(perPartition: 10)
        // auto.offset.reset is enforced to "error": this user value must be ignored.
        let configuration = KafkaConfiguration(
            bootstrapServers: fixture.cluster.bootstrapServers, properties: ["auto.offset.reset": "earliest"])
        let consumer = try KafkaPartitionConsumer(configuration: configuration, logger: fixture.logger)
        try consumer.assign([fixture.partition(1): 1_000])

        let error = try await firstError(consumer)

        let kafkaError = try #require(error as? KafkaError)
        #expect(kafkaError.code == .offsetOutOfRange)
        #expect(kafkaError.topic == fixture.topic)
        #expect(kafkaError.partition == 1)
        #expect(kafkaError.topicPartition == fixture.partition(1))
        await consumer.close()
        await fixture.close()
    }

    @Test("a negative start offset is refused before librdkafka sees it")
    func negativeStart() async throws {
        let fixture = try await MockClusterFixture.start(perPartition: 0)
        let consumer = try KafkaPartitionConsumer(configuration: fixture.configuration, logger: fixture.logger)
        #expect {
            try consumer.assign([fixture.partition(0): -1001])
        } throws: { error in
            (error as? KafkaError)?.code == .invalidArgument && (error as? KafkaError)?.partition == 0
        }
        await consumer.close()
        await fixture.close()
    }

    @Test("addPartitions adds a partition and keeps the others' positions")
    func addPartitions() async throws {
        let fixture = try await MockClusterFixture.start(perPartition: 100)
        let consumer = try KafkaPartitionConsumer(configuration: fixture.configuration, logger: fixture.logger)
        try consumer.assign([fixture.partition(0): 0])
        let before = try await consume(consumer) { $0.count >= 100 }
        #expect(before.offsets(of: 0) == Array(0..<100))

        try consumer.addPartitions([fixture.partition(2): 90])
        try await fixture.produce(range: 100..<110, partitionsTo: [0])
        let after = try await consume(consumer) { $0.offsets(of: 2).count >= 10 && $0.offsets(of: 0).count >= 10 }

        #expect(after.offsets(of: 2) == Array(90..<100))
        // Partition 0 went on from its position: no rewind to the original start, no gap.
        #expect(after.offsets(of: 0) == Array(100..<110))
        #expect(after.offsets(of: 1).isEmpty)
        await consumer.close()
        await fixture.close()
    }

    @Test("pause stops a partition, resume continues it from its position")
    func pauseAndResume() async throws {
        let fixture = try await MockClusterFixture.start(perPartition: 100)
        let consumer = try KafkaPartitionConsumer(configuration: fixture.configuration, logger: fixture.logger)
        try consumer.assign([fixture.partition(0): 0, fixture.partition(1): 0])
        try consumer.pause([fixture.partition(1)])

        let whilePaused = try await consume(consumer) { $0.offsets(of: 0).count >= 100 }
        #expect(whilePaused.offsets(of: 0) == Array(0..<100))
        #expect(whilePaused.offsets(of: 1).isEmpty)

        try consumer.resume([fixture.partition(1)])
        let afterResume = try await consume(consumer) { $0.offsets(of: 1).count >= 100 }
        #expect(afterResume.offsets(of: 1) == Array(0..<100))
        await consumer.close()
        await fixture.close()
    }

    @Test("pausing a partition that is not assigned throws naming it")
    func pauseUnassigned() async throws {
        let fixture = try await MockClusterFixture.start(perPartition: 0)
        let consumer = try KafkaPartitionConsumer(configuration: fixture.configuration, logger: fixture.logger)
        try consumer.assign([fixture.partition(0): 0])
        #expect {
            try consumer.pause([fixture.partition(2)])
        } throws: { error in
            (error as? KafkaError)?.partition == 2
        }
        await consumer.close()
        await fixture.close()
    }

    @Test("nextBatch returns an empty batch when nothing arrives, and .closed after close")
    func emptyThenClosed() async throws {
        let fixture = try await MockClusterFixture.start(perPartition: 0)
        let consumer = try KafkaPartitionConsumer(configuration: fixture.configuration, logger: fixture.logger)
        try consumer.assign([fixture.partition(0): 0])
        let batch = try await consumer.nextBatch(timeout: .milliseconds(50))
        #expect(batch.isEmpty)

        await consumer.close()
        await #expect {
            _ = try await consumer.nextBatch()
        } throws: { error in
            (error as? KafkaError)?.code == .closed
        }
        #expect(throws: KafkaError.self) { try consumer.assign([fixture.partition(0): 0]) }
        await consumer.close()  // idempotent
        await fixture.close()
    }
}
