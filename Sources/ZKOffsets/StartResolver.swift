import BlockingCalls
import Logging

/// Finds a group's partitions on the brokers and decides, records and fences where each starts: the start-up
/// work of an `OffsetConsumer`, also used when partitions appear later.
struct StartResolver: Sendable {
    let configuration: ConsumerConfiguration
    let admin: KafkaAdminClient
    let membership: GroupMembership?
    let logger: Logger

    /// Every partition of the subscribed topics; unknown topics and unreachable brokers fail clearly.
    func subscribedPartitions() async throws -> [TopicPartition] {
        let metadata: [TopicMetadata]
        do {
            metadata = try await admin.topics(configuration.topics, timeout: configuration.kafkaTimeout)
        } catch let error as KafkaError where error.code == .unknownTopicOrPartition {
            throw OffsetError(.unknownTopic, "\(error.message) (bootstrap servers \(configuration.kafka.bootstrapServers))")
        } catch let error as KafkaError where error.code == .timedOut || error.code == .transport {
            throw KafkaError(
                code: error.code,
                message: "Kafka at \(configuration.kafka.bootstrapServers) did not answer within "
                    + "\(configuration.kafkaTimeout): \(error.message)"
            )
        }
        return metadata.flatMap(\.topicPartitions).sorted()
    }

    /// Resolves the start of `partitions` and writes the starts that changed (missing or out of range) to the
    /// offset storage in one commit, so that tools see every partition before any message is handed out.
    func resolveAndRecord(_ partitions: [TopicPartition], store: GroupOffsetStores) async throws -> [StartPosition] {
        let stored = try await store.read(partitions)
        let watermarks = try await admin.watermarks(for: partitions, timeout: configuration.kafkaTimeout)
        let starts = try StartPosition.resolve(
            partitions: partitions, stored: stored, watermarks: watermarks, policy: configuration.resetPolicy,
            resetAboveLogEnd: configuration.resetAboveLogEnd
        )
        for start in starts {
            switch start.reason {
            case .stored: continue
            case .noStoredOffset: logger.info("\(start)")
            default: logger.info("\(start)")
            }
        }
        let writes = starts.filter(\.needsWrite)
        if !writes.isEmpty {
            try await store.commit(
                Dictionary(uniqueKeysWithValues: writes.map { ($0.partition, $0.offset) }),
                fencing: fencing(writes.map(\.partition))
            )
        }
        return starts
    }

    /// The owner-znode checks that fence commits of `partitions` (none when not joining the group).
    func fencing(_ partitions: some Sequence<TopicPartition>) -> [TopicPartition: ZooKeeperOperation] {
        guard let membership else { return [:] }
        return Dictionary(uniqueKeysWithValues: partitions.map { ($0, membership.fencing($0)) })
    }
}
