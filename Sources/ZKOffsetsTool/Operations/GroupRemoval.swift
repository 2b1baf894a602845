import ZKOffsets

/// What `delete` removes: the whole group, or some topics (or partitions) of it.
public enum RemovalScope: Sendable, Equatable {
    /// `/consumers/<group>` and everything below it: offsets, owners, ids.
    case wholeGroup
    /// The offsets of these topics (a whole topic: its `offsets/<topic>` and `owners/<topic>` subtrees; listed
    /// partitions: their offset and owner znodes), as kafka-utils' `unsubscribe_topics` does.
    case topics([TopicSelection])
}

/// A removal read first: every znode it deletes with the version it was read at. Applying deletes them children
/// first in `multi` transactions, each delete conditional on that version, so a znode written, created or deleted
/// since the plan fails the removal (an `OperationRefusal`) instead of being lost.
public struct GroupRemovalPlan: Sendable, Equatable {
    /// The plan table's columns.
    public static let columns = ["GROUP", "TOPIC", "PARTITION", "OFFSET"]

    /// The group.
    public var group: String
    /// What is removed.
    public var scope: RemovalScope
    /// The znodes to delete, in the order they are deleted (every child before its parent; the member registry
    /// first, so that a member registered since the plan fails the first transaction and nothing is removed).
    public var nodes: [ZNodeSnapshot]
    /// The offset znodes among them, for the plan's table.
    public var offsets: [TopicPartition: StoredOffset]
    /// The group's registered members when the plan was read.
    public var members: [String]

    /// A plan from what was read; `read` is the way to make one.
    public init(
        group: String, scope: RemovalScope, nodes: [ZNodeSnapshot], offsets: [TopicPartition: StoredOffset],
        members: [String]
    ) {
        self.group = group
        self.scope = scope
        self.nodes = nodes
        self.offsets = offsets
        self.members = members
    }

    /// Reads what removing `scope` of `group` deletes.
    ///
    /// Throws `invalidInput` for a group that does not exist, a topic the group has no offsets for, or a listed
    /// partition without an offset znode; an `OperationRefusal` while the group has registered members (children of
    /// `ids`), unless `force`.
    public static func read(
        inventory: GroupInventory, group: String, scope: RemovalScope, force: Bool
    ) async throws -> GroupRemovalPlan {
        let layout = try OffsetLayout(group: group)
        try await inventory.requireExisting(group: group)
        let members = try await inventory.members(group: group)
        if !members.isEmpty && !force {
            throw OperationRefusal(
                "group '\(group)' has \(members.count) registered member(s) (\(members.joined(separator: ", "))) under "
                    + "\(layout.idsPath): stop its consumers first, or pass --force; nothing was removed")
        }
        var roots: [String] = []
        switch scope {
        case .wholeGroup:
            roots = [layout.groupPath]
        case .topics(let selections):
            let stored = try await inventory.topics(group: group)
            for selection in selections {
                guard stored.contains(selection.topic) else {
                    throw OffsetError(
                        .invalidInput,
                        "group '\(group)' has no offsets for topic '\(selection.topic)': nothing was removed")
                }
                guard let partitions = selection.partitions else {
                    roots += [layout.offsetsPath(topic: selection.topic), layout.ownersPath(topic: selection.topic)]
                    continue
                }
                let present = try await inventory.partitionChildren(group: group, topic: selection.topic).partitions
                for number in partitions {
                    let partition = TopicPartition(topic: selection.topic, partition: number)
                    guard present.contains(number) else {
                        throw OffsetError(
                            .invalidInput, "group '\(group)' has no offset for \(partition): nothing was removed")
                    }
                    roots += [layout.offsetPath(partition), layout.ownerPath(partition)]
                }
            }
        }
        // A partition listed under a topic also removed whole is read once.
        var seen = Set<String>()
        let tree = try await ZNodeTree.read(client: inventory.client, roots: Array(Set(roots)).sorted())
            .filter { seen.insert($0.path).inserted }
        // Children before parents; the member registry first (see `nodes`).
        let childrenFirst = tree.reversed()
        let registry = childrenFirst.filter { $0.path == layout.idsPath || $0.path.hasPrefix(layout.idsPath + "/") }
        let rest = childrenFirst.filter { !($0.path == layout.idsPath || $0.path.hasPrefix(layout.idsPath + "/")) }
        var offsets: [TopicPartition: StoredOffset] = [:]
        for node in tree {
            if let partition = Self.offsetPartition(node.path, layout: layout) {
                offsets[partition] = StoredOffset(path: node.path, bytes: node.bytes, stat: node.stat)
            }
        }
        return GroupRemovalPlan(group: group, scope: scope, nodes: registry + rest, offsets: offsets, members: members)
    }

    /// The partition of an offset znode path (`offsets/<topic>/<number>`), nil for any other path.
    static func offsetPartition(_ path: String, layout: OffsetLayout) -> TopicPartition? {
        guard path.hasPrefix(layout.offsetsPath + "/") else { return nil }
        let parts = path.dropFirst(layout.offsetsPath.count + 1).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let number = Int32(parts[1]), number >= 0, String(number) == parts[1] else {
            return nil
        }
        return TopicPartition(topic: String(parts[0]), partition: number)
    }

    /// The version-conditional deletes, in order.
    public var operations: [ZooKeeperOperation] {
        nodes.map { .delete($0.path, version: $0.stat.version) }
    }

    /// `GROUP TOPIC PARTITION OFFSET`, one row per offset removed (malformed data shown as its bytes).
    public var table: TextTable {
        TextTable(header: Self.columns, rows: Self.rows(group: group, offsets))
    }

    static func rows(group: String, _ offsets: [TopicPartition: StoredOffset]) -> [[String]] {
        offsets.sorted { $0.key < $1.key }.map { partition, node in
            [group, partition.topic, String(partition.partition), Self.offsetText(node)]
        }
    }

    static func offsetText(_ node: StoredOffset) -> String {
        node.offset.map { String($0) } ?? "malformed \(OffsetValue.describe(node.bytes))"
    }

    /// One JSON object: `{"group":..,"scope":"group"|"topics","members":[..],"offsets":[{..}],"znodes":N}`.
    public var json: String {
        let scopeName = if case .wholeGroup = scope { "group" } else { "topics" }
        return JSONText.object([
            ("group", JSONText.string(group)), ("scope", JSONText.string(scopeName)),
            ("members", JSONText.array(members.map(JSONText.string))),
            (
                "offsets",
                JSONText.array(
                    offsets.sorted { $0.key < $1.key }.map { partition, node in
                        JSONText.object([
                            ("topic", JSONText.string(partition.topic)), ("partition", String(partition.partition)),
                            ("offset", JSONText.number(node.offset)),
                        ])
                    })
            ),
            ("znodes", String(nodes.count)),
        ])
    }

    /// Deletes the planned znodes; returns the number of transactions. Throws an `OperationRefusal` when a znode
    /// changed since the plan was read (nothing of that transaction is applied).
    @discardableResult
    public func apply(client: ZooKeeperClient, maxTransactionBytes: Int = TransactionBudget.defaultMaxBytes)
        async throws -> Int
    {
        try await ConditionalTransactions.apply(
            operations, client: client, maxTransactionBytes: maxTransactionBytes, what: "the removal of '\(group)'"
        ).transactions
    }
}
