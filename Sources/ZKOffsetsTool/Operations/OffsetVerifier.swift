import ZKOffsets

/// One way a group's znodes break the contract (see DESIGN.md, "The contract").
public struct VerifyFinding: Sendable, Equatable, Comparable {
    /// Which rule of the contract a finding breaks; static constants, so kinds can be added without breaking users.
    public struct Kind: Hashable, Sendable, CustomStringConvertible, Comparable {
        /// The name `verify` prints (`non-canonical`, `partition-gap`, ...).
        public let name: String
        private init(_ name: String) { self.name = name }

        /// Offset data that is not exactly a plain decimal (whitespace, sign, leading zeros, Java-serialized
        /// bytes, empty, anything else).
        public static let nonCanonical = Kind("non-canonical")
        /// Partition numbers under `offsets/<topic>` with holes (0, 1, 3).
        public static let partitionGap = Kind("partition-gap")
        /// A partition the brokers have and ZooKeeper has no offset for.
        public static let missingPartition = Kind("missing-partition")
        /// An offset znode for a partition number the brokers' topic does not have.
        public static let unknownPartition = Kind("unknown-partition")
        /// A topic with offsets in ZooKeeper that the brokers do not have.
        public static let unknownTopic = Kind("unknown-topic")
        /// A stored offset above the partition's log end.
        public static let aboveLogEnd = Kind("above-log-end")
        /// A stored offset below the partition's log start (retention removed the data).
        public static let belowLogStart = Kind("below-log-start")
        /// An owner znode whose consumer has no `ids` znode.
        public static let ownerWithoutID = Kind("owner-without-id")
        /// A child of `offsets/` or `offsets/<topic>` that is not a valid topic name or partition number.
        public static let strayZNode = Kind("stray-znode")
        /// Znodes of the group that anyone may change (`world:anyone` with more than read), checked only when asked:
        /// groups written without credentials are world-writable by design (Kafka 0.8's default).
        public static let worldWritable = Kind("world-writable")

        /// The kind's name.
        public var description: String { name }
        /// By name, for a stable order.
        public static func < (lhs: Kind, rhs: Kind) -> Bool { lhs.name < rhs.name }
    }

    /// Which rule is broken.
    public var kind: Kind
    /// The group whose znodes break it.
    public var group: String
    /// The znode concerned (or the topic directory).
    public var path: String
    /// A sentence for people.
    public var message: String

    /// A finding as `OffsetVerifier` reports it.
    public init(kind: Kind, group: String, path: String, message: String) {
        self.kind = kind
        self.group = group
        self.path = path
        self.message = message
    }

    /// By group, path, then kind: the order `verify` prints.
    public static func < (lhs: VerifyFinding, rhs: VerifyFinding) -> Bool {
        (lhs.group, lhs.path, lhs.kind) < (rhs.group, rhs.path, rhs.kind)
    }

    /// `<kind>  <message>`, one line.
    public var line: String { "\(kind): \(message)" }

    /// The finding as one JSON object (`kind`, `group`, `path`, `message`), keys in a fixed order.
    public var json: String {
        JSONText.object([
            ("kind", JSONText.string(kind.name)), ("group", JSONText.string(group)), ("path", JSONText.string(path)),
            ("message", JSONText.string(message)),
        ])
    }
}

/// Checks groups against the contract; reads only.
public enum OffsetVerifier {
    /// Why offset bytes are not canonical, or nil when they are (`OffsetValue.problem`: the readers' own rule).
    public static func problem(with bytes: [UInt8]) -> String? {
        OffsetValue.problem(bytes)
    }

    /// Every finding for `group`; broker checks (missing partitions, log range, unknown topics) only with `admin`;
    /// ACLs (znodes the world may write) only with `checkACLs` (the CLI does when `--zk-auth` is given).
    public static func verify(
        inventory: GroupInventory, admin: KafkaAdminClient?, group: String, timeout: Duration = .seconds(10),
        checkACLs: Bool = false
    ) async throws -> [VerifyFinding] {
        let layout = try OffsetLayout(group: group)
        try await inventory.requireExisting(group: group)
        var findings: [VerifyFinding] = []
        func add(_ kind: VerifyFinding.Kind, _ path: String, _ message: String) {
            findings.append(VerifyFinding(kind: kind, group: group, path: path, message: message))
        }
        var topics: [String] = []
        for topic in try await inventory.topics(group: group) {
            if (try? OffsetLayout.validateTopic(topic)) == nil {
                add(.strayZNode, "\(layout.offsetsPath)/\(topic)", "\(layout.offsetsPath)/\(topic.escapedForDisplay) is not a valid topic name")
            } else {
                topics.append(topic)
            }
        }
        var stored: [String: [Int32]] = [:]
        for topic in topics {
            let children = try await inventory.partitionChildren(group: group, topic: topic)
            stored[topic] = children.partitions
            for other in children.other {
                add(.strayZNode, "\(layout.offsetsPath(topic: topic))/\(other)",
                    "\(layout.offsetsPath(topic: topic))/\(other.escapedForDisplay) is not a partition number")
            }
            if let last = children.partitions.last {
                let missing = Set(0...last).subtracting(children.partitions).sorted()
                if !missing.isEmpty {
                    add(.partitionGap, layout.offsetsPath(topic: topic),
                        "\(layout.offsetsPath(topic: topic)) has partitions up to \(last) but none for "
                            + missing.map(String.init).joined(separator: ", "))
                }
            }
        }
        let nodes = try await inventory.offsets(group: group, topics: topics)
        for (_, node) in nodes.sorted(by: { $0.key < $1.key }) {
            if let problem = problem(with: node.bytes) {
                add(.nonCanonical, node.path, "\(node.path) holds \(OffsetValue.describe(node.bytes)): \(problem)")
            }
        }
        if let admin {
            let metadata = try await admin.topics(timeout: timeout)
            let brokerPartitions = Dictionary(uniqueKeysWithValues: metadata.map { ($0.name, $0.partitions) })
            var onBrokers: [TopicPartition] = []
            for topic in topics {
                guard let numbers = brokerPartitions[topic] else {
                    add(.unknownTopic, layout.offsetsPath(topic: topic),
                        "group '\(group)' has offsets for topic \(topic), which the brokers do not have")
                    continue
                }
                for number in stored[topic] ?? [] where !numbers.contains(number) {
                    let path = layout.offsetPath(TopicPartition(topic: topic, partition: number))
                    add(.unknownPartition, path,
                        "\(path) has an offset, but topic \(topic) has no partition \(number) on the brokers "
                            + "(it has \(numbers.count))")
                }
                for number in numbers {
                    let partition = TopicPartition(topic: topic, partition: number)
                    onBrokers.append(partition)
                    if nodes[partition] == nil {
                        add(.missingPartition, layout.offsetPath(partition),
                            "\(layout.offsetPath(partition)) is missing: the brokers have partition \(number) of \(topic)")
                    }
                }
            }
            let watermarks = try await admin.watermarks(for: onBrokers, timeout: timeout)
            for partition in onBrokers {
                guard let offset = nodes[partition]?.offset, let marks = watermarks[partition] else { continue }
                let path = layout.offsetPath(partition)
                if offset > marks.high {
                    add(.aboveLogEnd, path, "\(path) holds \(offset), above the log end \(marks.high)")
                } else if offset < marks.low {
                    add(.belowLogStart, path,
                        "\(path) holds \(offset), below the log start \(marks.low) (\(marks.low - offset) messages are gone)")
                }
            }
        }
        if checkACLs {
            var paths = [layout.groupPath, layout.idsPath, layout.offsetsPath, layout.ownersPath]
            paths += topics.map { layout.offsetsPath(topic: $0) }
            paths += nodes.values.map(\.path).sorted()
            let open = try await worldWritable(inventory.client, paths)
            if !open.isEmpty {
                add(.worldWritable, layout.groupPath,
                    "\(open.count) znode(s) of group '\(group)' may be changed by anyone (world:anyone can write): "
                        + open.prefix(5).joined(separator: ", ") + (open.count > 5 ? ", ..." : ""))
            }
        }
        let members = Set(try await inventory.members(group: group))
        for topic in try await inventory.ownedTopics(group: group) where (try? OffsetLayout.validateTopic(topic)) != nil {
            for (number, owner) in try await inventory.owners(group: group, topic: topic).sorted(by: { $0.key < $1.key }) {
                let consumer = GroupDescription.consumerID(fromOwner: owner)
                if !members.contains(consumer) {
                    let path = layout.ownerPath(TopicPartition(topic: topic, partition: number))
                    add(.ownerWithoutID, path,
                        "\(path) is owned by '\(owner.escapedForDisplay)' but \(layout.idsPath)/\(consumer.escapedForDisplay) does not exist")
                }
            }
        }
        return findings.sorted()
    }

    /// The paths among `paths` whose ACL lets `world:anyone` write, create, delete or change the ACL; missing
    /// znodes are skipped.
    static func worldWritable(_ client: ZooKeeperClient, _ paths: [String]) async throws -> [String] {
        let changing: ACL.Permissions = [.write, .create, .delete, .admin]
        var open: [String] = []
        for (path, result) in zip(paths, await client.getACL(paths)) {
            switch result {
            case .success(let node):
                if node.acl.contains(where: { $0.scheme == "world" && $0.id == "anyone" && !$0.permissions.isDisjoint(with: changing) }) {
                    open.append(path)
                }
            case .failure(let error) where error.code == .noNode || error.code == .noAuth:
                continue  // gone, or not even readable to us (ZooKeeper 3.5+ wants read or admin for the ACL)
            case .failure(let error):
                throw error
            }
        }
        return open
    }
}
