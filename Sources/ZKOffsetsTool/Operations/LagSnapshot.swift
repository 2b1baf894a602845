import ZKOffsets

/// One sample of a Prometheus gauge: a name, labels and a value, with the family's help text.
public struct MetricSample: Sendable {
    /// The metric name.
    public var name: String
    /// The family's `# HELP` text.
    public var help: String
    /// Label names and values, in the order they are written.
    public var labels: [(String, String)]
    /// The value.
    public var value: Double

    /// A sample.
    public init(name: String, help: String, labels: [(String, String)], value: Double) {
        self.name = name
        self.help = help
        self.labels = labels
        self.value = value
    }

    /// The value of the label `name`, when present.
    public func label(_ name: String) -> String? { labels.first { $0.0 == name }?.1 }
}

/// What the exporter saw in one collection: the groups' offsets and members in ZooKeeper, the partitions' log
/// offsets on the brokers, and whether each source answered. `samples` turns it into the metrics served, with
/// danielqsj/kafka_exporter's names and labels so that dashboards made for it work.
public struct LagSnapshot: Sendable, Equatable {
    /// The metric names.
    public enum Name {
        // kafka_exporter's.
        /// kafka_exporter's: the stored next offset, per partition.
        public static let currentOffset = "kafka_consumergroup_current_offset"
        /// kafka_exporter's: the stored offsets summed per topic.
        public static let currentOffsetSum = "kafka_consumergroup_current_offset_sum"
        /// kafka_exporter's: log end minus the stored offset, per partition.
        public static let lag = "kafka_consumergroup_lag"
        /// kafka_exporter's: lag summed per topic.
        public static let lagSum = "kafka_consumergroup_lag_sum"
        /// kafka_exporter's lag of ZooKeeper groups (the same value as `lag` here).
        public static let zooKeeperLag = "kafka_consumergroupzookeeper_lag_zookeeper"
        /// kafka_exporter's: registered members per group.
        public static let members = "kafka_consumergroup_members"
        /// kafka_exporter's: partitions per topic.
        public static let topicPartitions = "kafka_topic_partitions"
        /// kafka_exporter's: the log end offset per partition.
        public static let topicCurrentOffset = "kafka_topic_partition_current_offset"
        /// kafka_exporter's: the log start offset per partition.
        public static let topicOldestOffset = "kafka_topic_partition_oldest_offset"
        // Ours.
        /// Ours: seconds since the offset znode was last written.
        public static let lastCommitAge = "zkoffsets_consumergroup_last_commit_age_seconds"
        /// Ours: 1 when the last collection read the source (`source="zookeeper"|"kafka"`), else 0.
        public static let up = "zkoffsets_up"
        /// Ours: when the served collection was taken.
        public static let collectionTime = "zkoffsets_collection_timestamp_seconds"
    }

    /// The ZooKeeper scan succeeded.
    public var zooKeeperUp: Bool
    /// The brokers answered metadata and watermarks.
    public var kafkaUp: Bool
    /// The groups scanned (empty when ZooKeeper was down).
    public var groups: [GroupOffsetScan.Group]
    /// Every partition of every topic on the brokers (empty when Kafka was down).
    public var watermarks: [TopicPartition: Watermarks]
    /// When the collection was taken, ms since the epoch (commit ages are relative to it).
    public var takenAtMillis: Int64

    /// A snapshot of what a collection read.
    public init(
        zooKeeperUp: Bool, kafkaUp: Bool, groups: [GroupOffsetScan.Group], watermarks: [TopicPartition: Watermarks],
        takenAtMillis: Int64
    ) {
        self.zooKeeperUp = zooKeeperUp
        self.kafkaUp = kafkaUp
        self.groups = groups
        self.watermarks = watermarks
        self.takenAtMillis = takenAtMillis
    }

    /// The samples, in a stable order: `zkoffsets_up` and the collection time, then per group, then per topic.
    ///
    /// A partition whose offset znode is malformed has no current offset and no lag; a partition the brokers do not
    /// have (or all of them while Kafka is down) has a current offset and no lag. Lag is log end minus the stored
    /// next offset, negative when the stored offset is past the log end (a truncated or re-created topic), as
    /// kafka_exporter reports it.
    public var samples: [MetricSample] {
        var samples: [MetricSample] = [
            MetricSample(
                name: Name.up, help: "1 when the last collection could read this source, 0 otherwise.",
                labels: [("source", "zookeeper")], value: zooKeeperUp ? 1 : 0),
            MetricSample(
                name: Name.up, help: "1 when the last collection could read this source, 0 otherwise.",
                labels: [("source", "kafka")], value: kafkaUp ? 1 : 0),
            MetricSample(
                name: Name.collectionTime, help: "When the served collection was taken, seconds since the epoch.",
                labels: [], value: Double(takenAtMillis) / 1000),
        ]
        func add(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Int64) {
            samples.append(MetricSample(name: name, help: help, labels: labels, value: Double(value)))
        }
        for group in groups {
            add(Name.members, "Amount of members in a consumer group", [("consumergroup", group.group)],
                Int64(group.members.count))
            var offsetSums: [String: Int64] = [:]
            var lagSums: [String: Int64] = [:]
            for (partition, node) in group.offsets.sorted(by: { $0.key < $1.key }) {
                let labels = [
                    ("consumergroup", group.group), ("topic", partition.topic),
                    ("partition", String(partition.partition)),
                ]
                add(Name.lastCommitAge, "Seconds since the offset znode was last written", labels,
                    max(0, takenAtMillis - node.stat.mtime) / 1000)
                guard let offset = node.offset else { continue }
                add(Name.currentOffset, "Current Offset of a ConsumerGroup at Topic/Partition", labels, offset)
                offsetSums[partition.topic, default: 0] += offset
                guard let logEnd = watermarks[partition]?.high else { continue }
                add(Name.lag, "Current Approximate Lag of a ConsumerGroup at Topic/Partition", labels, logEnd - offset)
                add(Name.zooKeeperLag, "Current Approximate Lag(zookeeper) of a ConsumerGroup at Topic/Partition",
                    labels, logEnd - offset)
                lagSums[partition.topic, default: 0] += logEnd - offset
            }
            for (topic, sum) in offsetSums.sorted(by: { $0.key < $1.key }) {
                add(Name.currentOffsetSum, "Current Offset of a ConsumerGroup at Topic for all partitions",
                    [("consumergroup", group.group), ("topic", topic)], sum)
            }
            for (topic, sum) in lagSums.sorted(by: { $0.key < $1.key }) {
                add(Name.lagSum, "Current Approximate Lag of a ConsumerGroup at Topic for all partitions",
                    [("consumergroup", group.group), ("topic", topic)], sum)
            }
        }
        var partitionCounts: [String: Int64] = [:]
        for (partition, marks) in watermarks.sorted(by: { $0.key < $1.key }) {
            let labels = [("topic", partition.topic), ("partition", String(partition.partition))]
            add(Name.topicCurrentOffset, "Current Offset of a Broker at Topic/Partition", labels, marks.high)
            add(Name.topicOldestOffset, "Oldest Offset of a Broker at Topic/Partition", labels, marks.low)
            partitionCounts[partition.topic, default: 0] += 1
        }
        for (topic, count) in partitionCounts.sorted(by: { $0.key < $1.key }) {
            add(Name.topicPartitions, "Number of partitions for this Topic", [("topic", topic)], count)
        }
        return samples
    }
}
