import Logging

/// Carries a group's ZooKeeper-stored offsets from an old cluster to a new one holding the same messages at
/// other offsets (mirrored topics), by message time; see `OffsetTranslation` for the rule.
///
/// The new offset is looked up with the new brokers' offsets-for-times first, checked against the messages
/// around it; brokers without a time index (Kafka 0.8-era, librdkafka's mock cluster) answer none, and then a
/// binary search over single fetched messages finds it in O(log n) fetches per partition.
public enum ClusterMigration {
    /// Reads both clusters and plans the migration; writes nothing.
    ///
    /// Throws `OperationRefusal` (nothing read further, nothing written) for a group with live members: children
    /// of `ids` in the old ZooKeeper (and in the target ZooKeeper), or broker-side members on either cluster
    /// (brokers that cannot list members, like the mock cluster, give a warning instead); and for malformed
    /// offset znodes on either side. Throws `OffsetError(.invalidInput)` for an unknown group or one without
    /// offsets. A topic missing on either cluster, a partition count that differs between them, or a partition
    /// that cannot be translated is not thrown: it is in the plan's `refusals`, so the report shows it, and
    /// `apply` refuses such a plan.
    ///
    /// `oldKafka` and `newKafka` configure the single-message fetches (`MessageTimestampReader`).
    public static func plan(
        group: String, source: GroupInventory, oldAdmin: KafkaAdminClient, oldKafka: KafkaConfiguration,
        newAdmin: KafkaAdminClient, newKafka: KafkaConfiguration, target: ClusterMigrationTarget,
        topics: [String]? = nil, force: Bool = false, timeout: Duration = .seconds(10), logger: Logger
    ) async throws -> ClusterMigrationPlan {
        try OffsetLayout.validateGroup(group)
        for topic in topics ?? [] { try OffsetLayout.validateTopic(topic) }
        var warnings: [String] = []
        try await source.refuseIfActive(group: group, force: force)
        if case .zookeeper(let targetInventory) = target {
            try await targetInventory.refuseIfActive(group: group, force: force)
        }
        for (side, admin) in [("old", oldAdmin), ("new", newAdmin)] {
            if let warning = try await refuseBrokerMembers(group: group, side: side, admin: admin, timeout: timeout) {
                warnings.append(warning)
            }
        }
        try await source.requireExisting(group: group)
        let nodes = try await source.offsets(group: group, topics: topics)
        let malformed = nodes.values.compactMap(\.malformedError).map(\.message).sorted()
        if !malformed.isEmpty {
            throw OperationRefusal((malformed + ["refusing to migrate group '\(group)'"]).joined(separator: "\n"))
        }
        guard !nodes.isEmpty else {
            throw OffsetError(
                .invalidInput, "group '\(group)' has no offsets in ZooKeeper\(topics == nil ? "" : " for those topics")"
            )
        }

        async let oldTopicList = oldAdmin.topics(timeout: timeout)
        async let newTopicList = newAdmin.topics(timeout: timeout)
        let oldTopics = Dictionary(uniqueKeysWithValues: try await oldTopicList.map { ($0.name, Set($0.partitions)) })
        let newTopics = Dictionary(uniqueKeysWithValues: try await newTopicList.map { ($0.name, Set($0.partitions)) })
        var refusals: [String] = []
        for topic in Set(nodes.keys.map(\.topic)).sorted() {
            switch (oldTopics[topic], newTopics[topic]) {
            case (nil, nil):
                refusals.append("topic \(topic) exists on neither cluster")
            case (nil, _):
                refusals.append("topic \(topic) is not in the old cluster")
            case (_, nil):
                refusals.append("topic \(topic) is not in the new cluster: create or mirror it first")
            case (let old?, let new?) where old.count != new.count:
                refusals.append(
                    "topic \(topic) has \(old.count) partition(s) in the old cluster and \(new.count) in the new: "
                        + "offsets are carried partition by partition, the counts must match")
            default:
                break
            }
            let stored = Set(nodes.keys.filter { $0.topic == topic }.map(\.partition))
            let unstored = (oldTopics[topic] ?? []).intersection(newTopics[topic] ?? []).subtracting(stored).sorted()
            if !unstored.isEmpty {
                warnings.append(
                    "topic \(topic): partition(s) \(unstored.map(String.init).joined(separator: ", ")) have no offset "
                        + "in ZooKeeper and are not carried (the consumer applies its reset policy there)")
            }
        }

        var translations: [TopicPartition: OffsetTranslation] = [:]
        var carriable: [TopicPartition] = []
        for (partition, node) in nodes {
            let offset = node.offset ?? 0
            let inOld = oldTopics[partition.topic]?.contains(partition.partition) == true
            let inNew = newTopics[partition.topic]?.contains(partition.partition) == true
            if inOld && inNew {
                carriable.append(partition)
            } else {
                let sides = [inOld ? nil : "old", inNew ? nil : "new"].compactMap { $0 }.joined(separator: " and ")
                translations[partition] = OffsetTranslation(
                    partition: partition, oldOffset: offset, refusal: "the partition is missing in the \(sides) cluster"
                )
            }
        }
        let carried = carriable.sorted()

        async let oldMarks = oldAdmin.watermarks(for: carried, timeout: timeout)
        async let newMarks = newAdmin.watermarks(for: carried, timeout: timeout)
        let (oldWatermarks, newWatermarks) = try await (oldMarks, newMarks)

        let oldReader = try MessageTimestampReader(configuration: oldKafka, timeout: timeout, logger: logger)
        let newReader: MessageTimestampReader
        do {
            newReader = try MessageTimestampReader(configuration: newKafka, timeout: timeout, logger: logger)
        } catch {
            await oldReader.close()
            throw error
        }
        do {
            for partition in carried {
                let offset = nodes[partition]?.offset ?? 0
                do {
                    translations[partition] = try await OffsetTranslation.reference(
                        partition: partition, committed: offset, old: oldWatermarks[partition]!
                    ) { try await oldReader.sample(partition, atOrAfter: $0) }
                } catch let missing as MissingTimestamp {
                    translations[partition] = OffsetTranslation(
                        partition: partition, oldOffset: offset, refusal: "old cluster: \(missing)")
                }
            }
            let bounds = translations.compactMapValues { $0.bound?.earliestAccepted }
            var answers: [TopicPartition: Int64] = [:]
            do {
                answers = try await newAdmin.offsets(forTimestamps: bounds, timeout: timeout)
            } catch let error as KafkaError {
                warnings.append(
                    "the new cluster's offsets-for-times failed (\(error.message)): searched every partition")
            }
            for partition in carried where translations[partition]?.refusal == nil {
                do {
                    try await translations[partition]!.locate(
                        in: newWatermarks[partition]!, brokerAnswer: answers[partition]
                    ) { try await newReader.sample(partition, atOrAfter: $0) }
                } catch let missing as MissingTimestamp {
                    translations[partition]!.refusal = "new cluster: \(missing)"
                    translations[partition]!.newOffset = nil
                }
            }
            let fetched = (await oldReader.fetches, await newReader.fetches)
            logger.info(
                "translated offsets by message time",
                metadata: [
                    "group": "\(group)", "partitions": "\(carried.count)", "fetches.old": "\(fetched.0)",
                    "fetches.new": "\(fetched.1)",
                ])
        } catch {
            await oldReader.close()
            await newReader.close()
            throw error
        }
        await oldReader.close()
        await newReader.close()

        var plan = ClusterMigrationPlan(
            group: group, target: target, translations: Array(translations.values), refusals: refusals,
            warnings: warnings)
        switch target {
        case .kafka:
            plan.kafkaCurrent = try await newAdmin.committedOffsets(group: group, partitions: carried, timeout: timeout)
        case .zookeeper(let targetInventory):
            plan.zooKeeperCurrent = try await targetInventory.offsets(group: group, partitions: carried)
            try OffsetPlan(
                changes: plan.pending.map {
                    OffsetChange(
                        group: group, partition: $0.partition, currentNode: plan.zooKeeperCurrent[$0.partition],
                        new: $0.offset)
                }
            ).refuseMalformed()
        }
        return plan
    }

    /// Writes the plan's pending offsets to the target: Kafka group offsets (OffsetCommit without joining a
    /// broker group, in requests of at most `batchSize` partitions), or ZooKeeper znodes in transactions
    /// conditional on the versions read for the plan. Throws `OperationRefusal` and writes nothing when the
    /// plan has refusals.
    public static func apply(
        _ plan: ClusterMigrationPlan, newAdmin: KafkaAdminClient, batchSize: Int = 1_000,
        timeout: Duration = .seconds(30), progress: @Sendable (Int, Int) -> Void = { _, _ in }
    ) async throws -> ApplySummary {
        guard !plan.isRefused else {
            throw OperationRefusal(
                (plan.allRefusals + ["refusing to migrate group '\(plan.group)'; nothing was written"])
                    .joined(separator: "\n"))
        }
        let pending = plan.pending
        switch plan.target {
        case .kafka:
            var summary = ApplySummary(unchanged: plan.translations.count - pending.count)
            let store = try KafkaOffsetStore(group: plan.group, admin: newAdmin, timeout: timeout)
            var start = 0
            while start < pending.count {
                let batch = pending[start..<min(start + batchSize, pending.count)]
                try await store.commit(Dictionary(uniqueKeysWithValues: batch.map { ($0.partition, $0.offset) }))
                summary.written += batch.count
                summary.transactions += 1
                start += batchSize
                progress(summary.written, pending.count)
            }
            summary.groups = pending.isEmpty ? 0 : 1
            return summary
        case .zookeeper(let targetInventory):
            let changes = pending.map {
                OffsetChange(
                    group: plan.group, partition: $0.partition, currentNode: plan.zooKeeperCurrent[$0.partition],
                    new: $0.offset)
            }
            var summary = try await OffsetPlan(changes: changes).apply(
                client: targetInventory.client, progress: progress)
            summary.unchanged = plan.translations.count - pending.count
            return summary
        }
    }

    /// Refuses a group with broker-side members; returns a warning when the brokers cannot tell.
    private static func refuseBrokerMembers(
        group: String, side: String, admin: KafkaAdminClient, timeout: Duration
    ) async throws -> String? {
        do {
            let members = try await admin.groupMembers(group: group, timeout: timeout)
            if !members.isEmpty {
                throw OperationRefusal(
                    "group '\(group)' has \(members.count) active member(s) on the \(side) cluster's brokers "
                        + "(\(members.joined(separator: ", "))): stop its consumers first; nothing was written")
            }
            return nil
        } catch let error as KafkaError where error.code == .unsupportedFeature {
            return "the \(side) cluster's brokers cannot list group members (\(error.code)); they refuse offset "
                + "commits while group '\(group)' has active members there"
        }
    }
}
