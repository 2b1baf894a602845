import ZKOffsets

/// `copy` and `rename` read first: the source group's offset znodes, what the destination holds at the same paths,
/// and for a rename the removal of the source.
///
/// Applying writes the destination's znodes with the source's bytes exactly (kafka-utils' `copy_group`), creating
/// what is missing, in `multi` transactions; every write, check and delete is conditional on the version the plan
/// read, so a znode changed since then fails the command instead of being overwritten or lost. A rename copies and
/// deletes in one transaction when it fits; when it must be split the copy goes first, so the offsets are never
/// only in neither group.
public struct GroupCopyPlan: Sendable, Equatable {
    /// The plan table's columns.
    public static let columns = ["FROM-GROUP", "TO-GROUP", "TOPIC", "PARTITION", "OFFSET", "REPLACES"]

    /// The group copied from.
    public var source: String
    /// The group copied to.
    public var destination: String
    /// The source's `offsets` subtree, parents first.
    public var sourceNodes: [ZNodeSnapshot]
    /// What the destination's `offsets` subtree holds, by path.
    public var destinationNodes: [String: ZNodeSnapshot]
    /// Ancestors of the destination's `offsets` znode that do not exist yet (created, empty, by the first
    /// transaction).
    public var missingAncestors: [String]
    /// For a rename: the removal of the whole source group.
    public var removal: GroupRemovalPlan?

    /// A plan from what was read; `read` is the way to make one.
    public init(
        source: String, destination: String, sourceNodes: [ZNodeSnapshot], destinationNodes: [String: ZNodeSnapshot],
        missingAncestors: [String], removal: GroupRemovalPlan?
    ) throws(OffsetError) {
        from = try OffsetLayout(group: source)
        to = try OffsetLayout(group: destination)
        self.source = source
        self.destination = destination
        self.sourceNodes = sourceNodes
        self.destinationNodes = destinationNodes
        self.missingAncestors = missingAncestors
        self.removal = removal
    }

    /// True for a rename.
    public var isRename: Bool { removal != nil }

    /// Reads what copying (or, with `rename`, renaming) `source` to `destination` writes.
    ///
    /// Throws `invalidInput` for equal or unknown groups and for a source without offsets. Refuses (an
    /// `OperationRefusal`, nothing written) when the destination already has offsets or registered members, unless
    /// `force` (then its offsets at the source's paths are overwritten, and its other offsets kept); and, for a
    /// rename, always while the source has registered members.
    public static func read(
        inventory: GroupInventory, source: String, destination: String, rename: Bool, force: Bool
    ) async throws -> GroupCopyPlan {
        let from = try OffsetLayout(group: source)
        let to = try OffsetLayout(group: destination)
        guard source != destination else {
            throw OffsetError(.invalidInput, "the source and destination group are the same ('\(source)')")
        }
        try await inventory.requireExisting(group: source)
        let client = inventory.client
        var removal: GroupRemovalPlan?
        let sourceNodes: [ZNodeSnapshot]
        if rename {
            let sourceMembers = try await inventory.members(group: source)
            if !sourceMembers.isEmpty {
                throw OperationRefusal(
                    "group '\(source)' has \(sourceMembers.count) registered member(s) "
                        + "(\(sourceMembers.joined(separator: ", "))) under \(from.idsPath): stop its consumers before "
                        + "renaming it; nothing was written")
            }
            let plan = try await GroupRemovalPlan.read(
                inventory: inventory, group: source, scope: .wholeGroup, force: false)
            removal = plan
            // The removal lists children first; the copy needs parents first.
            sourceNodes = plan.nodes.reversed().filter {
                $0.path == from.offsetsPath || $0.path.hasPrefix(from.offsetsPath + "/")
            }
        } else {
            sourceNodes = try await ZNodeTree.read(client: client, root: from.offsetsPath)
        }
        guard sourceNodes.contains(where: { GroupRemovalPlan.offsetPartition($0.path, layout: from) != nil }) else {
            throw OffsetError(.invalidInput, "group '\(source)' has no offsets to copy under \(from.offsetsPath)")
        }
        var destinationNodes: [String: ZNodeSnapshot] = [:]
        for node in try await ZNodeTree.read(client: client, root: to.offsetsPath) {
            destinationNodes[node.path] = node
        }
        let existing = destinationNodes.keys.filter { GroupRemovalPlan.offsetPartition($0, layout: to) != nil }
        let members = try await inventory.members(group: destination)
        if !force && (!existing.isEmpty || !members.isEmpty) {
            var reasons: [String] = []
            if !existing.isEmpty { reasons.append("already has \(existing.count) offset(s) under \(to.offsetsPath)") }
            if !members.isEmpty { reasons.append("has \(members.count) registered member(s) under \(to.idsPath)") }
            throw OperationRefusal(
                "group '\(destination)' \(reasons.joined(separator: " and ")): pass --force to write over its offsets; "
                    + "nothing was written")
        }
        var missingAncestors: [String] = []
        if destinationNodes[to.offsetsPath] == nil {
            let ancestors = [OffsetLayout.consumersRoot, to.groupPath]
            for (path, read) in zip(ancestors, await client.getData(ancestors)) {
                switch read {
                case .success: continue
                case .failure(let error) where error.code == .noNode: missingAncestors.append(path)
                case .failure(let error): throw error
                }
            }
        }
        return try GroupCopyPlan(
            source: source, destination: destination, sourceNodes: sourceNodes, destinationNodes: destinationNodes,
            missingAncestors: missingAncestors, removal: removal)
    }

    private let from: OffsetLayout
    private let to: OffsetLayout

    /// The destination path of a source znode.
    private func destinationPath(_ sourcePath: String) -> String {
        to.offsetsPath + sourcePath.dropFirst(from.offsetsPath.count)
    }

    /// The operations, in order: missing ancestors, then the copy parents first (with a version check of each
    /// source offset when the source stays), then for a rename the removal of the source.
    public var operations: [ZooKeeperOperation] {
        var operations = missingAncestors.map { ZooKeeperOperation.create($0) }
        for node in sourceNodes {
            let path = destinationPath(node.path)
            let isOffset = GroupRemovalPlan.offsetPartition(path, layout: to) != nil
            if let existing = destinationNodes[path] {
                if existing.bytes != node.bytes {
                    operations.append(.setData(path, data: node.bytes, version: existing.stat.version))
                } else if isOffset {
                    operations.append(.check(path, version: existing.stat.version))
                }
            } else {
                operations.append(.create(path, data: node.bytes))
            }
            if removal == nil && GroupRemovalPlan.offsetPartition(node.path, layout: from) != nil {
                operations.append(.check(node.path, version: node.stat.version))
            }
        }
        return operations + (removal?.operations ?? [])
    }

    /// The offsets copied: source node and, when the destination had one at that path, what it held.
    public var offsets: [(partition: TopicPartition, source: StoredOffset, replaced: StoredOffset?)] {
        return sourceNodes.compactMap { node in
            guard let partition = GroupRemovalPlan.offsetPartition(node.path, layout: from) else { return nil }
            let replaced = destinationNodes[to.offsetPath(partition)].map {
                StoredOffset(path: $0.path, bytes: $0.bytes, stat: $0.stat)
            }
            return (partition, StoredOffset(path: node.path, bytes: node.bytes, stat: node.stat), replaced)
        }.sorted { $0.partition < $1.partition }
    }

    /// `FROM-GROUP TO-GROUP TOPIC PARTITION OFFSET REPLACES`, one row per offset copied.
    public var table: TextTable {
        TextTable(
            header: Self.columns,
            rows: offsets.map {
                [
                    source, destination, $0.partition.topic, String($0.partition.partition),
                    GroupRemovalPlan.offsetText($0.source), $0.replaced.map(GroupRemovalPlan.offsetText) ?? "-",
                ]
            })
    }

    /// One JSON object: `{"from":..,"to":..,"rename":..,"offsets":[{"topic","partition","offset","replaces"}]}`.
    public var json: String {
        JSONText.object([
            ("from", JSONText.string(source)), ("to", JSONText.string(destination)),
            ("rename", isRename ? "true" : "false"),
            (
                "offsets",
                JSONText.array(
                    offsets.map {
                        JSONText.object([
                            ("topic", JSONText.string($0.partition.topic)),
                            ("partition", String($0.partition.partition)),
                            ("offset", JSONText.number($0.source.offset)),
                            ("replaces", $0.replaced.map { JSONText.number($0.offset) } ?? "null"),
                        ])
                    })
            ),
        ])
    }

    /// Applies the plan; returns the number of transactions. Throws an `OperationRefusal` when a znode changed since
    /// the plan was read (nothing of that transaction is applied).
    @discardableResult
    public func apply(client: ZooKeeperClient, maxTransactionBytes: Int = TransactionBudget.defaultMaxBytes)
        async throws -> Int
    {
        try await ConditionalTransactions.apply(
            operations, client: client, maxTransactionBytes: maxTransactionBytes,
            what: "the \(isRename ? "rename" : "copy") of '\(source)' to '\(destination)'"
        ).transactions
    }
}
