import ZKOffsets

/// One live member of a group, as `describe` shows it (the `ids` znode and the owners).
public struct MemberDescription: Sendable, Equatable {
    /// The consumer id.
    public var consumerID: String
    /// The host in the consumer id (`<group>_<host>-<epoch ms>-<hex>`, Kafka 0.8's form), when it has one.
    public var host: String?
    /// When the member registered: the registration's timestamp, else the `ids` znode's creation time.
    public var sinceMillis: Int64
    /// Topic -> threads, from the registration; empty when the registration is not Kafka 0.8's JSON.
    public var subscription: [String: Int]
    /// How many partitions the member owns now.
    public var ownedPartitions: Int

    /// A member as given; nothing is derived here (`host(inConsumerID:group:)` finds the host).
    public init(consumerID: String, host: String?, sinceMillis: Int64, subscription: [String: Int], ownedPartitions: Int) {
        self.consumerID = consumerID
        self.host = host
        self.sinceMillis = sinceMillis
        self.subscription = subscription
        self.ownedPartitions = ownedPartitions
    }

    /// The host part of a Kafka 0.8 consumer id of `group`, or nil when the id has another form.
    public static func host(inConsumerID id: String, group: String) -> String? {
        guard id.hasPrefix(group + "_") else { return nil }
        let parts = id.dropFirst(group.count + 1).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[parts.count - 2].allSatisfy(\.isNumber) else { return nil }
        return parts.dropLast(2).joined(separator: "-")
    }

    /// The members of `group` now (pipelined reads), with their owned partition counts from `owners`.
    public static func read(inventory: GroupInventory, group: String, owners: [TopicPartition: String]) async throws
        -> [MemberDescription]
    {
        let layout = try OffsetLayout(group: group)
        let ids = try await inventory.members(group: group)
        let nodes = await inventory.client.getData(ids.map { layout.idPath(consumerID: $0) })
        var owned: [String: Int] = [:]
        for owner in owners.values { owned[owner, default: 0] += 1 }
        return zip(ids, nodes).compactMap { id, result in
            guard case .success(let node) = result else { return nil }  // left meanwhile
            let member = try? GroupMember(consumerID: id, registration: node.bytes)
            return MemberDescription(
                consumerID: id, host: host(inConsumerID: id, group: group),
                sinceMillis: member?.timestampMillis ?? node.stat.ctime, subscription: member?.subscription ?? [:],
                ownedPartitions: owned[id] ?? 0)
        }
    }
}
