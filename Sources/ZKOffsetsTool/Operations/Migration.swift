import ZKOffsets

/// A plan to copy offsets between ZooKeeper and the brokers, meaning intact: both sides store the next offset to
/// consume, so values are copied as they are (no -1 shift).
public struct MigrationPlan: Sendable, Equatable {
    /// The text table's columns; CURRENT is what the target storage holds now.
    public static let columns = ["GROUP", "TOPIC", "PARTITION", "CURRENT", "NEW"]

    /// The storage the offsets are copied from (`zookeeper` or `kafka`, never `dual`).
    public var from: OffsetStorage
    /// The storage the offsets are copied to (`zookeeper` or `kafka`, never `dual`).
    public var to: OffsetStorage
    /// One change per partition; `currentNode` is the ZooKeeper znode when the target is ZooKeeper. For Kafka
    /// targets the offset Kafka holds now is in `kafkaCurrent`.
    public var changes: [OffsetChange]
    /// Offsets the brokers hold now for the changes' partitions (target kafka only).
    public var kafkaCurrent: [String: [TopicPartition: Int64]]
    /// Things to know before applying (brokers that cannot list group members, ...), one sentence each.
    public var warnings: [String]

    /// The plan as a ZooKeeper write plan (target zookeeper).
    public var zooKeeperPlan: OffsetPlan { OffsetPlan(changes: changes, warnings: warnings) }

    /// Changes that write something.
    public var pending: [OffsetChange] {
        changes.filter { change in
            switch to {
            case .zookeeper, .dual: !change.isUnchanged
            case .kafka: kafkaCurrent[change.group]?[change.partition] != change.new
            }
        }
    }

    /// One row per change; CURRENT is what the target holds now, `-` when it holds nothing.
    public var table: TextTable {
        TextTable(
            header: Self.columns,
            rows: changes.map { change in
                let current: String =
                    switch to {
                    case .zookeeper, .dual: change.currentText
                    case .kafka: kafkaCurrent[change.group]?[change.partition].map { String($0) } ?? "-"
                    }
                return [change.group, change.partition.topic, String(change.partition.partition), current, String(change.new)]
            })
    }

    /// The plan as one JSON object (`from`, `to`, `changes`, `warnings`), keys in a fixed order; a change's `current`
    /// is null when the target holds nothing.
    public var json: String {
        JSONText.object([
            ("from", JSONText.string(from.rawValue)), ("to", JSONText.string(to.rawValue)),
            (
                "changes",
                JSONText.array(
                    changes.map { change in
                        let current = to == .zookeeper ? change.current : kafkaCurrent[change.group]?[change.partition]
                        return JSONText.object([
                            ("group", JSONText.string(change.group)), ("topic", JSONText.string(change.partition.topic)),
                            ("partition", String(change.partition.partition)), ("current", JSONText.number(current)),
                            ("new", String(change.new)),
                        ])
                    })
            ),
            ("warnings", JSONText.array(warnings.map(JSONText.string))),
        ])
    }
}

/// Plans and applies migrations between ZooKeeper-stored and Kafka-stored group offsets.
public enum Migration {
    /// Reads both sides and plans the copy. Refuses (`OperationRefusal`, nothing written) a group with live
    /// members in ZooKeeper or on the brokers, and a source znode with malformed data; a ZooKeeper target znode
    /// with malformed data is refused too. When the brokers cannot list group members (`unsupportedFeature`, as
    /// librdkafka's mock cluster), a warning says so: brokers refuse commits for a group with active members
    /// anyway.
    ///
    /// From Kafka, the partitions asked about are every partition of `topics`, or of every topic on the brokers
    /// (except internal `__` topics) when `topics` is nil.
    public static func plan(
        inventory: GroupInventory, admin: KafkaAdminClient, groups: [String], from: OffsetStorage, to: OffsetStorage,
        topics: [String]? = nil, force: Bool = false, timeout: Duration = .seconds(10)
    ) async throws -> MigrationPlan {
        guard from != to else {
            throw OffsetError(.invalidInput, "--from and --to are both \(from.rawValue): nothing to migrate")
        }
        guard from != .dual && to != .dual else {
            throw OffsetError(
                .invalidInput, "dual is a consumer setting, not a store: migrate between zookeeper and kafka")
        }
        for group in groups { try OffsetLayout.validateGroup(group) }
        for topic in topics ?? [] { try OffsetLayout.validateTopic(topic) }
        let metadata = try await admin.topics(timeout: timeout)
        let brokerPartitions = Dictionary(uniqueKeysWithValues: metadata.map { ($0.name, $0.partitions) })
        // Sets for the membership checks: a topic can have thousands of partitions.
        let brokerSets = brokerPartitions.mapValues(Set.init)
        for topic in topics ?? [] where brokerPartitions[topic] == nil {
            throw OffsetError(.invalidInput, "unknown topic '\(topic)': the brokers do not have it")
        }
        var changes: [OffsetChange] = []
        var kafkaCurrent: [String: [TopicPartition: Int64]] = [:]
        var warnings: [String] = []
        for group in groups {
            try await inventory.refuseIfActive(group: group, force: force)
            do {
                let members = try await admin.groupMembers(group: group, timeout: timeout)
                if !members.isEmpty && !force {
                    throw OperationRefusal(
                        "group '\(group)' has \(members.count) active member(s) on the brokers "
                            + "(\(members.joined(separator: ", "))): stop its consumers first; nothing was written")
                }
            } catch let error as KafkaError where error.code == .unsupportedFeature {
                warnings.append(
                    "the brokers cannot list the members of group '\(group)' (\(error.message)); "
                        + "they refuse offset commits while it has active members")
            }
            switch from {
            case .zookeeper, .dual:
                try await inventory.requireExisting(group: group)
                let nodes = try await inventory.offsets(group: group, topics: topics)
                let malformed = nodes.values.compactMap(\.malformedError).map(\.message).sorted()
                if !malformed.isEmpty {
                    throw OperationRefusal((malformed + ["refusing to migrate group '\(group)'"]).joined(separator: "\n"))
                }
                for partition in nodes.keys.sorted()
                where brokerSets[partition.topic]?.contains(partition.partition) != true {
                    throw OperationRefusal(
                        "group '\(group)' has an offset for \(partition), which the brokers do not have; "
                            + "refusing to migrate it (name other topics with --topic)")
                }
                let current = try await admin.committedOffsets(group: group, partitions: Array(nodes.keys), timeout: timeout)
                kafkaCurrent[group] = current
                for (partition, node) in nodes {
                    changes.append(OffsetChange(group: group, partition: partition, currentNode: nil, new: node.offset ?? 0))
                }
            case .kafka:
                let names = topics ?? metadata.map(\.name).filter { !$0.hasPrefix("__") }
                let partitions = names.flatMap { name in
                    (brokerPartitions[name] ?? []).map { TopicPartition(topic: name, partition: $0) }
                }
                // With named topics, the znodes of all their partitions are read while the brokers answer (the
                // longer of the two, not their sum); without, only those the brokers have offsets for, afterwards
                // (every topic of a cluster can be far more znodes than the group ever had).
                async let named = topics == nil ? [:] : inventory.offsets(group: group, partitions: partitions)
                let committed = try await admin.committedOffsets(group: group, partitions: partitions, timeout: timeout)
                if committed.isEmpty {
                    warnings.append("group '\(group)' has no offsets on the brokers for the topics asked about")
                }
                let nodes =
                    topics == nil
                    ? try await inventory.offsets(group: group, partitions: Array(committed.keys)) : try await named
                for (partition, offset) in committed where offset >= 0 {
                    changes.append(OffsetChange(group: group, partition: partition, currentNode: nodes[partition], new: offset))
                }
            }
        }
        let plan = MigrationPlan(
            from: from, to: to, changes: OffsetPlan(changes: changes).changes, kafkaCurrent: kafkaCurrent,
            warnings: warnings)
        if to == .zookeeper { try plan.zooKeeperPlan.refuseMalformed() }
        return plan
    }

    /// Applies the plan: to ZooKeeper in conditional transactions, to Kafka in commits of at most `batchSize`
    /// partitions per group. `progress(done, total)` after each step.
    public static func apply(
        _ plan: MigrationPlan, inventory: GroupInventory, admin: KafkaAdminClient, batchSize: Int = 1_000,
        timeout: Duration = .seconds(30), progress: @Sendable (Int, Int) -> Void = { _, _ in }
    ) async throws -> ApplySummary {
        switch plan.to {
        case .dual:
            throw OffsetError(
                .invalidInput, "dual is a consumer setting, not a store: migrate between zookeeper and kafka")
        case .zookeeper:
            return try await plan.zooKeeperPlan.apply(client: inventory.client, progress: progress)
        case .kafka:
            let pending = plan.pending
            var summary = ApplySummary(unchanged: plan.changes.count - pending.count)
            for (group, changes) in Dictionary(grouping: pending, by: \.group).sorted(by: { $0.key < $1.key }) {
                var start = 0
                while start < changes.count {
                    let batch = changes[start..<min(start + batchSize, changes.count)]
                    let offsets = Dictionary(uniqueKeysWithValues: batch.map { ($0.partition, $0.new) })
                    try await admin.commitOffsets(group: group, offsets: offsets, timeout: timeout)
                    summary.written += batch.count
                    summary.transactions += 1
                    start += batchSize
                    progress(summary.written, pending.count)
                }
                summary.groups += 1
            }
            return summary
        }
    }
}
