/// A consumer group's offsets as the brokers store them (Kafka's group offsets for the same group id), read and
/// committed without joining a broker-side group.
///
/// Commits are OffsetCommit requests with generation -1 and no member id, as Kafka's "simple" consumers send
/// them; brokers (and librdkafka's mock cluster) accept those for a group with no broker-side members, and
/// refuse them while the group has active broker-side members (librdkafka 2.0.2's mock kept answering
/// "Unknown member" after a kcat group consumer of the same id had exited). Values are "next offset to consume",
/// the same meaning as the ZooKeeper znodes, so nothing is shifted.
///
/// Every failure is thrown as `KafkaOffsetStoreError` naming the group and partitions; nothing is retried or
/// swallowed here (the caller owns the retry policy). The admin client is borrowed: the caller closes it.
public struct KafkaOffsetStore: Sendable {
    /// The group id whose offsets this store reads and commits.
    public let group: String
    private let admin: KafkaAdminClient
    private let timeout: Duration

    /// A store for `group` (validated as a ZooKeeper group name, so both stores accept the same ids) that sends
    /// its requests through `admin`, each ending within `timeout`.
    public init(group: String, admin: KafkaAdminClient, timeout: Duration = .seconds(10)) throws {
        try OffsetLayout.validateGroup(group)
        self.group = group
        self.admin = admin
        self.timeout = timeout
    }

    /// The group's committed offsets for `partitions`; a partition with no committed offset is absent.
    public func read(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
        guard !partitions.isEmpty else { return [:] }
        do {
            let offsets = try await admin.committedOffsets(group: group, partitions: partitions, timeout: timeout)
            let asked = Set(partitions)
            return offsets.filter { asked.contains($0.key) }
        } catch let error as KafkaError {
            throw KafkaOffsetStoreError(operation: .read, group: group, partitions: partitions, underlying: error)
        }
    }

    /// Commits `offsets` (next offsets to consume, each >= 0) for the group in one request: when it returns,
    /// the brokers stored every one. When it throws, nothing of it may be reported as committed (a broker can
    /// refuse some partitions of a request and store the others; the error names the first refused one).
    public func commit(_ offsets: [TopicPartition: Int64]) async throws {
        guard !offsets.isEmpty else { return }
        do {
            try await admin.commitOffsets(group: group, offsets: offsets, timeout: timeout)
        } catch let error as KafkaError {
            let partitions = error.topicPartition.map { [$0] } ?? Array(offsets.keys)
            throw KafkaOffsetStoreError(operation: .commit, group: group, partitions: partitions, underlying: error)
        }
    }
}
