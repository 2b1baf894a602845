import Logging
import Synchronization

/// Consumes a group's topics from Kafka and keeps the group's offsets in ZooKeeper, so that a restart resumes
/// exactly after the last committed message.
///
/// Start-up resolves every partition's start (stored offset, or the reset policy, never silently) and writes it
/// to ZooKeeper before the first message is handed out. The application processes each batch, marks it
/// processed and commits; only processed offsets are ever committed, all changed partitions in one transaction.
/// Offsets never move backwards unless an operator resets them.
///
/// Guarantee: at-least-once (messages after the last commit are delivered again after a crash). For
/// exactly-once, commit the results with the offsets: `commit(extraOperations:)`.
public final class OffsetConsumer: Sendable {
    public let configuration: ConsumerConfiguration
    private let logger: Logger
    private let kafka: KafkaPartitionConsumer
    private let resolver: StartResolver
    private var admin: KafkaAdminClient { resolver.admin }
    private let zooKeeper: Mutex<(client: ZooKeeperClient, store: ZooKeeperOffsetStore)>
    /// This consumer's registration and partition ownership, when it joins the group.
    public var membership: GroupMembership? { resolver.membership }

    private struct State {
        /// The next offset to fetch per partition: what was delivered, +1.
        var fetched: [TopicPartition: Int64] = [:]
        /// The next offset to consume per partition, as far as the application has processed.
        var processed: [TopicPartition: Int64] = [:]
        var startPositions: [StartPosition] = []
        var lastCommit = ContinuousClock.now
        var lastRefresh = ContinuousClock.now
        var stopping = false
        var closed = false
    }

    private let state = Mutex(State())

    private init(
        configuration: ConsumerConfiguration, logger: Logger, kafka: KafkaPartitionConsumer, resolver: StartResolver,
        client: ZooKeeperClient, store: ZooKeeperOffsetStore
    ) {
        self.configuration = configuration
        self.logger = logger
        self.kafka = kafka
        self.resolver = resolver
        self.zooKeeper = Mutex((client, store))
    }

    /// Connects to ZooKeeper and Kafka, resolves and records every partition's start, and assigns the partitions.
    /// Fails with a clear error (and within the configured timeouts) when either is unreachable, a name is invalid,
    /// a topic is unknown, an offset znode is malformed, or an offset cannot be placed under the policies.
    public static func start(
        _ configuration: ConsumerConfiguration, logger: Logger = Logger(label: "zkoffsets")
    ) async throws -> OffsetConsumer {
        try OffsetLayout.validateGroup(configuration.group)
        guard !configuration.topics.isEmpty else { throw OffsetError(.invalidInput, "no topic to consume") }
        for topic in configuration.topics { try OffsetLayout.validateTopic(topic) }

        let client = try await ZooKeeperClient.connect(configuration.zookeeper, logger: logger)
        let admin: KafkaAdminClient
        do {
            admin = try KafkaAdminClient(configuration: configuration.kafka, logger: logger)
        } catch {
            await client.close()
            throw error
        }
        do {
            let store = try ZooKeeperOffsetStore(client: client, group: configuration.group, logger: logger)
            let membership = configuration.joinsGroup ? GroupMembership(layout: store.layout, logger: logger) : nil
            let resolver = StartResolver(
                configuration: configuration, admin: admin, membership: membership, logger: logger
            )
            let partitions = try await resolver.subscribedPartitions()
            try await membership?.join(
                client, topics: configuration.topics, partitions: partitions,
                patience: patience(configuration, client)
            )
            let starts = try await resolver.resolveAndRecord(partitions, store: store)
            // The fetching client is made only now, right before its assignment: made earlier, librdkafka's first
            // fetch sometimes waited a whole second (its broker thread's idle timer), seen as a 1 s restart.
            let kafka = try KafkaPartitionConsumer(configuration: configuration.kafka, logger: logger)
            do {
                try kafka.assign(Dictionary(uniqueKeysWithValues: starts.map { ($0.partition, $0.offset) }))
            } catch {
                await kafka.close()
                throw error
            }
            let consumer = OffsetConsumer(
                configuration: configuration, logger: logger, kafka: kafka, resolver: resolver, client: client,
                store: store
            )
            consumer.state.withLock { state in
                state.startPositions = starts
                for start in starts {
                    state.fetched[start.partition] = start.offset
                    state.processed[start.partition] = start.offset
                }
            }
            return consumer
        } catch {
            await admin.close()
            await client.close()
            throw error
        }
    }

    /// Where each partition started, and why (stored, reset policy, out of range with the skipped count).
    public var startPositions: [StartPosition] { state.withLock { $0.startPositions } }

    /// The partitions being consumed.
    public var assignment: [TopicPartition] { state.withLock { $0.fetched.keys.sorted() } }

    /// The ZooKeeper client the consumer commits with (for the application's own reads; it changes after a
    /// session expiry).
    public var zooKeeperClient: ZooKeeperClient { zooKeeper.withLock { $0.client } }

    // MARK: Consuming

    /// The next batch of messages (empty when none arrived within `pollTimeout`), or nil once `stop()` was
    /// called. Commits on the configured interval and looks for new partitions before fetching.
    public func nextBatch() async throws -> [KafkaMessage]? {
        let (stopping, commitDue, refreshDue) = state.withLock { state in
            let now = ContinuousClock.now
            let commitDue = configuration.commitInterval.map { now - state.lastCommit >= $0 } ?? false
            return (state.stopping, commitDue, now - state.lastRefresh >= configuration.metadataRefreshInterval)
        }
        if stopping { return nil }
        switch zooKeeperClient.state {
        case .suspended, .connecting:
            // The session is in doubt: messages fetched now could not be committed. Wait for it instead.
            try await Task.sleep(for: configuration.pollTimeout)
            return []
        case .expired:
            logger.warning("ZooKeeper session expired; reconnecting")
            _ = try await reconnect()
        default:
            break
        }
        if commitDue {
            do {
                try await commit()
            } catch {
                // The processed offsets stay in memory; the next interval tries again.
                logger.warning("interval commit failed; will retry", metadata: ["error": "\(error)"])
                state.withLock { $0.lastCommit = .now }
            }
        }
        if refreshDue { try await refreshPartitions() }
        let batch: [KafkaMessage]
        do {
            batch = try await kafka.nextBatch(
                maxMessages: configuration.maxBatchSize, timeout: configuration.pollTimeout
            )
        } catch let error as KafkaError where error.code == .offsetOutOfRange && error.topicPartition != nil {
            try await repositionOutOfRange(error.topicPartition!)
            return []
        }
        if !batch.isEmpty {
            let positions = Self.nextOffsets(of: batch)  // one dictionary update per partition, not per message
            state.withLock { $0.fetched.merge(positions) { $1 } }
        }
        return batch
    }

    /// Records that the application has processed `messages`: their offsets become committable.
    /// Offsets only move forward.
    public func markProcessed(_ messages: [KafkaMessage]) {
        markProcessed(Self.nextOffsets(of: messages))
    }

    /// The next offset to consume per partition after `messages`.
    private static func nextOffsets(of messages: [KafkaMessage]) -> [TopicPartition: Int64] {
        guard !messages.isEmpty else { return [:] }
        var highest: [TopicPartition: Int64] = [:]
        var current = messages[0].topicPartition
        var next = messages[0].offset + 1
        for message in messages {
            if message.partition != current.partition || message.topic != current.topic {
                highest[current] = max(highest[current] ?? 0, next)
                current = message.topicPartition
            }
            next = message.offset + 1
        }
        highest[current] = max(highest[current] ?? 0, next)
        return highest
    }

    /// Records processed positions (next offset to consume per partition); lower positions than already recorded
    /// are ignored.
    public func markProcessed(_ positions: [TopicPartition: Int64]) {
        state.withLock { state in
            for (partition, offset) in positions where offset > (state.processed[partition] ?? -1) {
                state.processed[partition] = offset
            }
        }
    }

    /// Commits every processed offset that changed, with `extraOperations` (the application's results) in the
    /// same ZooKeeper transaction: both are applied or neither. After a session expiry it reconnects first.
    @discardableResult
    public func commit(extraOperations: [ZooKeeperOperation] = []) async throws -> CommitSummary {
        try await commit(processing: [], extraOperations: extraOperations)
    }

    /// Commits `batch` as processed together with `extraOperations` (the results it produced), in one
    /// transaction: the batch counts as processed only once that transaction applied. If it fails, neither the
    /// results nor the batch's offsets are committed, not even by a later commit or the last commit on close:
    /// the batch is delivered again after a restart, and its results are computed again.
    @discardableResult
    public func commit(
        processing batch: [KafkaMessage], extraOperations: [ZooKeeperOperation] = []
    ) async throws -> CommitSummary {
        let batchPositions = Self.nextOffsets(of: batch)
        let offsets = state.withLock { state in
            state.lastCommit = .now
            return state.processed.merging(batchPositions) { max($0, $1) }
        }
        let summary = try await commit(offsets, extraOperations: extraOperations)
        markProcessed(batchPositions)
        return summary
    }

    private func commit(
        _ offsets: [TopicPartition: Int64], extraOperations: [ZooKeeperOperation]
    ) async throws -> CommitSummary {
        let store = zooKeeper.withLock { $0.store }
        let fencing = resolver.fencing(offsets.keys)
        do {
            return try await store.commit(offsets, extraOperations: extraOperations, fencing: fencing)
        } catch let error as ZooKeeperError where error.code == .sessionExpired {
            logger.warning("ZooKeeper session expired; reconnecting before committing")
            let store = try await reconnect()
            return try await store.commit(offsets, extraOperations: extraOperations, fencing: fencing)
        }
    }

    /// True when every assigned partition has been fetched up to its log end (asks the brokers).
    public func isCaughtUp() async throws -> Bool {
        let fetched = state.withLock { $0.fetched }
        let watermarks = try await admin.watermarks(for: Array(fetched.keys), timeout: configuration.kafkaTimeout)
        return fetched.allSatisfy { partition, position in position >= (watermarks[partition]?.high ?? 0) }
    }

    /// Stops handing out batches: `nextBatch` returns nil from now on. Call `close()` afterwards.
    public func stop() {
        state.withLock { $0.stopping = true }
    }

    /// Commits what was processed (a last commit), then closes the Kafka and ZooKeeper clients. Idempotent.
    public func close() async throws {
        let alreadyClosed = state.withLock { state in
            defer { state.closed = true; state.stopping = true }
            return state.closed
        }
        if alreadyClosed { return }
        var failure: (any Error)?
        do {
            let summary = try await commit()
            logger.info("final commit", metadata: ["written": "\(summary.written)"])
        } catch {
            failure = error
        }
        await shutDownClients()
        if let failure { throw failure }
    }

    // MARK: Partitions and starts

    private func refreshPartitions() async throws {
        state.withLock { $0.lastRefresh = .now }
        let known = Set(state.withLock { $0.fetched.keys })
        let partitions: [TopicPartition]
        do {
            partitions = try await resolver.subscribedPartitions()
        } catch {
            logger.warning("metadata refresh failed; will retry", metadata: ["error": "\(error)"])
            return
        }
        let added = partitions.filter { !known.contains($0) }
        guard !added.isEmpty else { return }
        let client = zooKeeperClient
        try await membership?.claim(client, partitions: added, patience: Self.patience(configuration, client))
        let starts = try await resolver.resolveAndRecord(added, store: zooKeeper.withLock { $0.store })
        try kafka.addPartitions(Dictionary(uniqueKeysWithValues: starts.map { ($0.partition, $0.offset) }))
        state.withLock { state in
            state.startPositions += starts
            for start in starts {
                state.fetched[start.partition] = start.offset
                state.processed[start.partition] = start.offset
            }
        }
        logger.info("new partitions found", metadata: ["partitions": "\(added.map(\.description))"])
    }

    /// The fetch position fell out of the log while consuming (retention overtook a slow consumer, or the log
    /// was truncated): apply the policies as at start-up, then fetch from the new position.
    private func repositionOutOfRange(_ partition: TopicPartition) async throws {
        let position = state.withLock { $0.fetched[partition] ?? 0 }
        let watermarks = try await admin.watermarks(for: [partition], timeout: configuration.kafkaTimeout)
        let start = try StartPosition.resolve(
            partitions: [partition], stored: [partition: position], watermarks: watermarks,
            policy: configuration.resetPolicy, resetAboveLogEnd: configuration.resetAboveLogEnd
        )[0]
        logger.warning("fetch position out of range: \(start)")
        let positions = state.withLock { state in
            state.fetched[partition] = start.offset
            if start.offset > (state.processed[partition] ?? -1) { state.processed[partition] = start.offset }
            return state.fetched
        }
        try kafka.assign(positions)
    }

    private func reconnect() async throws -> ZooKeeperOffsetStore {
        let client = try await ZooKeeperClient.connect(configuration.zookeeper, logger: logger)
        let store = try ZooKeeperOffsetStore(client: client, group: configuration.group, logger: logger)
        do {
            // A new session owns nothing: register and claim again (another consumer may have taken over).
            try await membership?.join(
                client, topics: configuration.topics, partitions: assignment,
                patience: Self.patience(configuration, client)
            )
        } catch {
            await client.close()
            throw error
        }
        let old = zooKeeper.withLock { zooKeeper in
            defer { zooKeeper = (client, store) }
            return zooKeeper.client
        }
        await old.close()
        return store
    }

    /// How long a claim waits for owner znodes of another session.
    private static func patience(_ configuration: ConsumerConfiguration, _ client: ZooKeeperClient) -> Duration {
        configuration.ownershipPatience ?? client.negotiatedSessionTimeout + .seconds(2)
    }

    private func shutDownClients() async {
        await kafka.close()
        await admin.close()
        await zooKeeper.withLock { $0.client }.close()
    }
}
