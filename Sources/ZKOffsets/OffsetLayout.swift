/// The znode layout of Kafka 0.8's ZooKeeper consumer groups, and the name rules, in one place.
///
/// `/consumers/<group>/offsets/<topic>/<partition>` holds the next offset to consume;
/// `/consumers/<group>/ids/<consumerId>` and `/consumers/<group>/owners/<topic>/<partition>` hold membership.
/// Tools such as Burrow, CMAK and Kafka's ConsumerOffsetChecker read exactly these paths.
public struct OffsetLayout: Sendable, Hashable {
    /// The parent of every group.
    public static let consumersRoot = "/consumers"

    /// The group id.
    public let group: String

    /// A layout for `group`; throws `invalidGroup` before any znode is touched.
    public init(group: String) throws(OffsetError) {
        try Self.validateGroup(group)
        self.group = group
    }

    /// `/consumers/<group>`: the parent of the group's `offsets`, `ids` and `owners`.
    public var groupPath: String { "\(Self.consumersRoot)/\(group)" }
    /// `/consumers/<group>/offsets`: one child per topic the group has committed offsets for.
    public var offsetsPath: String { "\(groupPath)/offsets" }
    /// `/consumers/<group>/ids`: one ephemeral child per live member, holding its registration JSON.
    public var idsPath: String { "\(groupPath)/ids" }
    /// `/consumers/<group>/owners`: per topic, an ephemeral child for each partition a member owns.
    public var ownersPath: String { "\(groupPath)/owners" }

    /// `/consumers/<group>/offsets/<topic>`: its children are the partitions with a stored offset. The topic is used as
    /// given: check names from outside with `validateTopic` first.
    public func offsetsPath(topic: String) -> String { "\(offsetsPath)/\(topic)" }
    /// `/consumers/<group>/offsets/<topic>/<partition>`: the znode whose data is the partition's next offset to
    /// consume, in ASCII decimal.
    public func offsetPath(_ partition: TopicPartition) -> String {
        "\(offsetsPath)/\(partition.topic)/\(partition.partition)"
    }
    /// The same path as `OffsetLayout(group:).offsetPath(_:)`, for a group id validated when it was read (a parsed
    /// file, a scan of ZooKeeper): nothing is checked again.
    public static func offsetPath(group: String, _ partition: TopicPartition) -> String {
        "\(consumersRoot)/\(group)/offsets/\(partition.topic)/\(partition.partition)"
    }
    /// `/consumers/<group>/ids/<consumerId>`: the member's ephemeral registration znode.
    public func idPath(consumerID: String) -> String { "\(idsPath)/\(consumerID)" }
    /// `/consumers/<group>/owners/<topic>`: the parent of the topic's owner znodes.
    public func ownersPath(topic: String) -> String { "\(ownersPath)/\(topic)" }
    /// `/consumers/<group>/owners/<topic>/<partition>`: exists, ephemeral, while a member owns the partition; its data
    /// is the owning thread id (`<consumerId>-<n>`; zkoffsets members use `-0`).
    public func ownerPath(_ partition: TopicPartition) -> String {
        "\(ownersPath)/\(partition.topic)/\(partition.partition)"
    }

    /// Group ids: non-empty, no `/`, no control characters (C0 and C1), nothing else ZooKeeper refuses in a znode
    /// name (`ZNodePath`), and not `.` or `..`.
    public static func validateGroup(_ group: String) throws(OffsetError) {
        func invalid(_ why: String) -> OffsetError {
            OffsetError(.invalidGroup, "invalid group id '\(group.escapedForDisplay)': \(why)")
        }
        if group.isEmpty { throw invalid("it is empty") }
        // Scalars: "/" followed by a combining mark is one Character, and still a path separator.
        if group.unicodeScalars.contains("/") { throw invalid("it contains '/'") }
        if group == "." || group == ".." { throw invalid("'.' and '..' are not znode names") }
        if group.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw invalid("it contains a control character")
        }
        if let problem = ZNodePath.problem("/consumers/" + group) {
            throw invalid(problem.message.components(separatedBy: ": ").last ?? "ZooKeeper refuses it")
        }
    }

    /// Topic names as Kafka allows them: `[a-zA-Z0-9._-]{1,249}`, not `.` or `..`.
    public static func validateTopic(_ topic: String) throws(OffsetError) {
        func invalid(_ why: String) -> OffsetError {
            OffsetError(.invalidTopic, "invalid topic '\(topic.escapedForDisplay)': \(why)")
        }
        if topic.isEmpty { throw invalid("it is empty") }
        if topic.utf8.count > 249 { throw invalid("it is longer than 249 characters") }
        if topic == "." || topic == ".." { throw invalid("'.' and '..' are not topic names") }
        let allowed = topic.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                || byte == 0x2e || byte == 0x5f || byte == 0x2d
        }
        if !allowed { throw invalid("only letters, digits, '.', '_' and '-' are allowed") }
    }
}

extension String {
    /// The string with control characters (C0 and C1) shown as escapes (`\\n`, `\\u{7F}`), for messages that
    /// quote input.
    public var escapedForDisplay: String {
        unicodeScalars.map { $0.properties.generalCategory == .control ? $0.escaped(asASCII: true) : String($0) }.joined()
    }
}
