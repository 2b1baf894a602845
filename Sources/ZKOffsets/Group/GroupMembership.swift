import BlockingCalls
import Foundation
import Logging

/// A consumer's membership in its group, written as Kafka 0.8's consumer wrote it, so that zkoffsets, Burrow,
/// CMAK, the old offset checker and Java members of the same group see who consumes what:
///
/// - `/consumers/<group>/ids/<consumerId>`: ephemeral, the registration JSON (`GroupMember.registration`);
/// - `/consumers/<group>/owners/<topic>/<partition>`: ephemeral, data `<consumerId>-0`.
///
/// Every commit checks the owner znodes of its partitions in the same transaction (fencing): a consumer whose
/// session died, or whose partitions were handed over, cannot move their offsets. An existing znode is ours only
/// if its `ephemeralOwner` is our session; anyone else's is never touched.
public struct GroupMembership: Sendable {
    /// The group's paths.
    public let layout: OffsetLayout
    /// `<group>_<host>-<epoch ms>-<8 hex digits>`, the form of Kafka 0.8's consumer ids.
    public let consumerID: String
    private let logger: Logger

    /// A membership of `layout`'s group as `consumerID`, or as a new Kafka 0.8-style id (`makeConsumerID`). Writes
    /// nothing: the member appears in `ids` only when it calls `register`.
    public init(layout: OffsetLayout, consumerID: String? = nil, logger: Logger) {
        self.layout = layout
        self.consumerID = consumerID ?? Self.makeConsumerID(group: layout.group)
        self.logger = logger
    }

    /// A new consumer id for `group`, unique across hosts and restarts.
    public static func makeConsumerID(group: String) -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
        let millis = Int64(Date().timeIntervalSince1970 * 1000)
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "\(group)_\(host)-\(millis)-\(String(repeating: "0", count: 8 - random.count) + random)"
    }

    /// This member's thread id, the data of its owner znodes.
    public var threadID: String { "\(consumerID)-0" }

    /// The operation that fences `partition`'s offset: our owner znode must exist. (It is ephemeral and created by
    /// the session the commit goes out on: while that session lives nobody else can create it.)
    public func fencing(_ partition: TopicPartition) -> ZooKeeperOperation {
        .check(layout.ownerPath(partition))
    }

    // MARK: Registering

    /// Registers this member under `ids` with `client`'s session. An `ids` znode of the same id left by our own
    /// expired session (the server removes it a little after telling us: KAFKA-1387) is waited for, watched, up
    /// to `patience`; only then is the id said to be taken.
    public func register(_ client: ZooKeeperClient, topics: [String], patience: Duration) async throws {
        try await client.ensurePath(layout.idsPath)
        try await client.ensurePath(layout.ownersPath)
        let path = layout.idPath(consumerID: consumerID)
        let registration = GroupMember.registration(
            topics: topics, timestampMillis: Int64(Date().timeIntervalSince1970 * 1000))
        let deadline = ContinuousClock.now + patience
        while true {
            do {
                try await client.create(path, data: registration, mode: .ephemeral)
                logger.info("registered in group", metadata: [LogKey.consumer: "\(consumerID)"])
                return
            } catch {
                guard error.code == .nodeExists else { throw error }
            }
            guard let stat = try await client.exists(path) else { continue }
            if stat.ephemeralOwner == client.sessionID { return }
            logger.info(
                "our id is still registered by an earlier session; waiting for it to go",
                metadata: [LogKey.session: "0x\(String(stat.ephemeralOwner, radix: 16))"])
            guard try await waitUntilDeleted(path, client: client, deadline: deadline) else {
                throw OffsetError(
                    .partitionOwned, path: path,
                    "consumer id \(consumerID) is still registered by session 0x"
                        + String(stat.ephemeralOwner, radix: 16) + " after \(patience)")
            }
        }
    }

    /// The members registered now (pipelined reads). Registrations that are not Kafka 0.8's JSON are skipped
    /// with a warning naming them (their partitions stay unassigned rather than guessed).
    public func members(_ client: ZooKeeperClient) async throws -> [GroupMember] {
        let ids: [String]
        do {
            ids = try await client.children(layout.idsPath).names.sorted()
        } catch {
            if error.code == .noNode { return [] }
            throw error
        }
        var members: [GroupMember] = []
        for (id, result) in zip(ids, await client.getData(ids.map { layout.idPath(consumerID: $0) })) {
            switch result {
            case .success(let node):
                do {
                    members.append(try GroupMember(consumerID: id, registration: node.bytes))
                } catch {
                    logger.info("\(error.message)")
                }
            case .failure(let error) where error.code == .noNode:
                continue  // left meanwhile; the children watch brings the next rebalance
            case .failure(let error):
                throw error
            }
        }
        return members
    }

    // MARK: Owning partitions

    /// What a claim found.
    public struct Claim: Sendable {
        /// Partitions whose owner znode is now ours (created, or already of our session).
        public var claimed: [TopicPartition] = []
        /// Partitions still owned by another session, with the owner's thread id.
        public var taken: [TopicPartition: String] = [:]
    }

    /// Creates the owner znodes of `partitions` that are free (one transaction); those of our session count as
    /// claimed, those of another session as taken (never waited for here: watch them and claim again).
    public func claim(_ client: ZooKeeperClient, partitions: [TopicPartition]) async throws -> Claim {
        var result = Claim()
        guard !partitions.isEmpty else { return result }
        for topic in Set(partitions.map(\.topic)).sorted() {
            try await client.ensurePath(layout.ownersPath(topic: topic))
        }
        var remaining = partitions
        for _ in 0..<3 where !remaining.isEmpty {
            var free: [TopicPartition] = []
            for (partition, node) in zip(remaining, await client.getData(remaining.map { layout.ownerPath($0) })) {
                switch node {
                case .success(let node) where node.stat.ephemeralOwner == client.sessionID:
                    result.claimed.append(partition)
                case .success(let node):
                    result.taken[partition] = String(decoding: node.bytes, as: UTF8.self)
                case .failure(let error) where error.code == .noNode:
                    free.append(partition)
                case .failure(let error):
                    throw error
                }
            }
            remaining = []
            guard !free.isEmpty else { break }
            let owner = Array(threadID.utf8)
            do {
                try await client.multi(free.map { .create(layout.ownerPath($0), data: owner, mode: .ephemeral) })
                result.claimed += free
            } catch {
                guard error.code == .nodeExists else { throw error }
                remaining = free  // another member was quicker for one of them: look again
            }
        }
        for partition in remaining { result.taken[partition] = "?" }
        return result
    }

    /// Deletes the owner znodes of `partitions`: the operations a release or a leave adds to its last commit.
    public func releaseOperations(_ partitions: some Sequence<TopicPartition>) -> [ZooKeeperOperation] {
        partitions.sorted().map { .delete(layout.ownerPath($0)) }
    }

    /// The operation that removes our registration (the last one of a graceful leave).
    public var leaveOperation: ZooKeeperOperation { .delete(layout.idPath(consumerID: consumerID)) }

    /// Waits until `path` is deleted (true) or `deadline` passes (false), watching it.
    func waitUntilDeleted(_ path: String, client: ZooKeeperClient, deadline: ContinuousClock.Instant) async throws -> Bool {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                for try await data in client.watchData(path) where data == nil { return true }
                return false
            }
            group.addTask {
                try await Task.sleep(until: deadline)
                return false
            }
            let deleted = try await group.next() ?? false
            group.cancelAll()
            return deleted
        }
    }
}
