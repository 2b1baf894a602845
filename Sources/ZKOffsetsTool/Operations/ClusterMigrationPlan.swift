import ZKOffsets

/// Where a cross-cluster migration writes the group's offsets in the new cluster.
public enum ClusterMigrationTarget: Sendable {
    /// Kafka's group offsets for the same group id on the new cluster's brokers.
    case kafka
    /// Kafka 0.8's znodes in the new cluster's ZooKeeper (read through this inventory).
    case zookeeper(GroupInventory)

    /// `kafka` or `zookeeper`.
    public var name: String {
        switch self {
        case .kafka: "kafka"
        case .zookeeper: "zookeeper"
        }
    }
}

/// A group's ZooKeeper-stored offsets of an old cluster carried by message time to a new cluster: one
/// `OffsetTranslation` per partition, what the target holds now, and every reason to refuse.
public struct ClusterMigrationPlan: Sendable {
    /// The text table's columns.
    public static let columns = [
        "TOPIC", "PARTITION", "OLD-OFFSET", "TIMESTAMP", "BASIS", "NEW-OFFSET", "CURRENT", "NOTES",
    ]

    /// The group id, the same on both clusters.
    public var group: String
    /// Where the new offsets go.
    public var target: ClusterMigrationTarget
    /// One per partition with a ZooKeeper offset in the old cluster, sorted.
    public var translations: [OffsetTranslation]
    /// What the target holds now (Kafka target), by partition.
    public var kafkaCurrent: [TopicPartition: Int64]
    /// The target's offset znodes now (ZooKeeper target), by partition; writes are conditional on their versions.
    public var zooKeeperCurrent: [TopicPartition: StoredOffset]
    /// Whole-plan refusals (partition count mismatch, topic missing on a side), one sentence each.
    public var refusals: [String]
    /// Things to know that do not stop the migration, one sentence each.
    public var warnings: [String]

    /// A plan as read, translations sorted by partition. It refuses nothing itself: `allRefusals` gathers the
    /// whole-plan refusals and each translation's.
    public init(
        group: String, target: ClusterMigrationTarget, translations: [OffsetTranslation],
        kafkaCurrent: [TopicPartition: Int64] = [:], zooKeeperCurrent: [TopicPartition: StoredOffset] = [:],
        refusals: [String] = [], warnings: [String] = []
    ) {
        self.group = group
        self.target = target
        self.translations = translations.sorted { $0.partition < $1.partition }
        self.kafkaCurrent = kafkaCurrent
        self.zooKeeperCurrent = zooKeeperCurrent
        self.refusals = refusals
        self.warnings = warnings
    }

    /// Every reason not to write: whole-plan refusals, then each refused partition's.
    public var allRefusals: [String] {
        refusals
            + translations.compactMap { translation in translation.refusal.map { "\(translation.partition): \($0)" } }
    }

    /// True when nothing may be written.
    public var isRefused: Bool { !allRefusals.isEmpty }

    /// The target's offset now, for the CURRENT column.
    public func current(_ partition: TopicPartition) -> Int64? {
        switch target {
        case .kafka: kafkaCurrent[partition]
        case .zookeeper: zooKeeperCurrent[partition]?.offset
        }
    }

    /// Partitions whose target offset differs from the translated one, with that offset.
    public var pending: [(partition: TopicPartition, offset: Int64)] {
        translations.compactMap { translation in
            guard let offset = translation.newOffset else { return nil }
            switch target {
            case .kafka:
                return kafkaCurrent[translation.partition] == offset ? nil : (translation.partition, offset)
            case .zookeeper:
                let node = zooKeeperCurrent[translation.partition]
                return node?.bytes == OffsetValue.encode(offset) ? nil : (translation.partition, offset)
            }
        }
    }

    /// One row per partition; `-` where there is no value.
    public var table: TextTable {
        TextTable(
            header: Self.columns,
            rows: translations.map { translation in
                [
                    translation.partition.topic, String(translation.partition.partition), String(translation.oldOffset),
                    translation.timestampMillis.map { TimestampText.iso8601(millis: $0) } ?? "-",
                    translation.basis.map { basis in
                        translation.referenceOffset.map { "\(basis.rawValue)@\($0)" } ?? basis.rawValue
                    } ?? "-",
                    translation.newOffset.map { String($0) } ?? "-",
                    current(translation.partition).map { String($0) } ?? "-",
                    ((translation.refusal.map { ["REFUSED: " + $0] } ?? []) + translation.notes).joined(
                        separator: "; "),
                ]
            })
    }

    /// `{"group":..,"target":..,"partitions":[..],"refusals":[..],"warnings":[..]}`, keys in a fixed order.
    public var json: String {
        JSONText.object([
            ("group", JSONText.string(group)), ("target", JSONText.string(target.name)),
            (
                "partitions",
                JSONText.array(
                    translations.map { translation in
                        JSONText.object([
                            ("topic", JSONText.string(translation.partition.topic)),
                            ("partition", String(translation.partition.partition)),
                            ("oldOffset", String(translation.oldOffset)),
                            ("timestamp", JSONText.number(translation.timestampMillis)),
                            (
                                "time",
                                JSONText.optionalString(
                                    translation.timestampMillis.map { TimestampText.iso8601(millis: $0) })
                            ),
                            ("basis", JSONText.optionalString(translation.basis?.rawValue)),
                            ("referenceOffset", JSONText.number(translation.referenceOffset)),
                            ("newOffset", JSONText.number(translation.newOffset)),
                            ("method", JSONText.optionalString(translation.method?.rawValue)),
                            ("current", JSONText.number(current(translation.partition))),
                            ("notes", JSONText.array(translation.notes.map(JSONText.string))),
                            ("refusal", JSONText.optionalString(translation.refusal)),
                        ])
                    })
            ),
            ("refusals", JSONText.array(allRefusals.map(JSONText.string))),
            ("warnings", JSONText.array(warnings.map(JSONText.string))),
        ])
    }
}
