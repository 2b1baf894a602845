import ZKOffsets
import Foundation

/// `prune`: ZooKeeper offsets never expire (Kafka-stored ones do, after `offsets.retention.minutes`), so groups
/// nobody consumes with any more stay forever. The plan lists the groups with no registered member whose newest
/// offset write (the greatest offset znode mtime; the group znode's creation for a group without offsets) is older
/// than the cut-off, each with the removal of its whole subtree read at the same time; applying deletes them,
/// version-conditionally, one group at a time.
public struct PrunePlan: Sendable, Equatable {
    /// The plan table's columns.
    public static let columns = ["GROUP", "LAST-COMMIT", "AGE", "OFFSETS", "TOPICS"]

    /// A group to delete.
    public struct Candidate: Sendable, Equatable {
        /// The group id.
        public var group: String
        /// The newest offset write, ms since the epoch; nil when the group has no offsets.
        public var lastCommitMillis: Int64?
        /// What the age was measured from: `lastCommitMillis`, or the group znode's creation.
        public var lastActivityMillis: Int64
        /// The removal of the whole group.
        public var removal: GroupRemovalPlan

        /// A candidate.
        public init(group: String, lastCommitMillis: Int64?, lastActivityMillis: Int64, removal: GroupRemovalPlan) {
            self.group = group
            self.lastCommitMillis = lastCommitMillis
            self.lastActivityMillis = lastActivityMillis
            self.removal = removal
        }
    }

    /// The groups to delete, sorted by id.
    public var candidates: [Candidate]
    /// How many groups were looked at.
    public var scanned: Int
    /// Groups last active before this time (ms since the epoch) are candidates.
    public var cutoffMillis: Int64

    /// A plan from what was read; `read` is the way to make one.
    public init(candidates: [Candidate], scanned: Int, cutoffMillis: Int64) {
        self.candidates = candidates
        self.scanned = scanned
        self.cutoffMillis = cutoffMillis
    }

    /// Reads the groups (all, or `groups`) and plans deleting those with no registered member and no offset write
    /// within `olderThanMillis` before `nowMillis`. Named groups that do not exist are an input error.
    ///
    /// Times are the ZooKeeper servers' clocks (znode mtimes) against this machine's: a skew shifts the cut-off by
    /// as much.
    public static func read(
        inventory: GroupInventory, olderThanMillis: Int64, groups: [String]? = nil,
        nowMillis: Int64 = Int64(Date().timeIntervalSince1970 * 1000)
    ) async throws -> PrunePlan {
        for group in groups ?? [] { try OffsetLayout.validateGroup(group) }
        let scan = try await GroupOffsetScan.read(client: inventory.client, groups: groups)
        if let groups {
            let found = Set(scan.groups.map(\.group))
            for group in groups where !found.contains(group) {
                throw OffsetError.unknownGroup(try OffsetLayout(group: group))
            }
        }
        let cutoff = nowMillis - olderThanMillis
        var candidates: [Candidate] = []
        for group in scan.groups where group.members.isEmpty {
            let lastActivity = group.lastCommitMillis ?? group.stat.ctime
            guard lastActivity < cutoff else { continue }
            let removal: GroupRemovalPlan
            do {
                removal = try await GroupRemovalPlan.read(
                    inventory: inventory, group: group.group, scope: .wholeGroup, force: false)
            } catch is OperationRefusal {
                continue  // a member registered since the scan: the group is live
            } catch let error as OffsetError where error.code == .invalidInput {
                continue  // deleted since the scan
            }
            // A commit since the scan makes the group recent: judge it by what the removal read.
            let newest = removal.offsets.values.map(\.stat.mtime).max() ?? lastActivity
            guard newest < cutoff else { continue }
            candidates.append(
                Candidate(
                    group: group.group, lastCommitMillis: removal.offsets.isEmpty ? nil : newest,
                    lastActivityMillis: newest, removal: removal))
        }
        return PrunePlan(candidates: candidates, scanned: scan.groups.count, cutoffMillis: cutoff)
    }

    /// `GROUP LAST-COMMIT AGE OFFSETS TOPICS`; LAST-COMMIT in UTC, `never` for a group without offsets.
    public func table(nowMillis: Int64) -> TextTable {
        TextTable(
            header: Self.columns,
            rows: candidates.map { candidate in
                let topics = Set(candidate.removal.offsets.keys.map(\.topic)).sorted()
                return [
                    candidate.group, candidate.lastCommitMillis.map(Self.utc) ?? "never",
                    GroupDescription.age(millis: nowMillis - candidate.lastActivityMillis),
                    String(candidate.removal.offsets.count), topics.isEmpty ? "-" : topics.joined(separator: ","),
                ]
            })
    }

    /// One JSON object: `{"cutoffMillis":..,"scanned":..,"groups":[{"group","lastCommitMillis","offsets","topics"}]}`.
    public var json: String {
        JSONText.object([
            ("cutoffMillis", String(cutoffMillis)), ("scanned", String(scanned)),
            (
                "groups",
                JSONText.array(
                    candidates.map { candidate in
                        JSONText.object([
                            ("group", JSONText.string(candidate.group)),
                            ("lastCommitMillis", JSONText.number(candidate.lastCommitMillis)),
                            ("offsets", String(candidate.removal.offsets.count)),
                            (
                                "topics",
                                JSONText.array(
                                    Set(candidate.removal.offsets.keys.map(\.topic)).sorted().map(JSONText.string))
                            ),
                        ])
                    })
            ),
        ])
    }

    /// What `apply` did.
    public struct Outcome: Sendable, Equatable {
        /// Groups deleted.
        public var deleted: [String] = []
        /// Groups kept because they changed since the plan was read, with the reason.
        public var kept: [(group: String, reason: String)] = []

        /// Equal when the same groups were deleted and kept for the same reasons.
        public static func == (lhs: Outcome, rhs: Outcome) -> Bool {
            lhs.deleted == rhs.deleted && lhs.kept.map(\.group) == rhs.kept.map(\.group)
                && lhs.kept.map(\.reason) == rhs.kept.map(\.reason)
        }
    }

    /// Deletes the candidates one group at a time. A group that changed since the plan (a commit, a member) is kept
    /// and reported; the others are still deleted.
    public func apply(client: ZooKeeperClient, maxTransactionBytes: Int = TransactionBudget.defaultMaxBytes)
        async throws -> Outcome
    {
        var outcome = Outcome()
        for candidate in candidates {
            do {
                try await candidate.removal.apply(client: client, maxTransactionBytes: maxTransactionBytes)
                outcome.deleted.append(candidate.group)
            } catch let refusal as OperationRefusal {
                outcome.kept.append((candidate.group, refusal.message))
            }
        }
        return outcome
    }

    private static func utc(_ millis: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }
}
