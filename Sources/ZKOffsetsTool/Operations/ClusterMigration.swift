import BlockingCalls
import ZKOffsets
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
            // Every partition searches at once; each reader batches their fetches into rounds.
            let references = try await searchAll(carried, reader: oldReader) { partition in
                let committed: Int64 = nodes[partition]?.offset ?? 0
                let old: Watermarks = oldWatermarks[partition]!
                return try await OffsetTranslation.reference(partition: partition, committed: committed, old: old) {
                    try await oldReader.sample(partition, atOrAfter: $0)
                }
            }
            for (partition, result) in references {
                switch result {
                case .success(let translation):
                    translations[partition] = translation
                case .failure(let missing):
                    translations[partition] = OffsetTranslation(
                        partition: partition, oldOffset: nodes[partition]?.offset ?? 0,
                        refusal: "old cluster: \(missing)")
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
            let searching = carried.filter { translations[$0]?.refusal == nil }
            let started = translations
            let brokerAnswers = answers
            let located = try await searchAll(searching, reader: newReader) { partition in
                var translation: OffsetTranslation = started[partition]!
                let new: Watermarks = newWatermarks[partition]!
                try await translation.locate(in: new, brokerAnswer: brokerAnswers[partition]) {
                    try await newReader.sample(partition, atOrAfter: $0)
                }
                return translation
            }
            for (partition, result) in located {
                switch result {
                case .success(let translation):
                    translations[partition] = translation
                case .failure(let missing):
                    translations[partition]?.refusal = "new cluster: \(missing)"
                    translations[partition]?.newOffset = nil
                }
            }
            let oldFetches = await oldReader.fetches
            let oldRounds = await oldReader.rounds
            let newFetches = await newReader.fetches
            let newRounds = await newReader.rounds
            logger.info(
                "translated offsets by message time",
                metadata: [
                    LogKey.group: "\(group)", LogKey.partitions: "\(carried.count)", LogKey.fetchesOld: "\(oldFetches)",
                    LogKey.roundsOld: "\(oldRounds)", LogKey.fetchesNew: "\(newFetches)",
                    LogKey.roundsNew: "\(newRounds)",
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

    /// Runs `body` for every partition concurrently, as announced searchers of `reader`. A partition whose
    /// messages carry no timestamp is a `.failure`; any other error is thrown once every search ended.
    private static func searchAll(
        _ partitions: [TopicPartition], reader: MessageTimestampReader,
        _ body: @escaping @Sendable (TopicPartition) async throws -> OffsetTranslation
    ) async throws -> [TopicPartition: Result<OffsetTranslation, MissingTimestamp>] {
        await reader.expectSearchers(partitions.count)
        return try await withThrowingTaskGroup(of: SearchOutcome.self) { group in
            for partition in partitions {
                group.addTask {
                    let outcome: SearchOutcome
                    do {
                        outcome = SearchOutcome(partition: partition, translation: try await body(partition))
                    } catch {
                        outcome = SearchOutcome(partition: partition, error: error)
                    }
                    await reader.leave()
                    return outcome
                }
            }
            var results: [TopicPartition: Result<OffsetTranslation, MissingTimestamp>] = [:]
            var firstError: (any Error)?
            for try await outcome in group {
                if let translation = outcome.translation {
                    results[outcome.partition] = .success(translation)
                } else if let missing = outcome.error as? MissingTimestamp {
                    results[outcome.partition] = .failure(missing)
                } else if firstError == nil {
                    firstError = outcome.error
                }
            }
            if let firstError { throw firstError }
            return results
        }
    }

    private struct SearchOutcome: Sendable {
        var partition: TopicPartition
        var translation: OffsetTranslation?
        var error: (any Error)?

        init(partition: TopicPartition, translation: OffsetTranslation) {
            self.partition = partition
            self.translation = translation
        }

        init(partition: TopicPartition, error: any Error) {
            self.partition = partition
            self.error = error
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
