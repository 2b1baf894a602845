import RdKafka
import Testing

@Suite("KafkaAdminClient against the mock cluster", .timeLimit(.minutes(2)))
struct KafkaAdminClientTests {
    @Test("lists topics with their partitions")
    func topics() async throws {
        let fixture = try await MockClusterFixture.start(perPartition: 0)
        try fixture.cluster.createTopic("other", partitions: 2)
        let admin = try KafkaAdminClient(configuration: fixture.configuration, logger: fixture.logger)

        let all = try await admin.topics()
        #expect(all.map(\.name) == ["events", "other"])
        let named = try await admin.topics(["other"])
        #expect(named == [TopicMetadata(name: "other", partitions: [0, 1])])
        #expect(named[0].topicPartitions.map(\.description) == ["other-0", "other-1"])
        await admin.close()
        await fixture.close()
    }

    @Test("an unknown topic throws unknownTopicOrPartition naming it, and is not auto-created")
    func unknownTopic() async throws {
        let fixture = try await MockClusterFixture.start(perPartition: 0)
        let admin = try KafkaAdminClient(configuration: fixture.configuration, logger: fixture.logger)

        await #expect {
            _ = try await admin.topics(["missing"])
        } throws: { error in
            (error as? KafkaError)?.code == .unknownTopicOrPartition && (error as? KafkaError)?.topic == "missing"
        }
        await #expect {
            _ = try await admin.watermarks(for: [TopicPartition(topic: "missing", partition: 0)])
        } throws: { error in
            (error as? KafkaError)?.code == .unknownTopicOrPartition && (error as? KafkaError)?.topic == "missing"
        }
        await #expect {
            _ = try await admin.watermarks(for: [fixture.partition(7)])
        } throws: { error in
            (error as? KafkaError)?.code == .unknownTopicOrPartition && (error as? KafkaError)?.partition == 7
        }
        #expect(try await admin.topics().map(\.name) == ["events"])
        await admin.close()
        await fixture.close()
    }

    @Test("watermarks after producing are the log start and the log end")
    func watermarks() async throws {
        let fixture = try await MockClusterFixture.start(perPartition: 25)
        try await fixture.produce(range: 25..<30, partitionsTo: [1])
        let admin = try KafkaAdminClient(configuration: fixture.configuration, logger: fixture.logger)

        let marks = try await admin.watermarks(for: fixture.allPartitions)

        #expect(marks[fixture.partition(0)] == Watermarks(low: 0, high: 25))
        #expect(marks[fixture.partition(1)] == Watermarks(low: 0, high: 30))
        #expect(marks[fixture.partition(2)] == Watermarks(low: 0, high: 25))
        #expect(try await admin.watermarks(for: []).isEmpty)
        await admin.close()
        await fixture.close()
    }

    @Test("watermarks of many partitions in one call")
    func manyWatermarks() async throws {
        let fixture = try await MockClusterFixture.start(topic: "wide", partitions: 200, perPartition: 0)
        let admin = try KafkaAdminClient(configuration: fixture.configuration, logger: fixture.logger)

        let marks = try await admin.watermarks(for: fixture.allPartitions)

        #expect(marks.count == 200)
        #expect(marks.values.allSatisfy { $0 == Watermarks(low: 0, high: 0) })
        await admin.close()
        await fixture.close()
    }

    @Test("offsets for a timestamp later than every message are the log end")
    func offsetsForTimestamp() async throws {
        // The mock cluster does not implement timestamp lookups (it answers "none"), so only the
        // "no message that recent" case can be checked here.
        let fixture = try await MockClusterFixture.start(perPartition: 20)
        let admin = try KafkaAdminClient(configuration: fixture.configuration, logger: fixture.logger)

        let future: Int64 = 4_102_444_800_000  // 2100-01-01
        let offsets = try await admin.offsets(forTimestamp: future, partitions: fixture.allPartitions)

        #expect(offsets == Dictionary(uniqueKeysWithValues: fixture.allPartitions.map { ($0, Int64(20)) }))
        await admin.close()
        await fixture.close()
    }

    @Test("commitOffsets then committedOffsets returns exactly the values stored, absent where none")
    func groupOffsetsRoundTrip() async throws {
        let fixture = try await MockClusterFixture.start(perPartition: 50)
        let admin = try KafkaAdminClient(configuration: fixture.configuration, logger: fixture.logger)

        #expect(try await admin.committedOffsets(group: "billing", partitions: fixture.allPartitions).isEmpty)
        try await admin.commitOffsets(group: "billing", offsets: [fixture.partition(0): 42, fixture.partition(2): 0])
        let stored = try await admin.committedOffsets(group: "billing", partitions: fixture.allPartitions)
        #expect(stored == [fixture.partition(0): 42, fixture.partition(2): 0])

        try await admin.commitOffsets(group: "billing", offsets: [fixture.partition(0): 50])
        let updated = try await admin.committedOffsets(group: "billing", partitions: [fixture.partition(0)])
        #expect(updated == [fixture.partition(0): 50])
        // Another group sees none of it.
        #expect(try await admin.committedOffsets(group: "audit", partitions: fixture.allPartitions).isEmpty)
        await admin.close()
        await fixture.close()
    }

    @Test("negative offsets and empty group ids are refused")
    func invalidArguments() async throws {
        let fixture = try await MockClusterFixture.start(perPartition: 0)
        let admin = try KafkaAdminClient(configuration: fixture.configuration, logger: fixture.logger)
        await #expect {
            try await admin.commitOffsets(group: "g", offsets: [fixture.partition(0): -1])
        } throws: { ($0 as? KafkaError)?.code == .invalidArgument }
        await #expect {
            _ = try await admin.committedOffsets(group: "", partitions: fixture.allPartitions)
        } throws: { ($0 as? KafkaError)?.code == .invalidArgument }
        await admin.close()
        await fixture.close()
    }

    @Test("groupMembers reports unsupportedFeature on the mock cluster, which lacks ListGroups")
    func groupMembersOnMock() async throws {
        let fixture = try await MockClusterFixture.start(perPartition: 0)
        let admin = try KafkaAdminClient(configuration: fixture.configuration, logger: fixture.logger)
        await #expect {
            _ = try await admin.groupMembers(group: "billing", timeout: .seconds(5))
        } throws: { ($0 as? KafkaError)?.code == .unsupportedFeature }
        await admin.close()
        await fixture.close()
    }

    @Test("calls after close throw .closed")
    func closed() async throws {
        let fixture = try await MockClusterFixture.start(perPartition: 0)
        let admin = try KafkaAdminClient(configuration: fixture.configuration, logger: fixture.logger)
        await admin.close()
        await #expect { _ = try await admin.topics() } throws: { ($0 as? KafkaError)?.code == .closed }
        await admin.close()
        await fixture.close()
    }
}
