/// Where a consumer group's committed offsets are kept, as Kafka 0.8.2's high-level consumer configured it with
/// `offsets.storage` and `dual.commit.enabled`.
///
/// - `zookeeper` (the default, Kafka 0.8's only storage; `offsets.storage=zookeeper`): offsets are the znodes
///   `/consumers/<group>/offsets/<topic>/<partition>`.
/// - `kafka` (`offsets.storage=kafka`, `dual.commit.enabled=false`): offsets are the brokers' group offsets for
///   the same group id (OffsetCommit/OffsetFetch, `__consumer_offsets`), committed without joining a
///   broker-side group. Membership, ownership and fencing stay in ZooKeeper, as in 0.8.2.
/// - `dual` (`offsets.storage=kafka`, `dual.commit.enabled=true`): every commit goes to both stores, and a
///   failure of either fails the commit. A partition starts from the greater of the two stored offsets, as
///   Kafka 0.8.2's consumer did while a group moved between storages (the store that lags is the one a member
///   not yet switched over stopped updating); each partition whose two offsets differ is logged.
///
/// Kafka 0.8.2's documented rolling move is zookeeper -> dual -> kafka, one member restart at a time, and back
/// the same way. The operator command `zkoffsets migrate --from/--to` copies offsets between the two stores
/// offline; there `dual` is not a place and is refused.
public enum OffsetStorage: String, Sendable, CaseIterable, Codable {
    /// `/consumers/<group>/offsets/...` in ZooKeeper (Kafka 0.8's layout).
    case zookeeper
    /// Commits go to ZooKeeper and to the brokers; a partition starts from the greater of the two.
    case dual
    /// The brokers' group offsets (`__consumer_offsets`), through OffsetCommit/OffsetFetch.
    case kafka
}
