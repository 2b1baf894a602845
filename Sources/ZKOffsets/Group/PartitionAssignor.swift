/// How a group's partitions are split among its members: Kafka 0.8.2's `partition.assignment.strategy`, computed
/// exactly as its `RangeAssignor` and `RoundRobinAssignor` do, so that zkoffsets members and Java members of one
/// group agree on who owns what.
public struct AssignmentStrategy: Sendable, Hashable, CustomStringConvertible {
    /// Kafka's name for the strategy (`range`, `roundrobin`).
    public let name: String
    private init(_ name: String) { self.name = name }

    /// Per topic: the subscribed members' thread ids sorted as strings, the partitions sorted numerically;
    /// each thread gets `P / C` consecutive partitions and the first `P % C` threads one more. Kafka's default.
    public static let range = AssignmentStrategy("range")
    /// All partitions of all topics ordered by the Java hash code of `[topic,partition]`, dealt to the sorted
    /// thread ids in turn. Every member must subscribe to the same topics with the same thread counts.
    public static let roundRobin = AssignmentStrategy("roundrobin")

    /// The strategy Kafka calls `name` (`range` or `roundrobin`), or nil.
    public init?(name: String) {
        switch name {
        case "range": self = .range
        case "roundrobin": self = .roundRobin
        default: return nil
        }
    }

    /// Kafka's name for the strategy (`range`, `roundrobin`).
    public var description: String { name }
}

/// Computes a group's assignment from what every member can read in ZooKeeper: the registered members and the
/// partitions of each topic.
public enum PartitionAssignor {
    /// The owning thread id (`<consumerId>-<n>`) of every partition of `partitions` (topic -> partition numbers)
    /// that some member subscribes to. Throws `incompatibleMembers` for round-robin over members whose
    /// subscriptions differ (Kafka refuses the same).
    public static func assign(
        _ strategy: AssignmentStrategy, members: [GroupMember], partitions: [String: [Int32]]
    ) throws(OffsetError) -> [TopicPartition: String] {
        var threadsPerTopic: [String: [String]] = [:]
        for topic in partitions.keys {
            let threads = members.flatMap { $0.threadIDs(for: topic) }.sorted(by: javaStringOrder)
            if !threads.isEmpty { threadsPerTopic[topic] = threads }
        }
        return strategy == .roundRobin
            ? try roundRobin(threadsPerTopic: threadsPerTopic, partitions: partitions)
            : range(threadsPerTopic: threadsPerTopic, partitions: partitions)
    }

    /// The partitions `consumerID` owns under `strategy`.
    public static func partitions(
        of consumerID: String, _ strategy: AssignmentStrategy, members: [GroupMember], partitions: [String: [Int32]]
    ) throws(OffsetError) -> Set<TopicPartition> {
        let owners = try assign(strategy, members: members, partitions: partitions)
        let prefix = consumerID + "-"
        return Set(owners.compactMap { partition, thread in
            thread.hasPrefix(prefix) && thread.dropFirst(prefix.count).allSatisfy(\.isNumber) ? partition : nil
        })
    }

    private static func range(
        threadsPerTopic: [String: [String]], partitions: [String: [Int32]]
    ) -> [TopicPartition: String] {
        var owners: [TopicPartition: String] = [:]
        for (topic, threads) in threadsPerTopic {
            let numbers = (partitions[topic] ?? []).sorted()
            let perThread = numbers.count / threads.count
            let withExtra = numbers.count % threads.count
            for (position, thread) in threads.enumerated() {
                let start = perThread * position + min(position, withExtra)
                let count = perThread + (position < withExtra ? 1 : 0)
                for number in numbers[start..<(start + count)] {
                    owners[TopicPartition(topic: topic, partition: number)] = thread
                }
            }
        }
        return owners
    }

    private static func roundRobin(
        threadsPerTopic: [String: [String]], partitions: [String: [Int32]]
    ) throws(OffsetError) -> [TopicPartition: String] {
        guard let (firstTopic, threads) = threadsPerTopic.min(by: { $0.key < $1.key }) else { return [:] }
        if let (topic, _) = threadsPerTopic.first(where: { $0.value != threads }) {
            throw OffsetError(
                .incompatibleMembers,
                "round-robin assignment needs every member to subscribe to the same topics with the same thread "
                    + "counts, but the consumers of \(topic) differ from those of \(firstTopic)")
        }
        let all = threadsPerTopic.keys.flatMap { topic in
            (partitions[topic] ?? []).map { TopicPartition(topic: topic, partition: $0) }
        }
        // Kafka sorts by the hash code alone; equal hash codes are rare and keep its (hash map) input order, which
        // nobody can reproduce: topic and partition break the tie here.
        let ordered = all.map { (hash: javaHashCode("[\($0.topic),\($0.partition)]"), partition: $0) }
            .sorted { $0.hash != $1.hash ? $0.hash < $1.hash : $0.partition < $1.partition }
        var owners: [TopicPartition: String] = [:]
        for (index, entry) in ordered.enumerated() {
            owners[entry.partition] = threads[index % threads.count]
        }
        return owners
    }

    /// Java's `String.compareTo`: UTF-16 code units in order (Kafka sorts thread ids this way).
    static func javaStringOrder(_ a: String, _ b: String) -> Bool {
        a.utf16.lexicographicallyPrecedes(b.utf16)
    }

    /// Java's `String.hashCode`: `s[0]*31^(n-1) + ... + s[n-1]` over UTF-16 code units, in 32-bit arithmetic.
    static func javaHashCode(_ string: String) -> Int32 {
        string.utf16.reduce(Int32(0)) { $0 &* 31 &+ Int32($1) }
    }
}
