import ZKOffsets

/// One offset a changing command (import, reset, migrate to ZooKeeper) means to write.
public struct OffsetChange: Sendable, Equatable {
    /// The group id.
    public var group: String
    /// The partition whose offset znode is written.
    public var partition: TopicPartition
    /// What the znode holds now: nil when there is no znode.
    public var currentNode: StoredOffset?
    /// The offset to write (the next offset to consume).
    public var new: Int64
    /// Why `new` differs from what was asked (clamping), one sentence each.
    public var notes: [String]

    /// A change as planned; nothing is read or checked (`OffsetPlan.read` reads the current znodes).
    public init(group: String, partition: TopicPartition, currentNode: StoredOffset?, new: Int64, notes: [String] = []) {
        self.group = group
        self.partition = partition
        self.currentNode = currentNode
        self.new = new
        self.notes = notes
    }

    /// The stored offset, when there is one and it decodes.
    public var current: Int64? { currentNode?.offset }

    /// True when the znode already holds exactly the canonical bytes of `new`: nothing to write.
    public var isUnchanged: Bool { currentNode?.holds(exactly: new) ?? false }

    /// The CURRENT column: the offset, `-` without a znode, the bytes when they are not canonical.
    public var currentText: String {
        guard let node = currentNode else { return "-" }
        if OffsetValue.isCanonical(node.bytes), let offset = node.offset { return String(offset) }
        return node.offset.map { "\($0) (stored as \(OffsetValue.describe(node.bytes)))" }
            ?? "malformed \(OffsetValue.describe(node.bytes))"
    }
}

/// What a plan did when applied.
public struct ApplySummary: Sendable, Equatable {
    /// Offsets written.
    public var written: Int
    /// Offsets left alone because they already held the target value.
    public var unchanged: Int
    /// Transactions (ZooKeeper `multi`s, or Kafka commit requests).
    public var transactions: Int
    /// Groups that had something written.
    public var groups: Int

    /// Counts, zero by default, that applying a plan adds to.
    public init(written: Int = 0, unchanged: Int = 0, transactions: Int = 0, groups: Int = 0) {
        self.written = written
        self.unchanged = unchanged
        self.transactions = transactions
        self.groups = groups
    }
}

/// Offsets to write to ZooKeeper, read first: the plan shows what each znode holds now and what it will hold;
/// applying writes only the changed ones, in transactions, each write conditional on the version read for the
/// plan (a znode changed since then fails its transaction and nothing of it is applied).
public struct OffsetPlan: Sendable, Equatable {
    /// The text table's columns; CURRENT is the znode now, `-` without one.
    public static let columns = ["GROUP", "TOPIC", "PARTITION", "CURRENT", "NEW"]
    /// Sorted by group, topic, partition.
    public var changes: [OffsetChange]
    /// Things to know before applying (clamped targets, skipped partitions), one sentence each.
    public var warnings: [String]

    /// A plan of `changes`, sorted by group, topic and partition; reads and refuses nothing (see `read`).
    public init(changes: [OffsetChange], warnings: [String] = []) {
        self.changes = changes.sorted { ($0.group, $0.partition) < ($1.group, $1.partition) }
        self.warnings = warnings
    }

    /// Reads the current znodes of `entries` and plans writing them.
    ///
    /// A targeted znode whose data is malformed is refused (`OperationRefusal` naming each znode and its bytes)
    /// unless `overwriteMalformed`: commands pass true only when the partition was named explicitly (a line of
    /// an import file, `--topic T:P`), so a malformed znode is never replaced by a wholesale operation.
    public static func read(
        _ entries: [OffsetEntry], inventory: GroupInventory, overwriteMalformed: Bool
    ) async throws -> OffsetPlan {
        var changes: [OffsetChange] = []
        for (group, groupEntries) in Dictionary(grouping: entries, by: \.group).sorted(by: { $0.key < $1.key }) {
            let nodes = try await inventory.offsets(group: group, partitions: groupEntries.map(\.partition))
            for entry in groupEntries {
                changes.append(
                    OffsetChange(group: group, partition: entry.partition, currentNode: nodes[entry.partition], new: entry.offset))
            }
        }
        let plan = OffsetPlan(changes: changes)
        if !overwriteMalformed { try plan.refuseMalformed() }
        return plan
    }

    /// Throws a refusal naming every targeted znode whose data is malformed.
    public func refuseMalformed() throws {
        let malformed = changes.compactMap { $0.currentNode?.malformedError?.message }
        if !malformed.isEmpty {
            throw OperationRefusal(
                (malformed + ["refusing to overwrite malformed offset data; name the partitions explicitly to replace it"])
                    .joined(separator: "\n"))
        }
    }

    /// The changes that write something.
    public var pending: [OffsetChange] { changes.filter { !$0.isUnchanged } }

    /// `GROUP TOPIC PARTITION CURRENT NEW`, one row per change (unchanged ones too).
    public var table: TextTable {
        TextTable(
            header: Self.columns,
            rows: changes.map {
                [$0.group, $0.partition.topic, String($0.partition.partition), $0.currentText, String($0.new)]
            })
    }

    /// `{"changes":[{"group":..,"topic":..,"partition":..,"current":..,"new":..,"unchanged":..}],"warnings":[..]}`.
    public var json: String {
        JSONText.object([
            (
                "changes",
                JSONText.array(
                    changes.map {
                        JSONText.object([
                            ("group", JSONText.string($0.group)), ("topic", JSONText.string($0.partition.topic)),
                            ("partition", String($0.partition.partition)), ("current", JSONText.number($0.current)),
                            ("new", String($0.new)), ("unchanged", $0.isUnchanged ? "true" : "false"),
                        ])
                    })
            ),
            ("warnings", JSONText.array(warnings.map(JSONText.string))),
        ])
    }

    /// Writes the pending changes through each group's `ZooKeeperOffsetStore`, one group at a time, in `multi`
    /// transactions below `maxTransactionBytes`, each write conditional on the znode the plan read;
    /// `progress(done, total)` is called after each transaction. A znode changed since the plan was read is an
    /// `OperationRefusal` (nothing of that transaction applied).
    public func apply(
        client: ZooKeeperClient, maxTransactionBytes: Int = TransactionBudget.defaultMaxBytes,
        progress: @Sendable (Int, Int) -> Void = { _, _ in }
    ) async throws -> ApplySummary {
        let pending = self.pending
        var summary = ApplySummary(unchanged: changes.count - pending.count)
        for (group, groupChanges) in Dictionary(grouping: pending, by: \.group).sorted(by: { $0.key < $1.key }) {
            let store = try ZooKeeperOffsetStore(client: client, group: group, maxTransactionBytes: maxTransactionBytes)
            var offsets: [TopicPartition: Int64] = [:]
            var basis: [TopicPartition: StoredOffset] = [:]
            offsets.reserveCapacity(groupChanges.count)
            for change in groupChanges {
                offsets[change.partition] = change.new
                basis[change.partition] = change.currentNode
            }
            let before = summary.written
            var written = 0
            do {
                let result = try await store.write(offsets, over: basis) { done, _ in
                    written = done
                    progress(before + done, pending.count)
                }
                summary.written += result.written
                summary.transactions += result.transactions
            } catch let error as OffsetError where error.code == .concurrentModification {
                let total = before + written
                throw OperationRefusal(
                    "offset znode \(error.path ?? "?") changed since the plan was read (\(error.cause?.code.description ?? "?")); "
                        + "nothing of this transaction was applied"
                        + (total > 0 ? " (\(total) offsets were written before it)" : "")
                        + ": read the plan again")
            }
            summary.groups += 1
        }
        return summary
    }
}
