import Foundation
import Testing
import ZKOffsets
import ZKOffsetsTool

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

    @Test func aSecondMemberTakesItsRangeShareAndAGracefulLeaveHandsItBack() async throws {
        let cluster = try MockKafkaCluster(logger: TestEnvironment.logger)
        defer { Task { await cluster.close() } }
        try cluster.createTopic("shared", partitions: 4)
        try await TestEnvironment.produce((0..<40).map { "m\($0)" }, topic: "shared", partitions: 4, cluster: cluster)
        let group = TestEnvironment.freshGroup()
        let configuration = TestEnvironment.configuration(group: group, topics: ["shared"], cluster: cluster)
        let first = try await OffsetConsumer.start(configuration, logger: TestEnvironment.logger)
        #expect(first.assignment.count == 4)
        // The first member reads and commits 10 messages of each partition.
        let firstMessages = try await TestEnvironment.consume(first, count: 40)
        #expect(firstMessages.count == 40)

        let second = try await OffsetConsumer.start(configuration, logger: TestEnvironment.logger)
        let ids = [first.membership!.consumerID, second.membership!.consumerID].sorted()
        let expectedSecond = second.membership!.consumerID == ids[0] ? [0, 1] : [2, 3]
        // The first gives up its share at its next batch; the second claims it the moment the owners go.
        try await eventually("the partitions split per range") {
            _ = try await first.nextBatch()
            _ = try await second.nextBatch()
            return second.assignment.map(\.partition) == expectedSecond.map(Int32.init) && first.assignment.count == 2
        }
        let client = try await TestEnvironment.connect()
        defer { Task { await client.close() } }
        for partition in expectedSecond {
            let owner = try await client.getData("/consumers/\(group)/owners/shared/\(partition)")
            #expect(owner.string == "\(second.membership!.consumerID)-0")
            #expect(try await client.getData("/consumers/\(group)/offsets/shared/\(partition)").string == "10")
        }
        #expect(second.startPositions.allSatisfy { $0.offset == 10 }, "starts exactly at the committed offsets")
        // Operators see both members, their hosts and their shares.
        let description = try await GroupDescription.read(
            inventory: GroupInventory(client: client), admin: nil, group: group)
        #expect(description.memberDetails.map(\.consumerID) == ids)
        #expect(description.memberDetails.allSatisfy { $0.ownedPartitions == 2 && $0.subscription == ["shared": 1] })
        #expect(description.memberDetails.allSatisfy { $0.host != nil && !$0.host!.isEmpty })
        #expect(Set(description.partitions.compactMap(\.consumerID)) == Set(ids))

        // New messages: each goes to exactly one member.
        try await TestEnvironment.produce((0..<8).map { "n\($0)" }, topic: "shared", partitions: 4, cluster: cluster)
        var seen: [String] = []
        try await eventually("the 8 new messages arrive once each") {
            for consumer in [first, second] {
                if let batch = try await consumer.nextBatch() {
                    seen += batch.map(\.text)
                    consumer.markProcessed(batch)
                    try await consumer.commit()
                }
            }
            return seen.count >= 8
        }
        #expect(seen.sorted() == (0..<8).map { "n\($0)" }.sorted())

        // A graceful leave hands the partitions back with their offsets, at once.
        try await first.close()
        try await eventually("the second owns all four") {
            _ = try await second.nextBatch()
            return second.assignment.count == 4
        }
        let handedBack = second.startPositions.filter { !expectedSecond.contains(Int($0.partition.partition)) }
        #expect(handedBack.count == 2 && handedBack.allSatisfy { $0.offset == 12 }, "10 + 2 new messages each")
        try await second.close()
        #expect(try await client.children("/consumers/\(group)/ids").names.isEmpty)
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
