import BlockingCalls
import Logging

/// Reads cluster state: metadata, watermarks, offsets for timestamps, and broker-side (Kafka-stored) group offsets.
///
/// Every call runs its blocking librdkafka work on a dedicated thread, never on Swift's cooperative pool, and
/// ends within about its `timeout` (calls made of two steps share one deadline). After `close()` every call
/// throws `.closed`.
public final class KafkaAdminClient: Sendable {
    private let client: RDKafkaClient
    private let logger: Logger

    /// Creates the client; throws `.invalidConfiguration` naming a property librdkafka rejected.
    /// Connecting happens lazily, so an unreachable cluster shows up as an error of the first call.
    public init(configuration: KafkaConfiguration, logger: Logger) throws {
        self.logger = logger
        // A consumer-type handle without group.id: it can ask anything and joins no group.
        client = try RDKafkaClient.make(kind: .consumer, configuration: configuration, logger: logger)
    }

    /// Topics and their partitions, sorted by name; `nil` lists every topic.
    ///
    /// Throws `.unknownTopicOrPartition` (with `topic` set) for the first named topic the cluster does not have.
    public func topics(_ names: [String]? = nil, timeout: Duration = .seconds(10)) async throws -> [TopicMetadata] {
        let all = try await allTopics(deadline: .now + timeout)
        guard let names else {
            return all.map { TopicMetadata(name: $0.key, partitions: $0.value) }.sorted { $0.name < $1.name }
        }
        return try names.map { name in
            guard let partitions = all[name] else { throw Self.unknownTopic(name) }
            return TopicMetadata(name: name, partitions: partitions)
        }
    }

    /// The log start and log end offsets of each partition.
    ///
    /// One metadata request checks that every partition exists (else `.unknownTopicOrPartition` naming it),
    /// then two ListOffsets lookups run in parallel, each one request per leader broker and `chunkSize`
    /// partitions: round trips do not grow with each partition. A lookup answered with a retryable error (leader
    /// moved or not available, connection lost, timed out) is asked again until `timeout`.
    public func watermarks(
        for partitions: [TopicPartition], timeout: Duration = .seconds(10)
    ) async throws -> [TopicPartition: Watermarks] {
        let unique = Set(partitions)
        guard !unique.isEmpty else { return [:] }
        let deadline = ContinuousClock.now + timeout
        try await requireExisting(unique, deadline: deadline)
        async let lows = lookUp(unique, timestamp: Self.logStart, deadline: deadline)
        async let highs = lookUp(unique, timestamp: Self.logEnd, deadline: deadline)
        let (low, high) = try await (lows, highs)
        var result: [TopicPartition: Watermarks] = [:]
        for partition in unique {
            guard let lowOffset = low[partition], let highOffset = high[partition] else {
                throw KafkaError(
                    code: .unknownTopicOrPartition, message: "no watermarks returned for \(partition)",
                    topic: partition.topic, partition: partition.partition)
            }
            result[partition] = Watermarks(low: lowOffset, high: highOffset)
        }
        return result
    }

    /// For each partition, the earliest offset whose message timestamp is `>= millis`; the log end offset
    /// when no message is that recent.
    ///
    /// Checks partitions exist first, like `watermarks`. Note: librdkafka's mock cluster does not implement
    /// timestamp lookups and always answers "none", so against it every partition gets its log end offset.
    public func offsets(
        forTimestamp millis: Int64, partitions: [TopicPartition], timeout: Duration = .seconds(10)
    ) async throws -> [TopicPartition: Int64] {
        guard millis >= 0 else {
            throw KafkaError(code: .invalidArgument, message: "timestamp must be >= 0 milliseconds, got \(millis)")
        }
        let unique = Set(partitions)
        guard !unique.isEmpty else { return [:] }
        let deadline = ContinuousClock.now + timeout
        try await requireExisting(unique, deadline: deadline)
        async let found = lookUp(unique, timestamp: millis, deadline: deadline)
        async let ends = lookUp(unique, timestamp: Self.logEnd, deadline: deadline)
        let (atTime, atEnd) = try await (found, ends)
        var result: [TopicPartition: Int64] = [:]
        for partition in unique {
            // Kafka answers -1 when no message has a timestamp >= millis.
            if let offset = atTime[partition], offset >= 0 {
                result[partition] = offset
            } else {
                result[partition] = atEnd[partition]
            }
        }
        return result
    }

    /// For each partition, the earliest offset whose message timestamp is `>=` that partition's own timestamp,
    /// exactly as the brokers answer it; a partition is absent when the broker answered "none".
    ///
    /// "None" means no message is that recent, or the broker keeps no time index (Kafka 0.8-era brokers, and
    /// librdkafka's mock cluster, which answers "none" to every timestamp): unlike `offsets(forTimestamp:)`
    /// nothing is replaced by the log end, so callers can tell a missing answer apart and search themselves.
    /// Checks partitions exist first (else `.unknownTopicOrPartition`); throws `.invalidArgument` for a negative
    /// timestamp. One ListOffsets request per leader broker and `chunkSize` partitions.
    public func offsets(
        forTimestamps query: [TopicPartition: Int64], timeout: Duration = .seconds(10)
    ) async throws -> [TopicPartition: Int64] {
        if let negative = query.first(where: { $0.value < 0 }) {
            throw KafkaError(
                code: .invalidArgument, message: "timestamp must be >= 0 milliseconds, got \(negative.value)",
                topic: negative.key.topic, partition: negative.key.partition)
        }
        guard !query.isEmpty else { return [:] }
        let deadline = ContinuousClock.now + timeout
        try await requireExisting(Set(query.keys), deadline: deadline)
        let answers = try await lookUp(query, deadline: deadline)
        // Kafka answers -1 for "none".
        return answers.filter { $0.value >= 0 }
    }

    /// The offsets `group` has stored in Kafka (OffsetFetch) as "next offset to consume" values; partitions
    /// with no stored offset are absent from the result.
    public func committedOffsets(
        group: String, partitions: [TopicPartition], timeout: Duration = .seconds(10)
    ) async throws -> [TopicPartition: Int64] {
        try Self.validate(group: group)
        guard !partitions.isEmpty else { return [:] }
        let client = try openClient()
        let timeoutMs = timeout.timeoutMilliseconds
        return try await Self.inChunks(Set(partitions).sorted(), thread: "rdkafka-offset-fetch") { chunk in
            try client.committedOffsets(group: group, partitions: chunk, timeoutMs: timeoutMs)
        }
    }

    /// Stores `offsets` for `group` in Kafka (OffsetCommit), exactly as given: "next offset to consume" values,
    /// no shift. Kafka refuses this while the group has active members subscribed to those topics.
    public func commitOffsets(
        group: String, offsets: [TopicPartition: Int64], timeout: Duration = .seconds(10)
    ) async throws {
        try Self.validate(group: group)
        if let negative = offsets.first(where: { $0.value < 0 }) {
            throw KafkaError(
                code: .invalidArgument, message: "offset \(negative.value) for \(negative.key) is negative",
                topic: negative.key.topic, partition: negative.key.partition)
        }
        guard !offsets.isEmpty else { return }
        let client = try openClient()
        try await runOnDedicatedThread(name: "rdkafka-offset-commit") {
            try client.commitOffsets(group: group, offsets: offsets, timeoutMs: timeout.timeoutMilliseconds)
        }
        logger.info("committed offsets to Kafka", metadata: [LogKey.group: "\(group)", LogKey.partitions: "\(offsets.count)"])
    }

    /// Member ids of the active members of a Kafka-side consumer group, sorted; empty when the group has no
    /// members or is unknown.
    ///
    /// Throws `.unsupportedFeature` when the brokers do not implement ListGroups/DescribeGroups (librdkafka
    /// 2.0.2's mock cluster does not).
    public func groupMembers(group: String, timeout: Duration = .seconds(10)) async throws -> [String] {
        try Self.validate(group: group)
        let client = try openClient()
        return try await runOnDedicatedThread(name: "rdkafka-list-groups") {
            try client.groupMembers(group: group, timeoutMs: timeout.timeoutMilliseconds)
        }
    }

    /// Releases the client's connections and threads; waits until librdkafka finished, for at most 10 seconds
    /// (see `BoundedClose`). Idempotent.
    public func close() async {
        let client = self.client
        _ = await BoundedClose.run("admin client", logger: logger) {
            await runOnDedicatedThread(name: "rdkafka-admin-close") { client.destroy() }
        }
    }

    // MARK: - Steps

    private static let logStart: Int64 = -2  // librdkafka's RD_KAFKA_OFFSET_BEGINNING as a ListOffsets timestamp
    private static let logEnd: Int64 = -1  // RD_KAFKA_OFFSET_END

    private func openClient() throws -> RDKafkaClient {
        guard !client.isDestroyed else { throw KafkaError(code: .closed, message: "the admin client is closed") }
        return client
    }

    private func allTopics(deadline: ContinuousClock.Instant) async throws -> [String: [Int32]] {
        let client = try openClient()
        let timeoutMs = Self.remaining(until: deadline)
        return try await runOnDedicatedThread(name: "rdkafka-metadata") {
            try client.allTopicPartitions(timeoutMs: timeoutMs)
        }
    }

    private func requireExisting(_ partitions: Set<TopicPartition>, deadline: ContinuousClock.Instant) async throws {
        // Sets: a topic can have thousands of partitions, each checked.
        let all = try await allTopics(deadline: deadline).mapValues(Set.init)
        for partition in partitions.sorted() {
            guard let known = all[partition.topic] else { throw Self.unknownTopic(partition.topic) }
            guard known.contains(partition.partition) else {
                throw KafkaError(
                    code: .unknownTopicOrPartition,
                    message: "topic \(partition.topic) has no partition \(partition.partition) "
                        + "(it has \(known.count))",
                    topic: partition.topic, partition: partition.partition)
            }
        }
    }

    /// At most this many partitions per ListOffsets or OffsetFetch call: librdkafka 2.0.2 matches each answer to
    /// its request by a linear search of the list (a strcmp per entry), quadratic in its length. Callgrind of a
    /// dry-run `reset` of 5,000 partitions: calls of 500 spent 269 M of its 658 M instructions there, calls of 50
    /// spend 28 M, for a few more (small) requests.
    static let chunkSize = 50

    /// At most this many calls of one lookup at a time, each blocking a dedicated thread: enough to keep every
    /// broker busy without a thread per chunk.
    static let parallelCalls = 8

    private func lookUp(
        _ partitions: Set<TopicPartition>, timestamp: Int64, deadline: ContinuousClock.Instant
    ) async throws -> [TopicPartition: Int64] {
        try await lookUp(Dictionary(uniqueKeysWithValues: partitions.map { ($0, timestamp) }), deadline: deadline)
    }

    /// The offsets for `query`'s timestamps (ListOffsets), in calls of at most `chunkSize` partitions.
    private func lookUp(
        _ query: [TopicPartition: Int64], deadline: ContinuousClock.Instant
    ) async throws -> [TopicPartition: Int64] {
        let client = try openClient()
        return try await Self.retrying(until: deadline) {
            try await Self.inChunks(query.keys.sorted(), thread: "rdkafka-list-offsets") { chunk in
                try client.offsets(
                    forTimes: Dictionary(uniqueKeysWithValues: chunk.map { ($0, query[$0]!) }),
                    timeoutMs: Self.remaining(until: deadline))
            }
        }
    }

    /// Runs `body` again after a retryable failure (a leader moving, a dropped connection, a broker timing out)
    /// while time is left before `deadline`: librdkafka's offsets lookup reports such answers instead of retrying
    /// them itself. Waits 50 ms before the first retry, doubling up to 1 s.
    private static func retrying<T: Sendable>(
        until deadline: ContinuousClock.Instant, _ body: () async throws -> T
    ) async throws -> T {
        var delay = Duration.milliseconds(50)
        while true {
            do {
                return try await body()
            } catch let error as KafkaError where error.isRetryable && ContinuousClock.now + delay < deadline {
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(1))
            }
        }
    }

    /// `body` for each run of at most `chunkSize` partitions, each on a dedicated thread, `parallelCalls` at a
    /// time; the answers merged. The first error is thrown.
    private static func inChunks(
        _ partitions: [TopicPartition], thread: String,
        _ body: @escaping @Sendable ([TopicPartition]) throws -> [TopicPartition: Int64]
    ) async throws -> [TopicPartition: Int64] {
        var chunks = stride(from: 0, to: partitions.count, by: chunkSize).lazy.map {
            Array(partitions[$0..<min($0 + chunkSize, partitions.count)])
        }.makeIterator()
        return try await withThrowingTaskGroup(of: [TopicPartition: Int64].self) { group in
            func startNext() -> Bool {
                guard let chunk = chunks.next() else { return false }
                group.addTask { try await runOnDedicatedThread(name: thread) { try body(chunk) } }
                return true
            }
            for _ in 0..<parallelCalls where !startNext() { break }
            var result: [TopicPartition: Int64] = [:]
            result.reserveCapacity(partitions.count)
            while let answers = try await group.next() {
                result.merge(answers) { _, new in new }
                _ = startNext()
            }
            return result
        }
    }

    private static func remaining(until deadline: ContinuousClock.Instant) -> Int32 {
        // At least 1 ms: librdkafka treats 0 as "don't wait" and fails at once even if the answer is cached.
        max(1, (deadline - .now).timeoutMilliseconds)
    }

    private static func unknownTopic(_ name: String) -> KafkaError {
        KafkaError(code: .unknownTopicOrPartition, message: "topic \(name) does not exist", topic: name)
    }

    private static func validate(group: String) throws {
        guard !group.isEmpty else { throw KafkaError(code: .invalidArgument, message: "the group id is empty") }
    }
}
