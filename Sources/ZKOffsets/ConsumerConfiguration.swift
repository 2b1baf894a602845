/// Everything an `OffsetConsumer` needs: the group, its topics, where ZooKeeper and Kafka are, and the policies.
public struct ConsumerConfiguration: Sendable {
    /// The consumer group whose offsets live under `/consumers/<group>`.
    public var group: String
    /// The topics to consume, all their partitions (partitions added later are picked up by the metadata refresh).
    public var topics: [String]
    /// The ZooKeeper ensemble (connect string with optional chroot, session timeout, credentials).
    public var zookeeper: ZooKeeperConfiguration
    /// The Kafka cluster and any librdkafka property (`-X key=value`).
    public var kafka: KafkaConfiguration
    /// Where partitions without a usable stored offset start.
    public var resetPolicy: ResetPolicy
    /// Reset a stored offset above the log end to the reset policy instead of failing. Off by default: such an
    /// offset means the topic was truncated or re-created, and someone should look.
    public var resetAboveLogEnd: Bool
    /// Commit processed offsets this often (checked each time a batch is asked for); nil: only explicit commits.
    public var commitInterval: Duration?
    /// Look for new partitions of the subscribed topics, and for subscribed topics that no longer exist (the
    /// consumer then stops with `unknownTopic`), this often.
    public var metadataRefreshInterval: Duration
    /// At most this many messages per batch (5,000 by default: a batch is about the read-ahead librdkafka keeps,
    /// and two of them in memory, the one in hand and the next, stay small).
    public var maxBatchSize: Int
    /// How long `nextBatch` waits for messages before it returns an empty batch.
    public var pollTimeout: Duration
    /// Deadline of each start-up request to Kafka (metadata, watermarks): an unreachable cluster fails by then.
    public var kafkaTimeout: Duration
    /// Register in the group (`ids`), share its partitions with the other members and own them (`owners`) as
    /// Kafka 0.8's consumer did, and fence every commit with the owner znodes. On by default; off only for tools
    /// that must not appear as members (they then read every partition).
    public var joinsGroup: Bool
    /// How the group's partitions are split among its members (Kafka 0.8.2's `partition.assignment.strategy`):
    /// `.range` (Kafka's default) or `.roundRobin`. Every member of a group must use the same.
    public var assignmentStrategy: AssignmentStrategy
    /// How often a member checks the group even without a watch event (an owner that never went away, an event
    /// lost with a connection): the audit that catches orphans.
    public var auditInterval: Duration
    /// Where committed offsets are kept: ZooKeeper (the default), Kafka's group offsets, or both (see
    /// `OffsetStorage` for Kafka 0.8.2's `offsets.storage` and `dual.commit.enabled` rules).
    public var offsetStorage: OffsetStorage

    /// A configuration with a Kafka 0.8 consumer's defaults: start at the log start where no offset is stored,
    /// commit every second, join the group with the range assignor, keep offsets in ZooKeeper. Nothing is checked
    /// here: `OffsetConsumer.start` validates the group id and the topic names before it touches a znode.
    public init(
        group: String,
        topics: [String],
        zookeeper: ZooKeeperConfiguration,
        kafka: KafkaConfiguration,
        resetPolicy: ResetPolicy = .earliest,
        resetAboveLogEnd: Bool = false,
        commitInterval: Duration? = .seconds(1),
        metadataRefreshInterval: Duration = .seconds(30),
        maxBatchSize: Int = 5_000,
        pollTimeout: Duration = .milliseconds(100),
        kafkaTimeout: Duration = .seconds(10),
        joinsGroup: Bool = true,
        assignmentStrategy: AssignmentStrategy = .range,
        auditInterval: Duration = .seconds(10),
        offsetStorage: OffsetStorage = .zookeeper
    ) {
        self.group = group
        self.topics = topics
        self.zookeeper = zookeeper
        self.kafka = kafka
        self.resetPolicy = resetPolicy
        self.resetAboveLogEnd = resetAboveLogEnd
        self.commitInterval = commitInterval
        self.metadataRefreshInterval = metadataRefreshInterval
        self.maxBatchSize = maxBatchSize
        self.pollTimeout = pollTimeout
        self.kafkaTimeout = kafkaTimeout
        self.joinsGroup = joinsGroup
        self.assignmentStrategy = assignmentStrategy
        self.auditInterval = auditInterval
        self.offsetStorage = offsetStorage
    }
}
