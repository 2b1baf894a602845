import ZKOffsets

/// Every offset znode and registered member of many groups at once, read level by level in pipelined batches
/// (groups, then their `offsets` and `ids` children, then topics' partitions, then the offset znodes): a handful
/// of round trips whatever the number of groups, which is what `prune` and the exporter need.
public struct GroupOffsetScan: Sendable, Equatable {
    /// One group as scanned.
    public struct Group: Sendable, Equatable {
        /// The group id.
        public var group: String
        /// The group znode's Stat (its creation time dates a group without offsets).
        public var stat: ZNodeStat
        /// Registered members (children of `ids`), sorted.
        public var members: [String]
        /// Offset znodes by partition (topics that are not valid names and non-numeric children are skipped).
        public var offsets: [TopicPartition: StoredOffset]

        /// A scanned group.
        public init(group: String, stat: ZNodeStat, members: [String], offsets: [TopicPartition: StoredOffset]) {
            self.group = group
            self.stat = stat
            self.members = members
            self.offsets = offsets
        }

        /// When an offset of the group was last written (the newest offset znode mtime), milliseconds since the
        /// epoch; nil without offsets.
        public var lastCommitMillis: Int64? { offsets.values.map(\.stat.mtime).max() }
    }

    /// The groups found, sorted by id.
    public var groups: [Group]

    /// A scan of `groups`.
    public init(groups: [Group]) {
        self.groups = groups
    }

    /// Scans `groups` (every group under `/consumers` when nil). Named groups that do not exist are left out;
    /// group ids that are not valid are skipped.
    public static func read(
        client: ZooKeeperClient, groups requested: [String]? = nil
    ) async throws -> GroupOffsetScan {
        let names: [String]
        if let requested {
            names = requested
        } else {
            do {
                names = try await client.children(OffsetLayout.consumersRoot).names
            } catch {
                if error.code == .noNode { return GroupOffsetScan(groups: []) }
                throw error
            }
        }
        let candidates = Set(names).sorted().compactMap { try? OffsetLayout(group: $0) }
        var stats: [String: ZNodeStat] = [:]
        for (layout, read) in zip(candidates, await client.getData(candidates.map(\.groupPath))) {
            switch read {
            case .success(let node): stats[layout.group] = node.stat
            case .failure(let error) where error.code == .noNode: continue
            case .failure(let error): throw error
            }
        }
        let layouts = candidates.filter { stats[$0.group] != nil }
        async let memberLists = client.children(layouts.map(\.idsPath))
        let topicLists = await client.children(layouts.map(\.offsetsPath))
        // (group index, topic) for every valid topic directory.
        var topicDirectories: [(Int, String)] = []
        for (index, list) in topicLists.enumerated() {
            for topic in try Self.names(list).sorted() where (try? OffsetLayout.validateTopic(topic)) != nil {
                topicDirectories.append((index, topic))
            }
        }
        let partitionLists = await client.children(
            topicDirectories.map { layouts[$0.0].offsetsPath(topic: $0.1) })
        var paths: [String] = []
        var owners: [(Int, TopicPartition)] = []
        for ((index, topic), list) in zip(topicDirectories, partitionLists) {
            for name in try Self.names(list) {
                guard let number = Int32(name), number >= 0, String(number) == name else { continue }
                let partition = TopicPartition(topic: topic, partition: number)
                paths.append(layouts[index].offsetPath(partition))
                owners.append((index, partition))
            }
        }
        var offsets = [[TopicPartition: StoredOffset]](repeating: [:], count: layouts.count)
        for ((index, partition), (path, read)) in zip(owners, zip(paths, await client.getData(paths))) {
            switch read {
            case .success(let node):
                offsets[index][partition] = StoredOffset(path: path, bytes: node.bytes, stat: node.stat)
            case .failure(let error) where error.code == .noNode: continue
            case .failure(let error): throw error
            }
        }
        let members = await memberLists
        var groups: [Group] = []
        for (index, layout) in layouts.enumerated() {
            groups.append(
                Group(
                    group: layout.group, stat: stats[layout.group] ?? ZNodeStat(),
                    members: try Self.names(members[index]).sorted(), offsets: offsets[index]))
        }
        return GroupOffsetScan(groups: groups)
    }

    private static func names(_ result: Result<[String], ZooKeeperError>) throws -> [String] {
        switch result {
        case .success(let names): return names
        case .failure(let error) where error.code == .noNode: return []
        case .failure(let error): throw error
        }
    }
}
