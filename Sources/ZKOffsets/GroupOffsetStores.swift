import BlockingCalls
import Logging
import Synchronization

/// Where one member's offsets are read and committed under its `OffsetStorage`, for one ZooKeeper session:
/// ZooKeeper (`ZooKeeperOffsetStore`), Kafka's group offsets (`KafkaOffsetStore`), or both.
///
/// - `zookeeper`: one fenced ZooKeeper transaction per commit, with the application's operations.
/// - `dual`: the ZooKeeper transaction first (fenced, with the application's operations), then the same offsets
///   to Kafka; a failure of the Kafka commit fails the commit (the offsets are in ZooKeeper only, and the next
///   commit sends them to Kafka again). A partition starts from the greater of the two stored offsets.
/// - `kafka`: the owner znodes are checked in one ZooKeeper transaction (fencing stays in ZooKeeper), then the
///   offsets go to Kafka. The application's own ZooKeeper operations cannot be atomic with a Kafka commit: a
///   commit that carries them is refused.
final class GroupOffsetStores: Sendable {
    let storage: OffsetStorage
    let zooKeeper: ZooKeeperOffsetStore
    let kafka: KafkaOffsetStore?
    private let client: ZooKeeperClient
    private let logger: Logger
    /// What Kafka holds as far as this member knows (what it read or committed), to send only changes.
    private let kafkaKnown = Mutex<[TopicPartition: Int64]>([:])
    private let commitGate = SerialGate()

    init(
        storage: OffsetStorage, client: ZooKeeperClient, group: String, admin: KafkaAdminClient, timeout: Duration,
        logger: Logger
    ) throws {
        self.storage = storage
        self.client = client
        self.logger = logger
        zooKeeper = try ZooKeeperOffsetStore(client: client, group: group, logger: logger)
        kafka = storage == .zookeeper ? nil : try KafkaOffsetStore(group: group, admin: admin, timeout: timeout)
    }

    /// The stored offsets of `partitions` (absent when none), from the configured stores; in `dual` the greater
    /// of the two, with each difference logged.
    func read(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
        let inZooKeeper = storage == .kafka ? [:] : try await zooKeeper.read(partitions).compactMapValues(\.offset)
        guard let kafka else { return inZooKeeper }
        let inKafka = try await kafka.read(partitions)
        kafkaKnown.withLock { $0.merge(inKafka) { _, new in new } }
        guard storage == .dual else { return inKafka }
        var offsets = inZooKeeper
        for (partition, offset) in inKafka {
            let zk = inZooKeeper[partition]
            if zk != offset {
                logger.info(
                    "dual offset storage: the stores differ; starting from the greater",
                    metadata: [
                        LogKey.partition: "\(partition)", LogKey.zookeeper: "\(zk.map(String.init) ?? "none")", LogKey.kafka: "\(offset)",
                    ])
            }
            offsets[partition] = max(zk ?? offset, offset)
        }
        for (partition, zk) in inZooKeeper where inKafka[partition] == nil {
            logger.info(
                "dual offset storage: Kafka has no offset; starting from ZooKeeper's",
                metadata: [LogKey.partition: "\(partition)", LogKey.zookeeper: "\(zk)"])
        }
        return offsets
    }

    /// Commits `offsets` to the configured stores, with `extraOperations` (the application's) and `ownership`
    /// (the deletes of a release or a leave) in the ZooKeeper transaction, fenced by `fencing`; see the type's
    /// description for the order and what a failure means.
    /// Commits run one at a time (`SerialGate`), whoever calls.
    @discardableResult
    func commit(
        _ offsets: [TopicPartition: Int64], extraOperations: [ZooKeeperOperation] = [],
        fencing: [TopicPartition: ZooKeeperOperation] = [:], ownership: [ZooKeeperOperation] = []
    ) async throws -> CommitSummary {
        try await commitGate.run {
            try await commitInGate(offsets, extraOperations: extraOperations, fencing: fencing, ownership: ownership)
        }
    }

    /// Runs `body` alone among the group's commits, in arrival order. A commit that decides what to write inside
    /// it (with `commitInGate`) never writes an older view over a newer one: a commit that waited in the gate while
    /// a later one overtook it would otherwise move offsets back.
    func serially<Result: Sendable>(_ body: () async throws -> Result) async throws -> Result {
        try await commitGate.run(body)
    }

    /// `commit`, for a caller already inside `serially`.
    func commitInGate(
        _ offsets: [TopicPartition: Int64], extraOperations: [ZooKeeperOperation] = [],
        fencing: [TopicPartition: ZooKeeperOperation] = [:], ownership: [ZooKeeperOperation] = []
    ) async throws -> CommitSummary {
        switch storage {
        case .zookeeper:
            return try await zooKeeper.commit(offsets, extraOperations: extraOperations + ownership, fencing: fencing)
        case .dual:
            // Kafka first would leave it ahead of ZooKeeper after a failed transaction; ZooKeeper first leaves it
            // behind, which the start's "greater of the two" absorbs.
            let summary = try await zooKeeper.commit(
                offsets, extraOperations: extraOperations + ownership, fencing: fencing)
            try await commitToKafka(offsets, alreadyInZooKeeper: true)
            return summary
        case .kafka:
            if !extraOperations.isEmpty {
                throw OffsetError(
                    .invalidInput,
                    "the application's ZooKeeper operations cannot commit atomically with offsets kept in Kafka; "
                        + "use offset storage zookeeper or dual for exactly-once results")
            }
            // Fencing stays in ZooKeeper: our owner znodes must still be there, checked in one transaction (with
            // the release's deletes, when this commit gives partitions up, after the offsets reached Kafka).
            let checks = offsets.keys.sorted().compactMap { fencing[$0] }
            if !checks.isEmpty {
                do {
                    try await client.multi(checks)
                } catch {
                    throw OffsetError(
                        .fenced, path: error.path,
                        "this member no longer owns the partition of \(error.path ?? "?"); nothing was committed")
                }
            }
            let written = try await commitToKafka(offsets, alreadyInZooKeeper: false)
            if !ownership.isEmpty { try await client.multi(ownership) }
            return CommitSummary(written: written, unchanged: offsets.count - written, transactions: 0)
        }
    }

    /// Sends the offsets Kafka does not hold yet; returns how many.
    @discardableResult
    private func commitToKafka(_ offsets: [TopicPartition: Int64], alreadyInZooKeeper: Bool) async throws -> Int {
        guard let kafka else { return 0 }
        let known = kafkaKnown.withLock { $0 }
        let changed = offsets.filter { known[$0.key] != $0.value }
        guard !changed.isEmpty else { return 0 }
        do {
            try await kafka.commit(changed)
        } catch {
            if alreadyInZooKeeper {
                logger.info(
                    "dual offset storage: committed to ZooKeeper but not to Kafka; the next commit sends them again",
                    metadata: [LogKey.error: "\(error)"])
            }
            throw error
        }
        kafkaKnown.withLock { $0.merge(changed) { _, new in new } }
        return changed.count
    }
}
