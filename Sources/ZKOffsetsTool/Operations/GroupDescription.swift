import ZKOffsets

/// One row of `describe`: a partition's stored offset next to its log end.
public struct PartitionDescription: Sendable, Equatable {
    /// The TOPIC and PARTITION columns.
    public var partition: TopicPartition
    /// The stored next offset to consume; nil when there is no znode or its data is malformed.
    public var currentOffset: Int64?
    /// The stored bytes as a message when they are not a decimal offset.
    public var malformed: String?
    /// The partition's log end offset; nil when the brokers were not asked or do not have the partition.
    public var logEndOffset: Int64?
    /// When the offset znode was last written, milliseconds since the epoch.
    public var lastCommitMillis: Int64?
    /// The consumer that owns the partition (from `owners/<topic>/<partition>`), when one does.
    public var consumerID: String?

    /// A row as read; every column but the partition may be unknown.
    public init(
        partition: TopicPartition, currentOffset: Int64? = nil, malformed: String? = nil, logEndOffset: Int64? = nil,
        lastCommitMillis: Int64? = nil, consumerID: String? = nil
    ) {
        self.partition = partition
        self.currentOffset = currentOffset
        self.malformed = malformed
        self.logEndOffset = logEndOffset
        self.lastCommitMillis = lastCommitMillis
        self.consumerID = consumerID
    }

    /// Log end minus current offset, when both are known.
    public var lag: Int64? {
        guard let currentOffset, let logEndOffset else { return nil }
        return logEndOffset - currentOffset
    }
}

/// What `describe` shows for a group: one row per partition that has an offset znode or exists on the brokers.
///
/// It reads offsets and owners, not membership, so it works on stopped groups too.
public struct GroupDescription: Sendable, Equatable {
    /// The text table's columns, those of `kafka-consumer-groups --describe`.
    public static let columns = [
        "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "LAST-COMMIT", "CONSUMER-ID",
    ]

    /// The group id, as under `/consumers`.
    public var group: String
    /// Rows sorted by topic and partition.
    public var partitions: [PartitionDescription]
    /// The group's live member ids.
    public var members: [String]
    /// The live members with their host, registration time, subscription and partition count.
    public var memberDetails: [MemberDescription]
    /// Things the reader should know (malformed znodes, topics the brokers lack), one sentence each.
    public var warnings: [String]

    /// A description as given; the rows are kept in the order given (`read` sorts them).
    public init(
        group: String, partitions: [PartitionDescription], members: [String], warnings: [String],
        memberDetails: [MemberDescription] = []
    ) {
        self.group = group
        self.partitions = partitions
        self.members = members
        self.memberDetails = memberDetails
        self.warnings = warnings
    }

    /// Reads the group from ZooKeeper and, when `admin` is given, the log ends from the brokers.
    ///
    /// Throws `invalidGroup`/`invalidTopic` for bad names, `invalidInput` for a group that does not exist or a
    /// `--topic` that neither ZooKeeper nor the brokers know.
    public static func read(
        inventory: GroupInventory, admin: KafkaAdminClient?, group: String, topics requested: [String]? = nil,
        timeout: Duration = .seconds(10)
    ) async throws -> GroupDescription {
        try OffsetLayout.validateGroup(group)
        for topic in requested ?? [] { try OffsetLayout.validateTopic(topic) }
        try await inventory.requireExisting(group: group)
        let storedTopics = try await inventory.topics(group: group)
        let topics = requested ?? storedTopics.filter { (try? OffsetLayout.validateTopic($0)) != nil }
        let stored = try await inventory.offsets(group: group, topics: topics)
        var brokerPartitions: [String: [Int32]] = [:]
        var warnings: [String] = []
        if let admin {
            let metadata = try await admin.topics(timeout: timeout)
            for topic in metadata where topics.contains(topic.name) { brokerPartitions[topic.name] = topic.partitions }
            for topic in topics where brokerPartitions[topic] == nil {
                warnings.append("topic \(topic) does not exist on the brokers")
            }
        }
        for topic in requested ?? [] where !storedTopics.contains(topic) && brokerPartitions[topic] == nil {
            throw OffsetError(.invalidInput, "unknown topic '\(topic)': group '\(group)' has no offsets for it"
                + (admin == nil ? "" : " and the brokers do not have it"))
        }
        var all = Set(stored.keys)
        for (topic, numbers) in brokerPartitions {
            for number in numbers { all.insert(TopicPartition(topic: topic, partition: number)) }
        }
        let brokerSets = brokerPartitions.mapValues(Set.init)
        let onBrokers = all.filter { brokerSets[$0.topic]?.contains($0.partition) ?? false }
        let watermarks = try await admin?.watermarks(for: Array(onBrokers), timeout: timeout) ?? [:]
        if let admin, !onBrokers.isEmpty,
            let inKafka = try? await admin.committedOffsets(group: group, partitions: Array(onBrokers), timeout: timeout),
            let warning = kafkaAheadWarning(inKafka: inKafka, stored: stored)
        {
            warnings.append(warning)
        }
        var owners: [TopicPartition: String] = [:]
        for topic in topics {
            for (number, owner) in try await inventory.owners(group: group, topic: topic) {
                owners[TopicPartition(topic: topic, partition: number)] = owner
            }
        }
        var rows: [PartitionDescription] = []
        for partition in all.sorted() {
            let node = stored[partition]
            if let node, node.isMalformed, let error = node.malformedError { warnings.append(error.message) }
            rows.append(
                PartitionDescription(
                    partition: partition, currentOffset: node?.offset,
                    malformed: node.flatMap { $0.isMalformed ? OffsetValue.describe($0.bytes) : nil },
                    logEndOffset: watermarks[partition]?.high, lastCommitMillis: node?.stat.mtime,
                    consumerID: owners[partition].map(consumerID(fromOwner:))
                ))
        }
        let details = try await MemberDescription.read(
            inventory: inventory, group: group, owners: owners.mapValues(consumerID(fromOwner:)))
        return GroupDescription(
            group: group, partitions: rows, members: details.map(\.consumerID), warnings: warnings,
            memberDetails: details)
    }

    /// A group moved to `kafka` offset storage (or `dual` with ZooKeeper behind) commits to Kafka: ZooKeeper's
    /// offsets, which the table shows, stop moving and the lag grows without a consumer falling behind. Says so
    /// when Kafka's offsets are ahead of ZooKeeper's (nil when none is).
    static func kafkaAheadWarning(
        inKafka: [TopicPartition: Int64], stored: [TopicPartition: StoredOffset]
    ) -> String? {
        let ahead = inKafka.filter { partition, offset in offset > (stored[partition]?.offset ?? -1) }
        guard let first = ahead.keys.min() else { return nil }
        let zookeeper = stored[first]?.offset.map(String.init) ?? "none"
        return "Kafka holds newer offsets of this group than ZooKeeper for \(ahead.count) partition(s) (\(first): "
            + "Kafka \(ahead[first]!), ZooKeeper \(zookeeper)): members with offset storage kafka or dual commit "
            + "there; CURRENT-OFFSET and LAG here are ZooKeeper's"
    }

    /// The consumer id in an owner znode's data (`<consumerId>-<thread>`).
    public static func consumerID(fromOwner owner: String) -> String {
        if let dash = owner.lastIndex(of: "-"), owner[owner.index(after: dash)...].allSatisfy(\.isNumber),
            owner.index(after: dash) != owner.endIndex
        {
            return String(owner[..<dash])
        }
        return owner
    }

    /// The table `describe` prints; ages of the last commit are relative to `nowMillis`.
    public func table(nowMillis: Int64) -> TextTable {
        TextTable(
            header: Self.columns,
            rows: partitions.map { row in
                [
                    row.partition.topic, String(row.partition.partition),
                    row.currentOffset.map { String($0) } ?? (row.malformed == nil ? "-" : "malformed"),
                    row.logEndOffset.map { String($0) } ?? "-", row.lag.map { String($0) } ?? "-",
                    row.lastCommitMillis.map { Self.age(millis: nowMillis - $0) } ?? "-", row.consumerID ?? "-",
                ]
            })
    }

    /// The members table `describe` prints under the partitions, like `kafka-consumer-groups --members`.
    public func membersTable(nowMillis: Int64) -> TextTable {
        TextTable(
            header: ["CONSUMER-ID", "HOST", "SINCE", "SUBSCRIPTION", "#PARTITIONS"],
            rows: memberDetails.map { member in
                [
                    member.consumerID, member.host ?? "-", Self.age(millis: nowMillis - member.sinceMillis),
                    member.subscription.isEmpty
                        ? "-" : member.subscription.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }
                            .joined(separator: ","),
                    String(member.ownedPartitions),
                ]
            })
    }

    /// One JSON object: `{"group":..,"members":[..],"memberDetails":[..],"partitions":[{..}],"warnings":[..]}`.
    public func json(nowMillis: Int64) -> String {
        let rows = partitions.map { row in
            JSONText.object([
                ("topic", JSONText.string(row.partition.topic)), ("partition", String(row.partition.partition)),
                ("currentOffset", JSONText.number(row.currentOffset)),
                ("logEndOffset", JSONText.number(row.logEndOffset)), ("lag", JSONText.number(row.lag)),
                ("lastCommitMillis", JSONText.number(row.lastCommitMillis)),
                ("lastCommitAgeMillis", JSONText.number(row.lastCommitMillis.map { nowMillis - $0 })),
                ("consumerId", JSONText.optionalString(row.consumerID)),
                ("malformed", JSONText.optionalString(row.malformed)),
            ])
        }
        return JSONText.object([
            ("group", JSONText.string(group)), ("members", JSONText.array(members.map(JSONText.string))),
            ("memberDetails", JSONText.array(memberDetails.map { member in
                JSONText.object([
                    ("consumerId", JSONText.string(member.consumerID)),
                    ("host", JSONText.optionalString(member.host)),
                    ("sinceMillis", String(member.sinceMillis)),
                    ("subscription", JSONText.object(member.subscription.sorted { $0.key < $1.key }.map { ($0.key, String($0.value)) })),
                    ("partitions", String(member.ownedPartitions)),
                ])
            })),
            ("partitions", JSONText.array(rows)), ("warnings", JSONText.array(warnings.map(JSONText.string))),
        ])
    }

    /// A compact age: `45s`, `3m12s`, `5h3m`, `2d4h`.
    public static func age(millis: Int64) -> String {
        let seconds = max(0, millis / 1000)
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3600 { return "\(seconds / 60)m\(seconds % 60)s" }
        if seconds < 86400 { return "\(seconds / 3600)h\(seconds % 3600 / 60)m" }
        return "\(seconds / 86400)d\(seconds % 86400 / 3600)h"
    }
}
