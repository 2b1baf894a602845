import Foundation
import Testing
import ZKOffsets
import ZKOffsetsTool

/// `KafkaOffsetStore` against the mock cluster; what it committed is read back by other clients: librdkafka's
/// OffsetFetch admin call (ListConsumerGroupOffsets, not the AlterConsumerGroupOffsets that wrote) and kcat.
@Suite(.serialized) struct KafkaOffsetStoreTests {
    @Test func commitsWithoutJoiningAndOtherClientsSeeTheOffsets() async throws {
        try await withOperationsFixture(topics: [("events", 3, 20)]) { fx in
            let group = fx.group()
            let store = try KafkaOffsetStore(group: group, admin: fx.admin)
            let partitions = (0..<3).map { TopicPartition(topic: "events", partition: $0) }
            #expect(try await store.read(partitions).isEmpty, "a new group has no Kafka offsets")

            try await store.commit([partitions[0]: 5, partitions[2]: 17])
            let fetched = try await fx.admin.committedOffsets(group: group, partitions: partitions)
            #expect(fetched == [partitions[0]: 5, partitions[2]: 17])
            #expect(try await store.read(partitions) == fetched)
            #expect(try await store.read([partitions[1]]).isEmpty)

            try await store.commit([partitions[0]: 7])
            #expect(try await store.read(partitions) == [partitions[0]: 7, partitions[2]: 17])

            // kcat, a group consumer of its own, starts at the committed offsets (and at the end for partition 1,
            // where auto.offset.reset=latest applies: it reads nothing there). Last: once kcat joined a broker-side
            // group of this id, the mock refuses generation -1 commits ("Unknown member") for a while.
            let first = try await KcatGroupReader.firstOffsets(
                bootstrap: fx.kafka.bootstrapServers, group: group, topic: "events", reset: "latest")
            #expect(first == [0: 7, 2: 17])
        }
    }

    @Test func failuresNameTheGroupAndPartitions() async throws {
        try await withOperationsFixture(topics: [("events", 2, 5)]) { fx in
            let group = fx.group()
            let store = try KafkaOffsetStore(group: group, admin: fx.admin)
            let partition = TopicPartition(topic: "events", partition: 1)
            let negative = await #expect(throws: KafkaOffsetStoreError.self) { try await store.commit([partition: -3]) }
            #expect(negative?.operation == .commit && negative?.underlying.code == .invalidArgument)
            #expect(negative?.description.contains("group '\(group)'") == true)
            #expect(negative?.description.contains("events-1") == true)
            #expect(throws: OffsetError.self) { try KafkaOffsetStore(group: "a/b", admin: fx.admin) }

            let closed = try KafkaAdminClient(
                configuration: KafkaConfiguration(bootstrapServers: fx.kafka.bootstrapServers), logger: fx.logger)
            await closed.close()
            let closedStore = try KafkaOffsetStore(group: group, admin: closed)
            let read = await #expect(throws: KafkaOffsetStoreError.self) { try await closedStore.read([partition]) }
            #expect(read?.operation == .read && read?.underlying.code == .closed && read?.partitions == [partition])
            let commit = await #expect(throws: KafkaOffsetStoreError.self) {
                try await closedStore.commit([partition: 1])
            }
            #expect(commit?.operation == .commit && commit?.group == group)
        }
    }

    @Test func offsetStorageSpellsKafka082sChoicesAndMigrateRefusesDual() async throws {
        #expect(OffsetStorage.allCases.map(\.rawValue) == ["zookeeper", "dual", "kafka"])
        let configuration = ConsumerConfiguration(
            group: "g", topics: ["t"], zookeeper: ZooKeeperConfiguration(connectString: "127.0.0.1:1"),
            kafka: KafkaConfiguration(bootstrapServers: "127.0.0.1:1"))
        #expect(configuration.offsetStorage == .zookeeper)
        try await withOperationsFixture(topics: [("events", 1, 1)]) { fx in
            await #expect(throws: OffsetError.self) {
                try await Migration.plan(
                    inventory: fx.inventory, admin: fx.admin, groups: [fx.group()], from: .zookeeper, to: .dual)
            }
        }
    }
}
