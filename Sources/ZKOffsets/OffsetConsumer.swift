import BlockingCalls
import Logging
import Synchronization

/// Consumes a group's topics from Kafka as one member of a Kafka 0.8 ZooKeeper consumer group, and keeps the
/// group's offsets in ZooKeeper, so that a restart resumes exactly after the last committed message.
///
/// Members share the partitions as Kafka 0.8.2's assignors do (`ConsumerConfiguration.assignmentStrategy`), so
/// zkoffsets members and Java members of one group agree. A change of the members, of the partitions or of our
/// own session starts a rebalance, by watch: a member giving up partitions stops handing out their messages, and
/// at its next `nextBatch` (the application is done with the batch in hand) commits their processed offsets and
/// deletes their owner znodes in one ZooKeeper transaction; the member taking them claims them the moment the
/// owner znodes go and starts exactly at the committed offsets. A graceful move repeats no message.
///
/// Start positions are resolved per partition (stored offset, or the reset policy, never silently) and written
/// before the first message of the partition is handed out. Only processed offsets are ever committed, all
/// changed partitions in one transaction fenced by our owner znodes. Offsets never move backwards unless an
/// operator resets them.
///
/// Guarantee: at-least-once (messages after the last commit are delivered again after a crash). For
/// exactly-once, commit the results with the offsets: `commit(processing:extraOperations:)`.
public final class OffsetConsumer: Sendable {
    /// What the consumer was started with.
    public let configuration: ConsumerConfiguration
    private let logger: Logger
    private let session: ZooKeeperSession
    private let admin: KafkaAdminClient
    private let kafka: KafkaPartitionConsumer
    private let resolver: StartResolver
    private let changes: AsyncStream<AssignmentChange>.Continuation
    /// Every change of this member's partitions, as it happens (the newest 64 are kept for a slow reader).
    public let assignmentChanges: AsyncStream<AssignmentChange>
    /// This consumer's registration and partition ownership (nil when it does not join the group).
    public var membership: GroupMembership? { resolver.membership }

    /// A partition this member owns: claimed with which session, and from which offset it was started. Messages
    /// below the start were fetched in an earlier ownership and are never committed.
    private struct Ownership {
        var sessionID: Int64
        var start: Int64
    }

    private struct State {
        var machine: ConsumerStateMachine
        var store: GroupOffsetStores
        var partitions: [String: [Int32]]
        var owned: [TopicPartition: Ownership] = [:]
        /// Partitions of our assignment still owned by another member, each with the watch on its owner znode.
        var waiting: [TopicPartition: Task<Void, Never>] = [:]
        var groupWatch: Task<Void, Never>?
        var background: [Task<Void, Never>] = []
        /// The next offset to fetch per owned partition: what was delivered, +1.
        var fetched: [TopicPartition: Int64] = [:]
        /// The next offset to consume per owned partition, as far as the application has processed.
        var processed: [TopicPartition: Int64] = [:]
        var startPositions: [TopicPartition: StartPosition] = [:]
        var lastCommit = ContinuousClock.now
        var lastRefresh = ContinuousClock.now
        var lastAudit = ContinuousClock.now
        var lastLag = ContinuousClock.now
        /// The lag lookup in flight (it asks the brokers, which may be slow or down: not on the fetch path).
        var lagLookup: Task<Void, Never>?
        /// The interval commit in flight (ZooKeeper's fsync can take a while: not on the fetch path either).
        var intervalCommit: Task<Void, Never>?
        var closed = false
    }

    private let state: Mutex<State>

    private init(
        configuration: ConsumerConfiguration, logger: Logger, session: ZooKeeperSession, admin: KafkaAdminClient,
        kafka: KafkaPartitionConsumer, resolver: StartResolver, store: GroupOffsetStores,
        partitions: [String: [Int32]]
    ) {
        self.configuration = configuration
        self.logger = logger
        self.session = session
        self.admin = admin
        self.kafka = kafka
        self.resolver = resolver
        (assignmentChanges, changes) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(64))
        let machine = ConsumerStateMachine(sessionTimeout: session.client.negotiatedSessionTimeout)
        state = Mutex(State(machine: machine, store: store, partitions: partitions))
    }

    /// Connects to ZooKeeper and Kafka, joins the group, claims this member's partitions that are free, resolves
    /// and records their starts, and assigns them. Partitions still owned by another member (one that is leaving,
    /// or a crashed one whose session has not expired yet) are claimed later, the moment their owner goes.
    ///
    /// Fails with a clear error (and within the configured timeouts) when either is unreachable, a name is invalid,
    /// a topic is unknown, an offset znode is malformed, or an offset cannot be placed under the policies.
    public static func start(
        _ configuration: ConsumerConfiguration, logger: Logger = Logger(label: "zkoffsets")
    ) async throws -> OffsetConsumer {
        try OffsetLayout.validateGroup(configuration.group)
        guard !configuration.topics.isEmpty else { throw OffsetError(.invalidInput, "no topic to consume") }
        for topic in configuration.topics { try OffsetLayout.validateTopic(topic) }

        let session = try await ZooKeeperSession.connect(configuration.zookeeper, logger: logger)
        let admin: KafkaAdminClient
        do {
            admin = try KafkaAdminClient(configuration: configuration.kafka, logger: logger)
        } catch {
            await session.close()
            throw error
        }
        do {
            let store = try GroupOffsetStores(
                storage: configuration.offsetStorage, client: session.client, group: configuration.group,
                admin: admin, timeout: configuration.kafkaTimeout, logger: logger)
            let membership =
                configuration.joinsGroup ? GroupMembership(layout: store.zooKeeper.layout, logger: logger) : nil
            let resolver = StartResolver(
                configuration: configuration, admin: admin, membership: membership, logger: logger)
            let partitions = try await resolver.subscribedPartitions()
            // The fetching client is made right before its first assignment: made much earlier, librdkafka's first
            // fetch sometimes waited a whole second (its broker thread's idle timer), seen as a 1 s restart.
            let kafka = try KafkaPartitionConsumer(configuration: configuration.kafka, logger: logger)
            let consumer = OffsetConsumer(
                configuration: configuration, logger: logger, session: session, admin: admin, kafka: kafka,
                resolver: resolver, store: store, partitions: Self.byTopic(partitions))
            do {
                try await consumer.settle()
            } catch {
                consumer.cancelBackgroundWork()
                await kafka.close()
                throw error
            }
            consumer.startBackgroundWork()
            return consumer
        } catch {
            await admin.close()
            await session.close()
            throw error
        }
    }

    /// Where each partition of the assignment started, and why (stored, reset policy, out of range with the
    /// skipped count); the latest start per partition.
    public var startPositions: [StartPosition] {
        state.withLock { $0.startPositions.values.sorted { $0.partition < $1.partition } }
    }

    /// The partitions this member consumes now.
    public var assignment: [TopicPartition] { state.withLock { $0.owned.keys.sorted() } }

    /// Partitions of this member's share that another member still owns (it is leaving, or it crashed and its
    /// session has not expired yet); each is claimed the moment its owner znode goes.
    public var waitingFor: [TopicPartition] { state.withLock { $0.waiting.keys.sorted() } }

    /// The ZooKeeper client of the current session (for the application's own reads; it changes after a
    /// session expiry).
    public var zooKeeperClient: ZooKeeperClient { session.client }

    // MARK: Consuming

    /// The next batch of messages (empty when none arrived within `pollTimeout`), or nil once `stop()` was
    /// called. Before fetching it handles what happened since the last call: a rebalance (releasing partitions
    /// after the batch in hand, claiming free ones), a new session (rejoining), the commit interval, new
    /// partitions. While the session is in doubt it fetches nothing.
    ///
    /// Throws what the application must hear about: a malformed offset znode, an offset outside the log under the
    /// policies, an unknown topic (also one deleted while consuming, seen at the next metadata refresh), members
    /// whose subscriptions rule out the assignment strategy. Connection problems are retried, not thrown.
    public func nextBatch() async throws -> [KafkaMessage]? {
        while true {
            let action = state.withLock { state in
                let now = ContinuousClock.now
                if now - state.lastAudit >= configuration.auditInterval {
                    state.lastAudit = now
                    state.machine.requestRebalance()
                }
                return state.machine.beforeFetch(now: now)
            }
            switch action {
            case .stop:
                return nil
            case .wait:
                try await Task.sleep(for: configuration.pollTimeout)
                return []
            case .rejoin where !session.client.state.isConnected:
                // The session expired and no new one is there yet (the ensemble is unreachable): keep waiting.
                state.withLock { $0.machine.failed(.rejoin) }
                try await Task.sleep(for: configuration.pollTimeout)
                return []
            case .rejoin, .rebalance:
                do {
                    if action == .rejoin { try await rejoin() } else { try await rebalance() }
                } catch where Self.isTransient(error) {
                    state.withLock { $0.machine.failed(action) }
                    logger.info("\(action == .rejoin ? "joining" : "rebalancing") failed; will retry",
                        metadata: [LogKey.error: "\(error)"])
                    try await Task.sleep(for: configuration.pollTimeout)
                    return []
                }
            case .fetch:
                return try await fetch()
            }
        }
    }

    private func fetch() async throws -> [KafkaMessage] {
        let (commitDue, refreshDue, lagDue) = state.withLock { state in
            let now = ContinuousClock.now
            let lagDue = now - state.lastLag >= configuration.auditInterval && state.lagLookup == nil
            if lagDue { state.lastLag = now }
            return (
                state.intervalCommit == nil && (configuration.commitInterval.map { now - state.lastCommit >= $0 } ?? false),
                now - state.lastRefresh >= configuration.metadataRefreshInterval, lagDue
            )
        }
        if lagDue { startLagLookup() }
        if commitDue { startIntervalCommit() }
        if refreshDue { try await refreshPartitions() }
        var batch: [KafkaMessage]
        do {
            batch = try await kafka.nextBatch(maxMessages: configuration.maxBatchSize, timeout: configuration.pollTimeout)
        } catch let error as KafkaError where error.code == .offsetOutOfRange && error.topicPartition != nil {
            try await repositionOutOfRange(error.topicPartition!)
            return []
        }
        guard !batch.isEmpty else { return batch }
        let positions = Self.positions(of: batch)
        let strays = state.withLock { state in
            var strays: Set<TopicPartition> = []
            for (partition, range) in positions {
                if state.owned[partition] == nil {
                    strays.insert(partition)
                } else {
                    state.fetched[partition] = range.next
                }
            }
            return strays
        }
        // Messages of a partition given up in this very call may still have been in the poll: never hand them out.
        if !strays.isEmpty { batch.removeAll { strays.contains($0.topicPartition) } }
        return batch
    }

    /// Records that the application has processed `messages`: their offsets become committable. Offsets only
    /// move forward; messages of partitions this member no longer owns are ignored (their new owner delivers
    /// them again).
    public func markProcessed(_ messages: [KafkaMessage]) {
        mark(Self.positions(of: messages))
    }

    /// Records processed positions (next offset to consume per partition); lower positions than already recorded,
    /// and partitions this member does not own, are ignored.
    public func markProcessed(_ positions: [TopicPartition: Int64]) {
        mark(positions.mapValues { (first: $0 - 1, next: $0) })
    }

    private func mark(_ positions: [TopicPartition: (first: Int64, next: Int64)]) {
        state.withLock { state in
            for (partition, range) in positions {
                guard let ownership = state.owned[partition], range.first >= ownership.start else { continue }
                if range.next > (state.processed[partition] ?? -1) { state.processed[partition] = range.next }
            }
        }
    }

    /// Per partition of `messages`: the first offset, and the next offset to consume after them.
    private static func positions(of messages: [KafkaMessage]) -> [TopicPartition: (first: Int64, next: Int64)] {
        var positions: [TopicPartition: (first: Int64, next: Int64)] = [:]
        var index = messages.startIndex
        // Messages come in runs of one partition: one dictionary update per run, not per message.
        while index < messages.endIndex {
            let partition = messages[index].topicPartition
            var first = messages[index].offset
            var next = first + 1
            var end = index + 1
            while end < messages.endIndex, messages[end].partition == partition.partition,
                messages[end].topic == partition.topic
            {
                first = min(first, messages[end].offset)
                next = max(next, messages[end].offset + 1)
                end += 1
            }
            let known = positions[partition]
            positions[partition] = (min(first, known?.first ?? first), max(next, known?.next ?? next))
            index = end
        }
        return positions
    }

    // MARK: Committing

    /// Commits every processed offset that changed, with `extraOperations` (the application's results) in the
    /// same ZooKeeper transaction: both are applied or neither.
    ///
    /// Throws `fenced` when this member's session expired (its partitions may have moved: nothing is committed,
    /// the next `nextBatch` rejoins), `sessionInDoubt` while the connection has been lost too long,
    /// `concurrentModification` when an offset znode changed under us.
    @discardableResult
    public func commit(extraOperations: [ZooKeeperOperation] = []) async throws -> CommitSummary {
        try await commit(processing: [], extraOperations: extraOperations)
    }

    /// Commits `batch` as processed together with `extraOperations` (the results it produced), in one
    /// transaction: the batch counts as processed only once that transaction applied. If it fails, neither the
    /// results nor the batch's offsets are committed, not even by a later commit or the last commit on close:
    /// the batch is delivered again (after a restart, or by the partition's new owner), and its results are
    /// computed again.
    ///
    /// Throws `fenced`, naming the partitions, when messages of `batch` belong to partitions this member no longer
    /// owns (they moved while the batch was in hand); and what `commit(extraOperations:)` throws.
    @discardableResult
    public func commit(
        processing batch: [KafkaMessage], extraOperations: [ZooKeeperOperation] = []
    ) async throws -> CommitSummary {
        let batchPositions = Self.positions(of: batch)
        let store = state.withLock { $0.store }
        // What to write is read inside the store's gate, and the batch marked before leaving it: a commit waiting
        // there (`ConsumerService` runs one behind the next batch) sees everything committed before it, and never
        // writes an older view over a newer one (offsets moving back, a batch whose results were committed
        // delivered again).
        return try await store.serially {
            let (decision, offsets, strays) = state.withLock { state in
                state.lastCommit = .now
                let strays = batchPositions.filter { partition, range in
                    guard let ownership = state.owned[partition] else { return true }
                    return range.first < ownership.start
                }.keys.sorted()
                var offsets = state.processed
                for (partition, range) in batchPositions where state.owned[partition] != nil {
                    offsets[partition] = max(offsets[partition] ?? 0, range.next)
                }
                return (state.machine.commitDecision(now: .now), offsets, strays)
            }
            try Self.check(decision)
            if !strays.isEmpty {
                throw OffsetError(
                    .fenced,
                    "messages of \(strays.map(\.description).joined(separator: ", ")) were fetched before this member "
                        + "gave those partitions up; nothing of this commit was applied (their new owner delivers them "
                        + "again)")
            }
            let summary: CommitSummary
            do {
                summary = try await store.commitInGate(
                    offsets, extraOperations: extraOperations, fencing: resolver.fencing(offsets.keys))
            } catch let error as ZooKeeperError where error.code == .sessionExpired {
                state.withLock { $0.machine.sessionExpired() }
                throw OffsetError(
                    .fenced, "the ZooKeeper session expired: this member's partitions may have moved; nothing of this "
                        + "commit was applied, and the member joins again")
            } catch let error as OffsetError where error.code == .fenced {
                state.withLock { $0.machine.requestRebalance() }
                throw error
            }
            mark(batchPositions)
            return summary
        }
    }

    private static func check(_ decision: ConsumerStateMachine.CommitDecision) throws {
        switch decision {
        case .commit:
            return
        case .refuseInDoubt:
            throw OffsetError(
                .sessionInDoubt,
                "the ZooKeeper connection has been lost for more than 2/3 of the session timeout; not committing "
                    + "until it is back or a new session has rejoined")
        case .refuseSessionLost:
            throw OffsetError(
                .fenced, "the ZooKeeper session that owned this member's partitions expired; nothing committed")
        case .refuseClosed:
            throw OffsetError(.closed, "the consumer is closed")
        }
    }

    /// True when the group's work is done as far as this member can tell: every partition it owns has been
    /// fetched up to its log end, and every other partition of the subscribed topics has a committed offset at
    /// its log end (so a member restarted after a crash does not count as caught up while the dead member's
    /// partitions wait for its session to expire). Asks the brokers and reads ZooKeeper.
    public func isCaughtUp() async throws -> Bool {
        let (fetched, waiting, partitions, store) = state.withLock {
            ($0.fetched, $0.waiting.isEmpty, $0.partitions, $0.store)
        }
        guard waiting else { return false }
        let others = partitions.flatMap { topic, numbers in numbers.map { TopicPartition(topic: topic, partition: $0) } }
            .filter { fetched[$0] == nil }
        let watermarks = try await admin.watermarks(
            for: Array(fetched.keys) + others, timeout: configuration.kafkaTimeout)
        let committed = others.isEmpty ? [:] : try await store.read(others)
        return fetched.allSatisfy { partition, position in position >= (watermarks[partition]?.high ?? 0) }
            && others.allSatisfy { (committed[$0] ?? 0) >= (watermarks[$0]?.high ?? 0) }
    }

    /// Stops handing out batches: `nextBatch` returns nil from now on. Call `close()` afterwards.
    public func stop() {
        state.withLock { $0.machine.stop() }
        kafka.wakeUp()
    }

    /// A watch saw the group change: rebalance at the next `nextBatch`, and end the poll in progress so that the
    /// next one comes now rather than after the poll timeout.
    private func requestRebalance() {
        state.withLock { $0.machine.requestRebalance() }
        kafka.wakeUp()
    }

    /// Leaves the group gracefully: commits what was processed, deletes the owner znodes and the registration in
    /// the same transaction (so the other members take the partitions over at once, from these offsets), then
    /// closes the Kafka and ZooKeeper clients. Idempotent.
    public func close() async throws {
        let first = state.withLock { state in
            defer { state.closed = true }
            if !state.closed { state.machine.stop() }
            return !state.closed
        }
        guard first else { return }
        // An interval commit in flight finishes first: the last commit (and the leave) comes after it.
        await state.withLock({ $0.intervalCommit })?.value
        let (decision, store, offsets) = state.withLock { state in
            (state.machine.commitDecision(now: .now), state.store, state.processed)
        }
        var failure: (any Error)?
        if decision == .commit {
            do {
                let leave = membership.map { $0.releaseOperations(offsets.keys) + [$0.leaveOperation] } ?? []
                let summary = try await store.commit(
                    offsets, fencing: resolver.fencing(offsets.keys), ownership: leave)
                logger.info("final commit; left the group", metadata: [LogKey.written: "\(summary.written)"])
            } catch let error as OffsetError where error.code == .transactionTooLarge {
                // Too many partitions for one transaction with the deletes: commit alone; closing the session
                // removes the ephemeral znodes right after.
                do { try await store.commit(offsets, fencing: resolver.fencing(offsets.keys)) } catch { failure = error }
            } catch {
                failure = error
            }
        } else {
            logger.info("closing without a last commit: the session that owned the partitions is gone")
        }
        state.withLock { $0.machine.close() }
        cancelBackgroundWork()
        changes.finish()
        await kafka.close()
        // The admin client must outlive a lookup in flight (at most kafkaTimeout).
        await state.withLock({ $0.lagLookup })?.value
        await admin.close()
        await session.close()
        if let failure { throw failure }
    }

    // MARK: Joining and rebalancing

    /// Runs the machine's start-up actions (join, first rebalance) until it would fetch; errors are thrown.
    private func settle() async throws {
        while true {
            switch state.withLock({ $0.machine.beforeFetch(now: .now) }) {
            case .rejoin: try await rejoin()
            case .rebalance: try await rebalance()
            case .fetch, .stop, .wait: return
            }
        }
    }

    /// Forgets every partition (their positions may be stale: another member may have moved them meanwhile) and
    /// registers again with the current session.
    private func rejoin() async throws {
        let client = session.client
        guard client.state.isConnected else {
            throw ZooKeeperError(code: .connectionLoss, message: "no ZooKeeper session to join with yet")
        }
        let (forgotten, watches) = state.withLock { state in
            let forgotten = state.owned.keys.sorted()
            let watches = Array(state.waiting.values) + [state.groupWatch].compactMap { $0 }
            state.owned = [:]
            state.fetched = [:]
            state.processed = [:]
            state.waiting = [:]
            state.groupWatch = nil
            return (forgotten, watches)
        }
        for watch in watches { watch.cancel() }
        try kafka.removePartitions(forgotten)
        if !forgotten.isEmpty {
            logger.info("session lost: partitions forgotten", metadata: [LogKey.partitions: "\(forgotten.count)"])
            changes.yield(AssignmentChange(assigned: [], revoked: forgotten, assignment: []))
        }
        let store = try GroupOffsetStores(
            storage: configuration.offsetStorage, client: client, group: configuration.group, admin: admin,
            timeout: configuration.kafkaTimeout, logger: logger)
        state.withLock { $0.store = store }
        if let membership {
            try await membership.register(
                client, topics: configuration.topics, patience: client.negotiatedSessionTimeout * 2 + .seconds(1))
            watchMembers(client, membership: membership)
        }
        state.withLock { $0.machine.rejoined() }
    }

    /// Computes this member's share, releases what is no longer ours and claims what is free.
    private func rebalance() async throws {
        let client = session.client
        let (store, owned, partitions) = state.withLock { ($0.store, $0.owned, $0.partitions) }
        let target: Set<TopicPartition>
        if let membership {
            var members = try await membership.members(client)
            if !members.contains(where: { $0.consumerID == membership.consumerID }) {
                logger.info("our registration is gone (deleted by someone); registering again")
                try await membership.register(
                    client, topics: configuration.topics, patience: client.negotiatedSessionTimeout + .seconds(1))
                members = try await membership.members(client)
            }
            target = try PartitionAssignor.partitions(
                of: membership.consumerID, configuration.assignmentStrategy, members: members, partitions: partitions)
        } else {
            target = Set(partitions.flatMap { topic, numbers in numbers.map { TopicPartition(topic: topic, partition: $0) } })
        }
        let revoked = Set(owned.keys).subtracting(target).sorted()
        if !revoked.isEmpty { try await release(revoked, client: client, store: store) }
        let wanted = target.subtracting(owned.keys).sorted()
        var assigned = wanted
        if let membership {
            let claim = try await membership.claim(client, partitions: wanted)
            watchOwners(of: Set(claim.taken.keys), client: client, membership: membership)
            assigned = claim.claimed.sorted()
            if !claim.taken.isEmpty {
                let some = claim.taken.sorted { $0.key < $1.key }.prefix(3).map { "\($0.key) (\($0.value))" }
                logger.info(
                    "waiting for partitions another member still owns",
                    metadata: [LogKey.count: "\(claim.taken.count)", LogKey.first: "\(some.joined(separator: ", "))"])
            }
        }
        if !assigned.isEmpty { try await begin(assigned, client: client, store: store) }
        if !revoked.isEmpty || !assigned.isEmpty {
            store.zooKeeper.metrics.recordRebalance()
            let change = AssignmentChange(assigned: assigned, revoked: revoked, assignment: assignment)
            logger.info("rebalanced: \(change)")
            changes.yield(change)
        }
    }

    /// Resolves and records the starts of newly claimed partitions and adds them to the fetch. A partition that
    /// cannot start (malformed offset, outside the log) is not kept owned: its owner znode is deleted again.
    private func begin(_ partitions: [TopicPartition], client: ZooKeeperClient, store: GroupOffsetStores) async throws {
        do {
            let starts = try await resolver.resolveAndRecord(partitions, store: store)
            try kafka.addPartitions(Dictionary(uniqueKeysWithValues: starts.map { ($0.partition, $0.offset) }))
            for start in starts { Self.recordReset(start, metrics: store.zooKeeper.metrics) }
            state.withLock { state in
                for start in starts {
                    state.owned[start.partition] = Ownership(sessionID: client.sessionID, start: start.offset)
                    state.fetched[start.partition] = start.offset
                    state.processed[start.partition] = start.offset
                    state.startPositions[start.partition] = start
                }
            }
        } catch {
            if let membership { await deleteOwners(partitions, client: client, membership: membership) }
            throw error
        }
    }

    /// Gives partitions up after the batch in hand: no more of their messages, their processed offsets committed
    /// with the deletion of their owner znodes in one transaction.
    private func release(_ partitions: [TopicPartition], client: ZooKeeperClient, store: GroupOffsetStores) async throws {
        try kafka.removePartitions(partitions)
        let offsets = state.withLock { state in
            var offsets: [TopicPartition: Int64] = [:]
            for partition in partitions {
                offsets[partition] = state.processed.removeValue(forKey: partition)
                state.owned[partition] = nil
                state.fetched[partition] = nil
            }
            return offsets
        }
        guard let membership else { return }
        do {
            try await store.commit(
                offsets, fencing: resolver.fencing(partitions), ownership: membership.releaseOperations(partitions))
        } catch {
            // The partitions must go to their new owner all the same; what was processed since the last commit is
            // delivered again there.
            logger.info(
                "could not commit the offsets of the partitions given up; releasing them anyway",
                metadata: [LogKey.error: "\(error)", LogKey.partitions: "\(partitions.map(\.description))"])
            await deleteOwners(partitions, client: client, membership: membership)
        }
    }

    /// Deletes those owner znodes of `partitions` that belong to our session (never another member's).
    private func deleteOwners(_ partitions: [TopicPartition], client: ZooKeeperClient, membership: GroupMembership) async {
        let paths = partitions.map { membership.layout.ownerPath($0) }
        for (path, result) in zip(paths, await client.getData(paths)) {
            guard case .success(let node) = result, node.stat.ephemeralOwner == client.sessionID else { continue }
            try? await client.delete(path)
        }
    }

    /// Looks for partitions added to the subscribed topics; a change starts a rebalance. A subscribed topic the
    /// brokers no longer know (deleted) is thrown as `unknownTopic`: nothing more can come from it, and its offsets
    /// must stay as they are (a topic created again under the same name starts at offset 0 again: an operator
    /// decides whether to reset them).
    private func refreshPartitions() async throws {
        state.withLock { $0.lastRefresh = .now }
        let partitions: [TopicPartition]
        do {
            partitions = try await resolver.subscribedPartitions()
        } catch let error as OffsetError where error.code == .unknownTopic {
            throw OffsetError(
                .unknownTopic,
                "a subscribed topic disappeared while consuming: \(error.message); the consumer stops, and the "
                    + "group's offsets in ZooKeeper are left as they are")
        } catch {
            logger.info("metadata refresh failed; will retry", metadata: [LogKey.error: "\(error)"])
            return
        }
        let byTopic = Self.byTopic(partitions)
        state.withLock { state in
            guard state.partitions != byTopic else { return }
            logger.info("the subscribed topics' partitions changed; rebalancing")
            state.partitions = byTopic
            state.machine.requestRebalance()
        }
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
        logger.info("fetch position out of range: \(start)")
        Self.recordReset(start, metrics: state.withLock { $0.store.zooKeeper.metrics })
        state.withLock { state in
            state.fetched[partition] = start.offset
            if start.offset > (state.processed[partition] ?? -1) { state.processed[partition] = start.offset }
        }
        try kafka.removePartitions([partition])
        try kafka.addPartitions([partition: start.offset])
    }

    // MARK: Watches and background work

    /// Follows the session (suspended, expired, new session) and feeds its events to the machine.
    private func startBackgroundWork() {
        let events = session.events()
        let session = self.session
        let follow = Task { [weak self] in
            for await event in events {
                guard let self else { return }
                self.state.withLock { state in
                    switch event {
                    case .suspended: state.machine.sessionSuspended(at: .now)
                    case .reconnected: state.machine.sessionReconnected()
                    case .expired: state.machine.sessionExpired()
                    case .newSession: state.machine.newSession()
                    case .closed: break
                    }
                }
                self.logger.info("ZooKeeper session \(event)")
            }
        }
        let run = Task { await session.run() }
        state.withLock { $0.background += [follow, run] }
    }

    private func cancelBackgroundWork() {
        let tasks = state.withLock { state in
            defer {
                state.background = []
                state.waiting = [:]
                state.groupWatch = nil
            }
            return state.background + Array(state.waiting.values) + [state.groupWatch].compactMap { $0 }
        }
        for task in tasks { task.cancel() }
    }

    /// A change of the group's members (`ids` children) starts a rebalance.
    private func watchMembers(_ client: ZooKeeperClient, membership: GroupMembership) {
        let watch = Task { [weak self] in
            var first = true
            do {
                for try await _ in client.watchChildren(membership.layout.idsPath) {
                    if first {
                        first = false
                        continue
                    }
                    self?.requestRebalance()
                }
            } catch {
                // The session ended (the events bring the rejoin) or the ids znode was deleted (the audit
                // registers again).
            }
        }
        state.withLock { $0.groupWatch = watch }
    }

    /// Watches the owner znodes of partitions of our share that another member still owns; the moment one goes,
    /// a rebalance claims it. Watches of partitions no longer waited for are cancelled.
    private func watchOwners(of partitions: Set<TopicPartition>, client: ZooKeeperClient, membership: GroupMembership) {
        let cancelled = state.withLock { state in
            var cancelled: [Task<Void, Never>] = []
            for (partition, watch) in state.waiting where !partitions.contains(partition) {
                cancelled.append(watch)
                state.waiting[partition] = nil
            }
            for partition in partitions where state.waiting[partition] == nil {
                let path = membership.layout.ownerPath(partition)
                state.waiting[partition] = Task { [weak self] in
                    do {
                        for try await data in client.watchData(path) where data == nil {
                            self?.requestRebalance()
                            return
                        }
                    } catch {}
                }
            }
            return cancelled
        }
        for watch in cancelled { watch.cancel() }
    }

    // MARK: Helpers

    /// Counts a start that the reset policy placed, with the messages it skipped.
    private static func recordReset(_ start: StartPosition, metrics: ConsumerMetrics) {
        switch start.reason {
        case .stored: return
        case .noStoredOffset, .aboveLogEnd: metrics.recordReset(start.partition, skippedMessages: 0)
        case .belowLogStart(_, let skipped, _): metrics.recordReset(start.partition, skippedMessages: skipped)
        }
    }

    /// Commits what was processed, in the background: the fetch goes on while ZooKeeper writes (commits run one at
    /// a time in the store's gate, each writing what was processed when its turn came). A failure is logged; the
    /// processed offsets stay in memory and the next interval tries again.
    private func startIntervalCommit() {
        // Created under the lock, so the task's own "done" (which takes the lock) comes after it is stored.
        state.withLock { state in
            state.lastCommit = .now
            state.intervalCommit = Task { [self] in
                do {
                    try await commit()
                } catch {
                    logger.info("interval commit failed; will retry", metadata: [LogKey.error: "\(error)"])
                }
                self.state.withLock { $0.intervalCommit = nil }
            }
        }
    }

    /// Starts `recordLag` in the background: during a broker outage the lookup waits up to kafkaTimeout, and
    /// fetching must not wait with it.
    private func startLagLookup() {
        // Created under the lock, so the task's own "done" (which takes the lock) comes after it is stored.
        state.withLock { state in
            state.lagLookup = Task { [self] in
                await recordLag()
                self.state.withLock { $0.lagLookup = nil }
            }
        }
    }

    /// Publishes each owned partition's lag (log end minus fetch position) to the metrics; at the audit interval,
    /// since it asks the brokers.
    private func recordLag() async {
        let (fetched, metrics) = state.withLock { ($0.fetched, $0.store.zooKeeper.metrics) }
        guard !fetched.isEmpty,
            let watermarks = try? await admin.watermarks(for: Array(fetched.keys), timeout: configuration.kafkaTimeout)
        else { return }
        for (partition, position) in fetched {
            if let high = watermarks[partition]?.high { metrics.recordLag(partition, lag: max(0, high - position)) }
        }
    }

    private static func byTopic(_ partitions: [TopicPartition]) -> [String: [Int32]] {
        Dictionary(grouping: partitions, by: \.topic).mapValues { $0.map(\.partition).sorted() }
    }

    /// Errors a later rebalance may not see again: ZooKeeper connection trouble, a lost race, a slow broker.
    private static func isTransient(_ error: any Error) -> Bool {
        switch error {
        case is ZooKeeperError: true
        case let error as OffsetError: [.fenced, .concurrentModification, .partitionOwned].contains(error.code)
        // Any error the brokers may answer differently next time: a leader moving, a coordinator loading too.
        case let error as KafkaError: error.isRetryable
        default: false
        }
    }
}
