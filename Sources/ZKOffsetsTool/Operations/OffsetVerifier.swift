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
    /// Why offset bytes are not canonical, or nil when they are.
    public static func problem(with bytes: [UInt8]) -> String? {
        if OffsetValue.isCanonical(bytes) { return nil }
        if bytes.isEmpty { return "empty data" }
        if bytes.starts(with: [0xAC, 0xED]) { return "Java-serialized bytes" }
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0a || $0 == 0x0d }
        if bytes.contains(where: isSpace), (try? OffsetValue.decode(bytes, path: "")) != nil {
            return "surrounding whitespace"
        }
        if let first = bytes.first, first == 0x2B || first == 0x2D,
            bytes.dropFirst().allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), bytes.count > 1
        {
            return "a sign"
        }
        if bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            return (try? OffsetValue.decode(bytes, path: "")) == nil ? "a number beyond 64 bits" : "leading zeros"
        }
        return "not a decimal number"
    }

    /// Every finding for `group`; broker checks (missing partitions, log range, unknown topics) only with `admin`.
    public static func verify(
        inventory: GroupInventory, admin: KafkaAdminClient?, group: String, timeout: Duration = .seconds(10)
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
}
