import CoreMetrics

/// The metrics a consumer group's member reports through swift-metrics, named once here.
///
/// The library never bootstraps a metrics backend: without one (`MetricsSystem.bootstrap` in the executable) every
/// metric is a no-op. Names follow Prometheus' conventions (`_total` for counters, `_seconds` for durations) since
/// that is where they usually end up; every metric carries the dimension `group`, per-partition ones also `topic`
/// and `partition`.
///
/// | name | kind | recorded when |
/// | --- | --- | --- |
/// | `zkoffsets_commits_total` | counter | a commit wrote to ZooKeeper |
/// | `zkoffsets_commit_duration_seconds` | timer | the same commit, from the first read to the last transaction |
/// | `zkoffsets_offsets_written_total` | counter | per offset znode a commit wrote |
/// | `zkoffsets_commits_fenced_total` | counter | a commit failed because the member no longer owns a partition |
/// | `zkoffsets_commits_conflicting_total` | counter | a commit failed because another writer moved an offset |
/// | `zkoffsets_rebalances_total` | counter | the member's partitions were assigned anew |
/// | `zkoffsets_offset_resets_total` | counter | a stored offset outside the log was reset by the policy |
/// | `zkoffsets_offset_reset_skipped_messages_total` | counter | messages such a reset skipped |
/// | `zkoffsets_consumer_lag` | gauge | the lag of a partition as the consumer last saw it |
public struct ConsumerMetrics: Sendable {
    /// The metric names, for dashboards and tests.
    public enum Name {
        /// Commits that wrote to ZooKeeper (counter).
        public static let commits = "zkoffsets_commits_total"
        /// How long those commits took (timer).
        public static let commitDuration = "zkoffsets_commit_duration_seconds"
        /// Offset znodes written by commits (counter).
        public static let offsetsWritten = "zkoffsets_offsets_written_total"
        /// Commits refused because the member lost a partition (counter).
        public static let fencedCommits = "zkoffsets_commits_fenced_total"
        /// Commits refused because another writer moved an offset (counter).
        public static let conflictingCommits = "zkoffsets_commits_conflicting_total"
        /// Assignments made anew (counter).
        public static let rebalances = "zkoffsets_rebalances_total"
        /// Stored offsets outside the log reset by the policy (counter, per partition).
        public static let resets = "zkoffsets_offset_resets_total"
        /// Messages skipped by those resets (counter, per partition).
        public static let resetSkippedMessages = "zkoffsets_offset_reset_skipped_messages_total"
        /// Lag of a partition as the consumer last saw it (gauge, per partition).
        public static let lag = "zkoffsets_consumer_lag"
    }

    /// The group the metrics are about.
    public let group: String
    private let factory: any MetricsFactory
    private let commits: Counter
    private let commitDuration: Timer
    private let offsetsWritten: Counter
    private let fencedCommits: Counter
    private let conflictingCommits: Counter
    private let rebalances: Counter

    /// Metrics of `group` created through `factory`; the default is the factory the executable bootstrapped (a
    /// no-op one when it bootstrapped none). Tests pass their own factory.
    public init(group: String, factory: (any MetricsFactory)? = nil) {
        let factory = factory ?? MetricsSystem.factory
        let dimensions = [("group", group)]
        self.group = group
        self.factory = factory
        commits = Self.counter(Name.commits, dimensions, factory)
        offsetsWritten = Self.counter(Name.offsetsWritten, dimensions, factory)
        fencedCommits = Self.counter(Name.fencedCommits, dimensions, factory)
        conflictingCommits = Self.counter(Name.conflictingCommits, dimensions, factory)
        rebalances = Self.counter(Name.rebalances, dimensions, factory)
        commitDuration = Timer(
            label: Name.commitDuration, dimensions: dimensions,
            handler: factory.makeTimer(label: Name.commitDuration, dimensions: dimensions))
    }

    // Built from the factory's handler (the initialiser every swift-metrics 2.x has), not `factory:` (newer).
    private static func counter(_ label: String, _ dimensions: [(String, String)], _ factory: any MetricsFactory)
        -> Counter
    {
        Counter(
            label: label, dimensions: dimensions, handler: factory.makeCounter(label: label, dimensions: dimensions))
    }

    private func partitionDimensions(_ partition: TopicPartition) -> [(String, String)] {
        [("group", group), ("topic", partition.topic), ("partition", String(partition.partition))]
    }

    // MARK: Commits (recorded by ZooKeeperOffsetStore)

    /// A commit that wrote `offsets` offset znodes, in `duration`.
    public func recordCommit(offsets: Int, duration: Duration) {
        commits.increment()
        offsetsWritten.increment(by: offsets)
        let (seconds, attoseconds) = duration.components
        commitDuration.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// A commit refused because the member no longer owns one of its partitions (`OffsetError.Code.fenced`).
    public func recordFencedCommit() { fencedCommits.increment() }

    /// A commit refused because another writer changed an offset znode (`OffsetError.Code.concurrentModification`).
    public func recordConflictingCommit() { conflictingCommits.increment() }

    // MARK: Membership and start positions (recorded by the consumer)

    /// The member's partitions were assigned anew (a rebalance, or the first assignment after a new session).
    public func recordRebalance() { rebalances.increment() }

    /// A stored offset outside the log was reset by the reset policy, skipping `skippedMessages` messages.
    public func recordReset(_ partition: TopicPartition, skippedMessages: Int64) {
        let dimensions = partitionDimensions(partition)
        Self.counter(Name.resets, dimensions, factory).increment()
        Self.counter(Name.resetSkippedMessages, dimensions, factory).increment(by: max(0, skippedMessages))
    }

    /// The partition's lag (log end minus the next offset to consume) as the consumer last saw it.
    public func recordLag(_ partition: TopicPartition, lag: Int64) {
        let dimensions = partitionDimensions(partition)
        // A recorder that does not aggregate is a gauge (the last value counts).
        Recorder(
            label: Name.lag, dimensions: dimensions, aggregate: false,
            handler: factory.makeRecorder(label: Name.lag, dimensions: dimensions, aggregate: false)
        ).record(lag)
    }
}
