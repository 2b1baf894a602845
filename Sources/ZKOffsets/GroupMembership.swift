import Foundation
import Logging

/// A consumer's membership in its group, written as Kafka 0.8's consumer wrote it, so that zkoffsets, Burrow,
/// CMAK and the old offset checker see who consumes, and so that two consumers never take the same partitions:
///
/// - `/consumers/<group>/ids/<consumerId>`: ephemeral, JSON
///   `{"version":1,"subscription":{"<topic>":1},"pattern":"static","timestamp":"<epoch ms>"}`;
/// - `/consumers/<group>/owners/<topic>/<partition>`: ephemeral, data `<consumerId>-0`.
///
/// Every commit checks the owner znodes of its partitions in the same transaction (fencing): a consumer whose
/// session died, or whose partitions were taken away, cannot move their offsets.
public struct GroupMembership: Sendable {
    public let layout: OffsetLayout
    /// `<group>_<host>-<epoch ms>-<8 hex digits>`, the form of Kafka 0.8's consumer ids.
    public let consumerID: String
    private let logger: Logger

    public init(layout: OffsetLayout, consumerID: String? = nil, logger: Logger) {
        self.layout = layout
        self.consumerID = consumerID ?? Self.makeConsumerID(group: layout.group)
        self.logger = logger
    }

    public static func makeConsumerID(group: String) -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
        let millis = Int64(Date().timeIntervalSince1970 * 1000)
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "\(group)_\(host)-\(millis)-\(String(repeating: "0", count: 8 - random.count) + random)"
    }

    /// The data of the ids znode.
    public static func registration(topics: [String], timestampMillis: Int64) -> [UInt8] {
        let subscription = topics.sorted().map { "\"\($0)\":1" }.joined(separator: ",")
        let json = "{\"version\":1,\"subscription\":{\(subscription)},\"pattern\":\"static\","
            + "\"timestamp\":\"\(timestampMillis)\"}"
        return Array(json.utf8)
    }

    /// The operation that fences `partition`'s offset: our owner znode must exist. (It is ephemeral: while our
    /// session lives nobody else can create it, and when our session dies so does our right to commit.)
    public func fencing(_ partition: TopicPartition) -> ZooKeeperOperation {
        .check(layout.ownerPath(partition))
    }

    /// Registers this consumer and claims `partitions`. Owner znodes of a consumer that crashed stay until its
    /// session expires: a claim waits for them up to `patience` (the session timeout is a good choice), then
    /// fails with `partitionOwned` naming the partitions and their owner. Owner znodes of our own session are
    /// ours; anyone else's are never touched.
    public func join(
        _ client: ZooKeeperClient, topics: [String], partitions: [TopicPartition], patience: Duration
    ) async throws {
        try await client.ensurePath(layout.idsPath)
        let idPath = layout.idPath(consumerID: consumerID)
        do {
            try await client.create(
                idPath,
                data: Self.registration(topics: topics, timestampMillis: Int64(Date().timeIntervalSince1970 * 1000)),
                mode: .ephemeral
            )
        } catch {
            guard error.code == .nodeExists else { throw error }
            guard try await client.exists(idPath)?.ephemeralOwner == client.sessionID else {
                throw OffsetError(
                    .partitionOwned, path: idPath, "consumer id \(consumerID) is registered by another session"
                )
            }
        }
        try await claim(client, partitions: partitions, patience: patience)
        logger.info("joined group", metadata: ["consumer": "\(consumerID)", "partitions": "\(partitions.count)"])
    }

    /// Claims the owner znodes of `partitions` (all in one transaction per attempt).
    public func claim(_ client: ZooKeeperClient, partitions: [TopicPartition], patience: Duration) async throws {
        for topic in Set(partitions.map(\.topic)).sorted() {
            try await client.ensurePath(layout.ownersPath(topic: topic))
        }
        let deadline = ContinuousClock.now + patience
        var waiting = false
        while true {
            let nodes = await client.getData(partitions.map { layout.ownerPath($0) })
            var missing: [TopicPartition] = []
            var taken: [String] = []
            for (partition, result) in zip(partitions, nodes) {
                switch result {
                case .success(let node) where node.stat.ephemeralOwner == client.sessionID:
                    continue
                case .success(let node):
                    taken.append("\(partition) (owned by \(String(decoding: node.bytes, as: UTF8.self)))")
                case .failure(let error) where error.code == .noNode:
                    missing.append(partition)
                case .failure(let error):
                    throw error
                }
            }
            if taken.isEmpty && missing.isEmpty { return }
            if taken.isEmpty {
                let owner = Array("\(consumerID)-0".utf8)
                do {
                    try await client.multi(missing.map { .create(layout.ownerPath($0), data: owner, mode: .ephemeral) })
                    return
                } catch {
                    guard error.code == .nodeExists else { throw error }
                    continue  // someone was quicker for one of them: look again
                }
            }
            if ContinuousClock.now >= deadline {
                throw OffsetError(
                    .partitionOwned,
                    "partitions of group \(layout.group) are owned by another live consumer: "
                        + taken.joined(separator: ", ") + "; stop it, or wait until its session expires"
                )
            }
            if !waiting {
                logger.warning(
                    "partitions owned by another consumer; waiting for them (a crashed consumer's session expires)",
                    metadata: ["partitions": "\(taken.count)", "patience": "\(patience)"]
                )
                waiting = true
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }
}
