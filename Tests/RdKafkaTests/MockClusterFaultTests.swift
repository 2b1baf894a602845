import RdKafka
import Testing

/// The mock cluster's fault controls, and how the thin layer answers them: retryable answers are retried (by
/// librdkafka for Fetch, by the admin client for ListOffsets), never handed to the caller as failures.
@Suite("Mock cluster faults", .timeLimit(.minutes(2)))
struct MockClusterFaultTests {
    @Test("Fetch requests that time out, disconnect or miss the leader lose and repeat nothing")
    func failingFetchesAreRetried() async throws {
        let fixture = try await MockClusterFixture.start(perPartition: 100)
        let consumer = try KafkaPartitionConsumer(configuration: fixture.configuration, logger: fixture.logger)
        try fixture.cluster.failNextRequests(
            .fetch, with: [.requestTimedOut, .disconnect, .notLeaderForPartition, .leaderNotAvailable, .requestTimedOut])
        try consumer.assign(Dictionary(uniqueKeysWithValues: fixture.allPartitions.map { ($0, Int64(0)) }))

        // Throws if a failed Fetch reached the caller.
        let messages = try await consume(consumer) { $0.count >= 300 }

        #expect(messages.count == 300)
        for partition in 0..<fixture.partitions {
            #expect(messages.offsets(of: partition) == Array(0..<100))
        }
        await consumer.close()
        await fixture.close()
    }

    @Test("watermarks ask again after NOT_LEADER, a disconnect and a timeout")
    func watermarksRetryRetryableAnswers() async throws {
        let fixture = try await MockClusterFixture.start(perPartition: 10)
        let admin = try KafkaAdminClient(configuration: fixture.configuration, logger: fixture.logger)
        try fixture.cluster.failNextRequests(.listOffsets, with: [.notLeaderForPartition, .disconnect, .requestTimedOut])
        let marks = try await admin.watermarks(for: fixture.allPartitions)
        #expect(marks.values.allSatisfy { $0.low == 0 && $0.high == 10 })
        await admin.close()
        await fixture.close()
    }

    @Test("a broker down and up, and leaders moved to any broker; unknown brokers are refused")
    func brokersAndLeaders() async throws {
        let cluster = try MockKafkaCluster(brokers: 3, logger: testLogger())
        #expect(cluster.brokerCount == 3)
        try cluster.createTopic("moving", partitions: 2)
        let partition = TopicPartition(topic: "moving", partition: 0)
        for broker in Int32(1)...3 { try cluster.setLeader(of: partition, to: broker) }
        try cluster.setBrokerDown(2)
        try cluster.setBrokerUp(2)
        #expect(throws: KafkaError.self) { try cluster.setLeader(of: partition, to: 4) }
        #expect(throws: KafkaError.self) { try cluster.setBrokerDown(9) }
        await cluster.close()
        #expect(throws: KafkaError.self) { try cluster.setBrokerUp(1) }
    }

    @Test("a topic made to look deleted is unknown to metadata, named in the error")
    func aTopicThatLooksDeleted() async throws {
        let fixture = try await MockClusterFixture.start(perPartition: 1)
        let admin = try KafkaAdminClient(configuration: fixture.configuration, logger: fixture.logger)
        try fixture.cluster.makeTopicLookDeleted(fixture.topic, fetchErrors: 0)
        let error = await #expect(throws: KafkaError.self) { try await admin.topics([fixture.topic]) }
        #expect(error?.code == .unknownTopicOrPartition)
        #expect(error?.topic == fixture.topic)
        await admin.close()
        await fixture.close()
    }
}
