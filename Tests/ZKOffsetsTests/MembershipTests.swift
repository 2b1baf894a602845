import Foundation
import Testing
import ZKOffsets

@Suite("Group membership and fencing", .serialized, .timeLimit(.minutes(1)))
struct MembershipTests {
    @Test func aRunningConsumerIsRegisteredAndOwnsItsPartitionsAsKafka08Did() async throws {
        let cluster = try MockKafkaCluster(logger: TestEnvironment.logger)
        defer { Task { await cluster.close() } }
        try cluster.createTopic("members", partitions: 3)
        let group = TestEnvironment.freshGroup()
        let consumer = try await OffsetConsumer.start(
            TestEnvironment.configuration(group: group, topics: ["members"], cluster: cluster), logger: TestEnvironment.logger
        )
        let consumerID = try #require(consumer.membership?.consumerID)
        #expect(consumerID.hasPrefix("\(group)_"))
        let client = try await TestEnvironment.connect()
        defer { Task { await client.close() } }

        let registration = try await client.getData("/consumers/\(group)/ids/\(consumerID)")
        #expect(registration.stat.ephemeralOwner == consumer.zooKeeperClient.sessionID)
        let json = try #require(registration.string)
        #expect(json.hasPrefix(#"{"version":1,"subscription":{"members":1},"pattern":"static","timestamp":""#))
        for partition in 0..<3 {
            let owner = try await client.getData("/consumers/\(group)/owners/members/\(partition)")
            #expect(owner.string == "\(consumerID)-0")
            #expect(owner.stat.ephemeralOwner == consumer.zooKeeperClient.sessionID)
        }
        #expect(try await client.exists("/consumers/\(group)/owners/members")?.ephemeralOwner == 0, "persistent parent")

        try await consumer.close()
        #expect(try await client.children("/consumers/\(group)/ids").names.isEmpty)
        #expect(try await client.children("/consumers/\(group)/owners/members").names.isEmpty)
    }

    @Test func aSecondConsumerOfTheSameGroupIsRefusedNamingTheOwner() async throws {
        let cluster = try MockKafkaCluster(logger: TestEnvironment.logger)
        defer { Task { await cluster.close() } }
        try cluster.createTopic("contended", partitions: 2)
        let group = TestEnvironment.freshGroup()
        let first = try await OffsetConsumer.start(
            TestEnvironment.configuration(group: group, topics: ["contended"], cluster: cluster), logger: TestEnvironment.logger
        )
        var second = TestEnvironment.configuration(group: group, topics: ["contended"], cluster: cluster)
        second.ownershipPatience = .milliseconds(500)
        let error = await #expect(throws: OffsetError.self) {
            try await OffsetConsumer.start(second, logger: TestEnvironment.logger)
        }
        #expect(error?.code == .partitionOwned)
        #expect(error?.message.contains("contended-0 (owned by \(first.membership!.consumerID)-0)") == true)
        try await first.close()

        // Once the first is gone, the second takes over.
        let successor = try await OffsetConsumer.start(second, logger: TestEnvironment.logger)
        #expect(successor.assignment.count == 2)
        try await successor.close()
    }

    @Test func aConsumerThatLostItsPartitionCannotMoveItsOffset() async throws {
        let cluster = try MockKafkaCluster(logger: TestEnvironment.logger)
        defer { Task { await cluster.close() } }
        try cluster.createTopic("fenced", partitions: 2)
        try await TestEnvironment.produce(["a", "b", "c", "d"], topic: "fenced", partitions: 2, cluster: cluster)
        let group = TestEnvironment.freshGroup()
        let consumer = try await OffsetConsumer.start(
            TestEnvironment.configuration(group: group, topics: ["fenced"], cluster: cluster, commitInterval: nil),
            logger: TestEnvironment.logger
        )
        var received: [KafkaMessage] = []
        while received.count < 4, let batch = try await consumer.nextBatch() { received += batch }
        consumer.markProcessed(received)

        // Partition 1 is taken away (an operator, or a rebalance by another consumer).
        let client = try await TestEnvironment.connect()
        defer { Task { await client.close() } }
        try await client.delete("/consumers/\(group)/owners/fenced/1")
        let error = await #expect(throws: OffsetError.self) { try await consumer.commit() }
        #expect(error?.code == .fenced)
        #expect(error?.path == "/consumers/\(group)/owners/fenced/1")
        for partition in 0..<2 {
            #expect(try await client.getData("/consumers/\(group)/offsets/fenced/\(partition)").string == "0",
                    "nothing of the transaction applied")
        }
        try? await consumer.close()
    }
}
