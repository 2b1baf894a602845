import ZKOffsets

/// A group under `/consumers`, with its topics (those that have offsets) and its live members.
public struct GroupSummary: Sendable, Equatable, Codable {
    /// The group id, the child's name under `/consumers`.
    public var group: String
    /// The topics with a child under `offsets`, sorted.
    public var topics: [String]
    /// The live member ids (children of `ids`), sorted.
    public var members: [String]

    /// A group as `GroupInventory.groups()` lists it.
    public init(group: String, topics: [String], members: [String]) {
        self.group = group
        self.topics = topics
        self.members = members
    }
}

/// Reads what ZooKeeper holds for consumer groups in Kafka 0.8's layout; never writes.
///
/// Every name is validated before a path is built from it, and reads are pipelined.
public struct GroupInventory: Sendable {
    /// The ZooKeeper client every read goes through; the inventory never writes with it.
    public let client: ZooKeeperClient

    /// An inventory reading through `client`; it reads nothing until asked.
    public init(client: ZooKeeperClient) {
        self.client = client
    }

    /// Every group under `/consumers`, sorted, with its topics and live member ids (children of `ids`).
    public func groups() async throws -> [GroupSummary] {
        let names: [String]
        do {
            names = try await client.children(OffsetLayout.consumersRoot).names.sorted()
        } catch {
            if error.code == .noNode { return [] }
            throw error
        }
        let layouts = names.compactMap { try? OffsetLayout(group: $0) }
        let topics = await client.children(layouts.map(\.offsetsPath))
        let members = await client.children(layouts.map(\.idsPath))
        var result: [GroupSummary] = []
        for (index, layout) in layouts.enumerated() {
            result.append(
                GroupSummary(
                    group: layout.group, topics: try Self.names(topics[index]), members: try Self.names(members[index])
                ))
        }
        return result
    }

    /// Throws `invalidInput` ("unknown group") when `/consumers/<group>` does not exist.
    public func requireExisting(group: String) async throws {
        let layout = try OffsetLayout(group: group)
        if try await client.exists(layout.groupPath) == nil { throw OffsetError.unknownGroup(layout) }
    }

    /// The live member ids of the group (children of `/consumers/<group>/ids`), sorted.
    public func members(group: String) async throws -> [String] {
        let layout = try OffsetLayout(group: group)
        return try Self.names(await client.children([layout.idsPath])[0])
    }

    /// The topics that have an offsets directory for the group, sorted.
    public func topics(group: String) async throws -> [String] {
        let layout = try OffsetLayout(group: group)
        return try Self.names(await client.children([layout.offsetsPath])[0])
    }

    /// Children of `offsets/<topic>`: partition numbers (sorted) and any child that is not a partition number.
    public func partitionChildren(group: String, topic: String) async throws -> (partitions: [Int32], other: [String]) {
        let layout = try OffsetLayout(group: group)
        try OffsetLayout.validateTopic(topic)
        let names = try Self.names(await client.children([layout.offsetsPath(topic: topic)])[0])
        var partitions: [Int32] = []
        var other: [String] = []
        for name in names {
            if let number = Int32(name), number >= 0, String(number) == name {
                partitions.append(number)
            } else {
                other.append(name)
            }
        }
        return (partitions.sorted(), other)
    }

    /// Every offset znode of the group under `topics` (all stored topics when nil), read in one pipelined batch.
    /// Topic names found in ZooKeeper that are not valid topic names are skipped (`verify` reports them).
    public func offsets(group: String, topics: [String]? = nil) async throws -> [TopicPartition: StoredOffset] {
        let layout = try OffsetLayout(group: group)
        for topic in topics ?? [] { try OffsetLayout.validateTopic(topic) }
        var partitions: [TopicPartition] = []
        let names: [String]
        if let topics { names = topics } else { names = try await self.topics(group: group) }
        for topic in names where (try? OffsetLayout.validateTopic(topic)) != nil {
            partitions += try await partitionChildren(group: group, topic: topic).partitions.map {
                TopicPartition(topic: topic, partition: $0)
            }
        }
        return try await ZooKeeperOffsetStore(client: client, group: layout.group).inspect(partitions)
    }

    /// The offset znodes of exactly these partitions (absent from the result when there is no znode), each read
    /// once, pipelined, through the group's `ZooKeeperOffsetStore`.
    public func offsets(group: String, partitions: [TopicPartition]) async throws -> [TopicPartition: StoredOffset] {
        try await ZooKeeperOffsetStore(client: client, group: group).inspect(partitions)
    }

    /// The owners of the group's partitions under `topic`: partition -> owner data (`<consumerId>-<thread>`).
    public func owners(group: String, topic: String) async throws -> [Int32: String] {
        let layout = try OffsetLayout(group: group)
        try OffsetLayout.validateTopic(topic)
        let names = try Self.names(await client.children([layout.ownersPath(topic: topic)])[0])
        let numbers = names.compactMap { Int32($0) }
        let reads = await client.getData(numbers.map { layout.ownerPath(TopicPartition(topic: topic, partition: $0)) })
        var result: [Int32: String] = [:]
        for (number, read) in zip(numbers, reads) {
            switch read {
            case .success(let node): result[number] = String(decoding: node.bytes, as: UTF8.self)
            case .failure(let error) where error.code == .noNode: continue
            case .failure(let error): throw error
            }
        }
        return result
    }

    /// The topics that have an owners directory for the group.
    public func ownedTopics(group: String) async throws -> [String] {
        let layout = try OffsetLayout(group: group)
        return try Self.names(await client.children([layout.ownersPath])[0])
    }

    /// Throws a refusal naming the members when the group has live members (children of `ids`).
    public func refuseIfActive(group: String, force: Bool) async throws {
        let layout = try OffsetLayout(group: group)
        let members = try await members(group: group)
        if !members.isEmpty && !force {
            throw OperationRefusal(
                "group '\(group)' has \(members.count) live member(s) in ZooKeeper (\(members.joined(separator: ", "))) "
                    + "under \(layout.idsPath): stop its consumers first, or pass --force; nothing was written"
            )
        }
    }

    private static func names(_ result: Result<[String], ZooKeeperError>) throws -> [String] {
        switch result {
        case .success(let names): return names.sorted()
        case .failure(let error) where error.code == .noNode: return []
        case .failure(let error): throw error
        }
    }
}

extension OffsetError {
    /// `invalidInput` for a group whose znode does not exist, naming the znode.
    static func unknownGroup(_ layout: OffsetLayout) -> OffsetError {
        OffsetError(.invalidInput, "unknown group '\(layout.group)': \(layout.groupPath) does not exist")
    }
}
