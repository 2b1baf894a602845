import Testing
import ZKOffsets

/// Tables worked out by hand from Kafka 0.8.2's `RangeAssignor` and `RoundRobinAssignor` (PartitionAssignor.scala).
@Suite("Kafka 0.8.2's assignors")
struct PartitionAssignorTests {
    private func member(_ id: String, _ subscription: [String: Int]) -> GroupMember {
        GroupMember(consumerID: id, subscription: subscription)
    }

    private func owners(
        _ strategy: AssignmentStrategy, _ members: [GroupMember], _ partitions: [String: [Int32]]
    ) throws -> [String: [String]] {
        var table: [String: [String]] = [:]
        for (partition, thread) in try PartitionAssignor.assign(strategy, members: members, partitions: partitions) {
            table[thread, default: []].append(partition.description)
        }
        return table.mapValues { $0.sorted() }
    }

    @Test func rangeGivesTheFirstThreadsOneMore() throws {
        // 10 partitions over 3 threads: 10 / 3 = 3 each, the first 10 % 3 = 1 thread one more.
        let table = try owners(
            .range, [member("c2", ["t": 1]), member("c1", ["t": 1]), member("c3", ["t": 1])],
            ["t": Array(0..<10)])
        #expect(table["c1-0"] == ["t-0", "t-1", "t-2", "t-3"])
        #expect(table["c2-0"] == ["t-4", "t-5", "t-6"])
        #expect(table["c3-0"] == ["t-7", "t-8", "t-9"])
    }

    @Test func threadIdsSortAsStringsNotNumbers() throws {
        // "g_host-10-0" < "g_host-9-0" as strings ('1' < '9'), although 10 > 9.
        let table = try owners(
            .range, [member("g_host-9", ["t": 1]), member("g_host-10", ["t": 1])], ["t": [2, 0, 1]])
        #expect(table["g_host-10-0"] == ["t-0", "t-1"])
        #expect(table["g_host-9-0"] == ["t-2"])
    }

    @Test func fewerPartitionsThanMembersLeavesTheLastIdle() throws {
        let table = try owners(
            .range, [member("a", ["t": 1]), member("b", ["t": 1]), member("c", ["t": 1])], ["t": [0, 1]])
        #expect(table["a-0"] == ["t-0"])
        #expect(table["b-0"] == ["t-1"])
        #expect(table["c-0"] == nil)
        #expect(try PartitionAssignor.partitions(
            of: "c", .range, members: [member("a", ["t": 1]), member("b", ["t": 1]), member("c", ["t": 1])],
            partitions: ["t": [0, 1]]).isEmpty)
    }

    @Test func aJavaMemberWithTwoThreadsCountsTwice() throws {
        // Threads j-0, j-1, z-0 over 5 partitions: 1 each, the first 2 threads one more.
        let members = [member("j", ["t": 2]), member("z", ["t": 1])]
        let table = try owners(.range, members, ["t": Array(0..<5)])
        #expect(table["j-0"] == ["t-0", "t-1"])
        #expect(table["j-1"] == ["t-2", "t-3"])
        #expect(table["z-0"] == ["t-4"])
        #expect(try PartitionAssignor.partitions(of: "j", .range, members: members, partitions: ["t": Array(0..<5)])
            == Set((0..<4).map { TopicPartition(topic: "t", partition: $0) }))
    }

    @Test func rangeIsPerTopicOverTheMembersSubscribedToIt() throws {
        let table = try owners(
            .range, [member("a", ["t1": 1, "t2": 1]), member("b", ["t2": 1])], ["t1": [0, 1], "t2": [0, 1]])
        #expect(table["a-0"] == ["t1-0", "t1-1", "t2-0"])
        #expect(table["b-0"] == ["t2-1"])
    }

    @Test func aConsumerIdThatPrefixesAnotherGetsOnlyItsOwn() throws {
        // "g_h-1" is a prefix of "g_h-1-2"'s thread ids: only "<id>-<digits>" threads are ours.
        let members = [member("g_h-1", ["t": 1]), member("g_h-1-2", ["t": 1])]
        let mine = try PartitionAssignor.partitions(of: "g_h-1", .range, members: members, partitions: ["t": [0, 1]])
        #expect(mine == [TopicPartition(topic: "t", partition: 0)])
    }

    @Test func roundRobinDealsPartitionsInJavaHashCodeOrder() throws {
        // hashCode("[orders,0]") = -1093576615 < [orders,1] < [orders,2] < [clicks,0] = 1627908499 < ...
        let members = [member("m2", ["orders": 1, "clicks": 1]), member("m1", ["orders": 1, "clicks": 1])]
        let table = try owners(.roundRobin, members, ["orders": [0, 1, 2], "clicks": [0, 1, 2]])
        #expect(table["m1-0"] == ["clicks-1", "orders-0", "orders-2"])
        #expect(table["m2-0"] == ["clicks-0", "clicks-2", "orders-1"])
    }

    @Test func roundRobinRefusesDifferentSubscriptions() throws {
        let error = #expect(throws: OffsetError.self) {
            try PartitionAssignor.assign(
                .roundRobin, members: [member("a", ["t1": 1, "t2": 1]), member("b", ["t2": 1])],
                partitions: ["t1": [0], "t2": [0]])
        }
        #expect(error?.code == .incompatibleMembers)
    }

    @Test func registrationsParseAsKafkaWroteThem() throws {
        let java = try GroupMember(
            consumerID: "g_host-1",
            registration: Array(#"{"version":1,"subscription":{"orders":2},"pattern":"static","timestamp":"1700000000000"}"#.utf8))
        #expect(java == GroupMember(consumerID: "g_host-1", subscription: ["orders": 2], timestampMillis: 1_700_000_000_000))
        let ours = try GroupMember(
            consumerID: "x", registration: GroupMember.registration(topics: ["b", "a"], timestampMillis: 5))
        #expect(ours.subscription == ["a": 1, "b": 1] && ours.pattern == "static" && ours.timestampMillis == 5)
        let wildcard = try GroupMember(
            consumerID: "w", registration: Array(#"{"version":1,"subscription":{"ord.*,clicks":1},"pattern":"white_list"}"#.utf8))
        #expect(wildcard.threads(for: "orders") == 1 && wildcard.threads(for: "clicks") == 1)
        #expect(wildcard.threads(for: "xorders") == 0)
        for bad in ["", "[]", #"{"version":1}"#, #"{"subscription":{"t":0}}"#, #"{"subscription":{"t":1},"pattern":"x"}"#] {
            let error = #expect(throws: OffsetError.self) { try GroupMember(consumerID: "bad", registration: Array(bad.utf8)) }
            #expect(error?.code == .malformedRegistration && error?.message.contains("consumer bad") == true)
        }
    }
}
