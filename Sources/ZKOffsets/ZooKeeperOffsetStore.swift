import BlockingCalls
import Logging
import Synchronization

/// Reads and writes one group's offsets in ZooKeeper, in Kafka 0.8's layout: the one writer of offset znodes, for
/// the consumer's commits and for the operators' plans (import, reset, migrate).
///
/// Reads are pipelined. A write puts every offset in one `multi` (split by `TransactionBudget` only when it must
/// be, and never when it carries the application's own operations); each write is conditional on the version
/// last seen (by this store, or by the plan that was read), so an offset moved by someone else is never
/// overwritten silently. Missing parents are created first.
public final class ZooKeeperOffsetStore: Sendable {
    /// The paths of this group.
    public let layout: OffsetLayout
    private let client: ZooKeeperClient
    private let logger: Logger
    /// Transactions are kept below this many request bytes; the server refuses requests above its
    /// `jute.maxbuffer` (1 MiB by default).
    public let maxTransactionBytes: Int
    /// How failed transactions are retried.
    public let retryPolicy: RetryPolicy
    /// Where commits are counted and timed (`ConsumerMetrics`).
    public let metrics: ConsumerMetrics

    private struct State {
        /// What we last read or wrote, per partition: the value (to skip unchanged) and the version.
        var known: [TopicPartition: Known] = [:]
        /// Topics whose `offsets/<topic>` znode is known to exist.
        var ensuredTopics: Set<String> = []
    }

    private let state = Mutex(State())

    /// What the store remembers of a znode it read or wrote: enough to skip an unchanged offset and to make the
    /// next write conditional.
    private struct Known {
        /// The offset it holds; nil when its data is malformed (a commit then fails on the version, never skips).
        var offset: Int64?
        var version: Int32
    }

    /// A store for `group`'s offsets through `client`; throws `invalidGroup` before any znode is touched, and reads or
    /// writes nothing until asked. Without `metrics`, the store counts into a `ConsumerMetrics` of its own for the
    /// group.
    public init(
        client: ZooKeeperClient, group: String, maxTransactionBytes: Int = TransactionBudget.defaultMaxBytes,
        retryPolicy: RetryPolicy = .default, logger: Logger = Logger(label: "zkoffsets.store"),
        metrics: ConsumerMetrics? = nil
    ) throws(OffsetError) {
        self.retryPolicy = retryPolicy
        self.layout = try OffsetLayout(group: group)
        self.client = client
        self.logger = logger
        self.maxTransactionBytes = maxTransactionBytes
        self.metrics = metrics ?? ConsumerMetrics(group: group)
    }

    // MARK: Reading

    /// The partition numbers that have an offset znode under `topic` (sorted); non-numeric children are ignored.
    public func storedPartitions(topic: String) async throws -> [Int32] {
        try OffsetLayout.validateTopic(topic)
        do {
            return try await client.children(layout.offsetsPath(topic: topic)).names.compactMap { Int32($0) }.sorted()
        } catch {
            if error.code == .noNode { return [] }
            throw error
        }
    }

    /// The topics that have offsets stored for this group.
    public func storedTopics() async throws -> [String] {
        do {
            return try await client.children(layout.offsetsPath).names.sorted()
        } catch {
            if error.code == .noNode { return [] }
            throw error
        }
    }

    /// What each partition's znode holds (absent without a znode; malformed data kept, with a nil `offset`), read
    /// pipelined, each znode once. Remembers versions for the next commit.
    public func inspect(_ partitions: [TopicPartition]) async throws -> [TopicPartition: StoredOffset] {
        for topic in Set(partitions.map(\.topic)) { try OffsetLayout.validateTopic(topic) }
        let paths = partitions.map { layout.offsetPath($0) }
        var nodes: [TopicPartition: StoredOffset] = [:]
        nodes.reserveCapacity(partitions.count)
        var seen: [TopicPartition: Known] = [:]
        seen.reserveCapacity(partitions.count)
        for (index, result) in await client.getData(paths).enumerated() {
            switch result {
            case .success(let node):
                let stored = StoredOffset(path: paths[index], bytes: node.bytes, stat: node.stat)
                nodes[partitions[index]] = stored
                seen[partitions[index]] = Known(offset: stored.offset, version: stored.version)
            case .failure(let error) where error.code == .noNode:
                continue
            case .failure(let error):
                throw error
            }
        }
        remember(seen)
        return nodes
    }

    /// Takes `seen` into `known`. A read that raced a commit must not take `known` back to the version before it (the
    /// next commit would fail as if someone else had written): the later version stays.
    private func remember(_ seen: [TopicPartition: Known]) {
        state.withLock { $0.known.merge(seen) { old, new in new.version >= old.version ? new : old } }
    }

    /// The stored offsets of `partitions` (absent when there is no znode). Throws `malformedOffset` naming every
    /// bad znode and its bytes; nothing is written.
    public func read(_ partitions: [TopicPartition]) async throws -> [TopicPartition: StoredOffset] {
        let offsets = try await inspect(partitions)
        let malformed = offsets.values.compactMap(\.malformedError)
        if let first = malformed.sorted(by: { ($0.path ?? "") < ($1.path ?? "") }).first {
            if malformed.count == 1 { throw first }
            throw OffsetError(
                .malformedOffset, path: first.path,
                malformed.map(\.message).sorted().joined(separator: "\n")
            )
        }
        return offsets
    }

    /// Every offset stored under `topics` (the partitions that have znodes).
    public func read(topics: [String]) async throws -> [TopicPartition: StoredOffset] {
        var partitions: [TopicPartition] = []
        for topic in topics {
            partitions += try await storedPartitions(topic: topic).map { TopicPartition(topic: topic, partition: $0) }
        }
        return try await read(partitions)
    }

    // MARK: Committing

    /// Writes the offsets that changed since they were last read or written, in one transaction with
    /// `extraOperations` (the application's own writes) and `fencing` (per partition, an operation that must
    /// hold for its offset to move: a check of the owner znode in group mode). Very large commits without extra
    /// operations are split into transactions below `maxTransactionBytes`, each with the fencing of its own
    /// partitions; with extra operations a commit that does not fit is refused with `transactionTooLarge`.
    ///
    /// An offset znode changed by someone else since we saw it fails the commit with `concurrentModification`,
    /// a failed fencing operation with `fenced`; nothing of that transaction is applied.
    @discardableResult
    public func commit(
        _ offsets: [TopicPartition: Int64], extraOperations: [ZooKeeperOperation] = [],
        fencing: [TopicPartition: ZooKeeperOperation] = [:]
    ) async throws -> CommitSummary {
        let start = ContinuousClock.now
        do {
            let summary = try await commitChanged(offsets, extraOperations: extraOperations, fencing: fencing)
            if summary.transactions > 0 {
                metrics.recordCommit(offsets: summary.written, duration: ContinuousClock.now - start)
            }
            return summary
        } catch let error as OffsetError where error.code == .fenced {
            metrics.recordFencedCommit()
            throw error
        } catch let error as OffsetError where error.code == .concurrentModification {
            metrics.recordConflictingCommit()
            throw error
        }
    }

    /// `commit` without the metrics: the offsets that differ from `known`, conditional on its versions (read first
    /// for partitions never seen).
    private func commitChanged(
        _ offsets: [TopicPartition: Int64], extraOperations: [ZooKeeperOperation],
        fencing: [TopicPartition: ZooKeeperOperation]
    ) async throws -> CommitSummary {
        try Self.refuseNegative(offsets)
        try await ensureTopicPaths(Set(offsets.keys.map(\.topic)))
        let known = state.withLock { $0.known }
        let changed = offsets.filter { entry in known[entry.key].map { $0.offset != entry.value } ?? true }
        let unchanged = offsets.count - changed.count
        if changed.isEmpty && extraOperations.isEmpty {
            return CommitSummary(written: 0, unchanged: unchanged, transactions: 0)
        }
        // Partitions never read: read them now, so the write is conditional on what is really there.
        let unseen = changed.keys.filter { known[$0] == nil }
        if !unseen.isEmpty { _ = try await read(Array(unseen)) }
        let versions = unseen.isEmpty ? known : state.withLock { $0.known }
        let writes = changed.keys.sorted().map { partition in
            Write(partition, changed[partition]!, version: versions[partition]?.version, fencing[partition], layout)
        }
        // With the application's operations, every partition of the commit must still be ours, written or not.
        let extraFencing = extraOperations.isEmpty ? [] : offsets.keys.sorted().compactMap { partition in
            changed[partition] == nil ? fencing[partition] : nil
        }
        let transactions = try await apply(writes, extraOperations: extraOperations, extraFencing: extraFencing)
        return CommitSummary(written: changed.count, unchanged: unchanged, transactions: transactions)
    }

    /// Writes offsets planned from an earlier read of their znodes (an operator's import, reset or migration):
    /// each write is conditional on what `basis` says the znode held when it was read (its version), and a
    /// partition absent from `basis` had no znode, so it is created (its parents too when they are missing). Every
    /// offset is written, none is skipped as unchanged: the plan decided. Transactions are cut by
    /// `TransactionBudget` below `maxTransactionBytes`; `progress(written, total)` follows each one.
    ///
    /// A znode written, created or deleted since `basis` was read fails its transaction with
    /// `concurrentModification` (its `cause` says which); nothing of that transaction is applied, the transactions
    /// before it stay. Negative offsets are refused (`invalidInput`) before anything is written.
    @discardableResult
    public func write(
        _ offsets: [TopicPartition: Int64], over basis: [TopicPartition: StoredOffset],
        progress: (_ written: Int, _ total: Int) -> Void = { _, _ in }
    ) async throws -> CommitSummary {
        try Self.refuseNegative(offsets)
        if offsets.isEmpty { return CommitSummary(written: 0, unchanged: 0, transactions: 0) }
        for topic in Set(offsets.keys.map(\.topic)) { try OffsetLayout.validateTopic(topic) }
        // A znode that exists has its parents: only topics with a partition to create need them checked.
        try await ensureTopicPaths(Set(offsets.keys.filter { basis[$0] == nil }.map(\.topic)))
        let writes = offsets.keys.sorted().map { partition in
            Write(partition, offsets[partition]!, version: basis[partition]?.version, nil, layout)
        }
        let transactions = try await apply(writes, extraOperations: [], extraFencing: [], progress: progress)
        return CommitSummary(written: writes.count, unchanged: 0, transactions: transactions)
    }

    private static func refuseNegative(_ offsets: [TopicPartition: Int64]) throws(OffsetError) {
        for offset in offsets where offset.value < 0 {
            throw OffsetError(.invalidInput, "refusing to commit negative offset \(offset.value) for \(offset.key)")
        }
    }

    /// Applies `writes` (fenced per partition) with the application's operations and the fencing of its unchanged
    /// partitions, in as many transactions as `chunk` cuts; remembers what each transaction wrote. Returns the
    /// number of transactions.
    private func apply(
        _ writes: [Write], extraOperations: [ZooKeeperOperation], extraFencing: [ZooKeeperOperation],
        progress: (_ written: Int, _ total: Int) -> Void = { _, _ in }
    ) async throws -> Int {
        let chunks = try chunk(writes, extraOperations: extraOperations + extraFencing)
        var written = 0
        for chunk in chunks {
            let checks = chunk.compactMap(\.fencing) + (chunks.count == 1 ? extraFencing : [])
            let operations = chunk.map(\.operation) + checks + (chunks.count == 1 ? extraOperations : [])
            let results = try await applyTransaction(operations, writes: chunk, checks: checks.count)
            var wrote: [TopicPartition: Known] = [:]
            wrote.reserveCapacity(chunk.count)
            for (index, write) in chunk.enumerated() {
                let version: Int32 = if case .setData(let stat) = results[index] { stat.version } else { 0 }
                wrote[write.partition] = Known(offset: write.offset, version: version)
            }
            state.withLock { $0.known.merge(wrote) { _, new in new } }
            written += chunk.count
            progress(written, writes.count)
        }
        return chunks.count
    }

    /// One offset write of a commit, with the operation that fences it.
    private struct Write {
        var partition: TopicPartition
        var offset: Int64
        var operation: ZooKeeperOperation
        var fencing: ZooKeeperOperation?
        /// The znode's version once this write is applied.
        var versionAfter: Int32

        /// A conditional `setData` at `version`, or a `create` without one (no znode was seen).
        init(
            _ partition: TopicPartition, _ offset: Int64, version: Int32?, _ fencing: ZooKeeperOperation?,
            _ layout: OffsetLayout
        ) {
            self.partition = partition
            self.offset = offset
            let path = layout.offsetPath(partition)
            let data = OffsetValue.encode(offset)
            if let version {
                operation = .setData(path, data: data, version: version)
                versionAfter = version &+ 1
            } else {
                operation = .create(path, data: data)
                versionAfter = 0
            }
            self.fencing = fencing
        }

        var estimatedRequestSize: Int { operation.estimatedRequestSize + (fencing?.estimatedRequestSize ?? 0) }
    }

    private func chunk(_ writes: [Write], extraOperations: [ZooKeeperOperation]) throws -> [[Write]] {
        let fixed = TransactionBudget.requestOverhead
        let extra = extraOperations.reduce(0) { $0 + $1.estimatedRequestSize }
        let total = writes.reduce(fixed + extra) { $0 + $1.estimatedRequestSize }
        if total <= maxTransactionBytes { return [writes] }
        if !extraOperations.isEmpty {
            throw OffsetError(
                .transactionTooLarge,
                "the commit of \(writes.count) offsets with \(extraOperations.count) operations of the application "
                    + "needs about \(total) bytes, more than one ZooKeeper transaction takes (\(maxTransactionBytes)); "
                    + "it was not applied: commit smaller batches"
            )
        }
        return TransactionBudget.chunks(writes, maxBytes: maxTransactionBytes) { $0.estimatedRequestSize }
    }

    /// Applies one transaction (`writes`, then `checks` fencing operations, then the application's), retrying
    /// what may succeed on retry (the retry policy). After a connection loss the transaction may or may not have
    /// been applied: the written znodes are read back to find out before anything is resent.
    private func applyTransaction(
        _ operations: [ZooKeeperOperation], writes: [Write], checks: Int
    ) async throws -> [OperationResult] {
        // Retried per the policy; while the session lives and the time since the first failure is below a
        // session timeout, another round (a leader election under load outlasts the policy's few seconds).
        let started = ContinuousClock.now
        var retried = false
        do {
            while true {
                do {
                    return try await retryPolicy.run {
                        () async throws(ZooKeeperError) -> [OperationResult] in try await client.multi(operations)
                    } beforeRetry: { failure, attempt in
                        retried = true
                        logger.info(
                            "ZooKeeper commit failed; retrying",
                            metadata: [LogKey.error: "\(failure.code)", LogKey.attempt: "\(attempt)"])
                        return try await alreadyApplied(writes)
                    }
                } catch let failure as ZooKeeperError
                    where failure.isRetryable && !client.state.isTerminal
                    && ContinuousClock.now - started < client.negotiatedSessionTimeout
                {
                    retried = true
                    logger.info(
                        "ZooKeeper commit still failing; retrying while the session lives",
                        metadata: [LogKey.error: "\(failure.code)"])
                    try await Task.sleep(for: retryPolicy.maxDelay)
                    if let results = try await alreadyApplied(writes) { return results }
                }
            }
        } catch let failure as ZooKeeperError {
            let index = failure.failedOperationIndex ?? operations.count
            // An attempt lost with the connection can still be applied later: the server that had it runs again
            // (a frozen or partitioned node) after our read-back failed too. Then the resend finds our own
            // write: same data, exactly one version later. Seen with the whole ensemble frozen (EnsembleTests).
            if retried && index < writes.count && [.badVersion, .nodeExists].contains(failure.code),
                let results = try await alreadyApplied(writes)
            {
                logger.info("a commit lost with the connection was applied after all; not resending it")
                return results
            }
            if index < writes.count && [.badVersion, .nodeExists, .noNode].contains(failure.code) {
                state.withLock { _ = $0.known.removeValue(forKey: writes[index].partition) }
                throw OffsetError(
                    .concurrentModification, path: failure.path, cause: failure,
                    "offset znode \(failure.path ?? "?") was changed by another writer since it was read "
                        + "(\(failure.code)); nothing of this commit was applied"
                )
            }
            if failure.code == .noAuth {
                throw Self.notAuthorized(failure)
            }
            if index >= writes.count && index < writes.count + checks {
                throw OffsetError(
                    .fenced, path: failure.path,
                    "this consumer no longer owns the partition of \(failure.path ?? "?") (\(failure.code)); "
                        + "nothing of this commit was applied"
                )
            }
            throw failure
        }
    }

    /// The writes' results when every one of them is already in place (a transaction applied before its answer
    /// was lost: our value, at the version our write gives the znode), nil otherwise.
    private func alreadyApplied(_ writes: [Write]) async throws -> [OperationResult]? {
        // Without an offset write there is nothing of ours to read back: resend, and let the application's
        // version-conditional operations tell.
        guard !writes.isEmpty else { return nil }
        let results = await client.getData(writes.map { layout.offsetPath($0.partition) })
        var applied: [OperationResult] = []
        for (write, result) in zip(writes, results) {
            guard case .success(let node) = result, node.stat.version == write.versionAfter,
                let value = try? OffsetValue.decode(node.bytes, path: ""), value == write.offset
            else { return nil }
            applied.append(.setData(node.stat))
        }
        return applied
    }

    /// A refused write, never retried: the credentials will not change by themselves.
    static func notAuthorized(_ failure: ZooKeeperError) -> OffsetError {
        let path = failure.path ?? "?"
        return OffsetError(
            .notAuthorized, path: failure.path,
            "ZooKeeper refused to write \(path): its ACL does not let this client's credentials change it (noAuth); "
                + "nothing was applied. Connect with the credentials that created it."
        )
    }

    private func ensureTopicPaths(_ topics: Set<String>) async throws {
        let missing = state.withLock { state in topics.subtracting(state.ensuredTopics) }
        for topic in missing.sorted() {
            try OffsetLayout.validateTopic(topic)
            do {
                try await client.ensurePath(layout.offsetsPath(topic: topic))
            } catch {
                // (A `catch where` on this typed error crashes the 6.3.1 compiler.)
                if error.code == .noAuth { throw Self.notAuthorized(error) }
                throw error
            }
        }
        state.withLock { $0.ensuredTopics.formUnion(missing) }
    }
}
