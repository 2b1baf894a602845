import BlockingCalls
import Foundation
import Logging
import Synchronization

/// A consumer that reads partitions from explicit offsets (manual assignment, no broker group coordination,
/// no auto commit, no auto reset).
///
/// Polling runs on one dedicated thread per consumer, never on Swift's cooperative pool; each `nextBatch`
/// crosses threads once for a whole batch, whose keys and values share one buffer (`MessageBytes`). A second
/// thread wakes librdkafka's fetchers when the application has drained their queue (`FetchPacer`), so the small
/// read-ahead of `defaultProperties` is refilled at once instead of on librdkafka's one-second tick. Offsets are
/// the application's business: this type never stores or commits any. Call `close()` when done.
public final class KafkaPartitionConsumer: Sendable {
    /// Properties set on every consumer; the user's `properties` cannot override them (a differing value is
    /// ignored and logged at info): no commits or offset stores behind the application's back, and an
    /// out-of-range position surfaces as `.offsetOutOfRange` naming the partition, never as a silent reset.
    public static let enforcedProperties: [String: String] = [
        "enable.auto.commit": "false",
        "enable.auto.offset.store": "false",
        "auto.offset.reset": "error",
    ]

    /// Defaults the user's `properties` may override: a small read-ahead, refilled as soon as it runs low.
    ///
    /// librdkafka stops fetching while its queue holds `queued.min.messages` messages or
    /// `queued.max.messages.kbytes`, and in 2.0.2 looks again only on a one-second tick; this consumer wakes it
    /// when the application drained the queue (`FetchPacer`), so a small queue costs no rate and bounds memory:
    /// - 5,000 messages or 4 MiB queued (each queued message also costs librdkafka ~250 bytes of bookkeeping);
    /// - a fetch response of at most 1 MiB (256 KiB per partition), so that one response cannot overshoot the
    ///   queue many times over (librdkafka's default is 50 MiB, a whole topic's worth in one answer);
    /// - brokers answer a fetch with nothing new after 100 ms instead of 500: a partition added while such a
    ///   fetch waits (a rebalance handing it over) is fetched sooner.
    /// Measured with 100-byte messages over 48 partitions on the mock cluster (BENCHMARKS.md, row 3).
    public static let defaultProperties: [String: String] = [
        "queued.min.messages": "5000",
        "queued.max.messages.kbytes": "4096",
        "fetch.max.bytes": "1048576",
        "max.partition.fetch.bytes": "262144",
        "fetch.wait.max.ms": "100",
    ]

    // Torn down on the worker (close() or deinit), after any poll still running there; `RDKafkaConsumer.close`
    // keeps the teardown order.
    private let consumer: RDKafkaConsumer
    private let worker: BlockingWorker
    private let logger: Logger
    // Errors read in a batch that also carried messages: thrown by the following calls, one each.
    private let pendingErrors = Mutex<[KafkaError]>([])

    /// Creates a consumer with no assignment; throws `.invalidConfiguration` naming a rejected property.
    ///
    /// librdkafka needs a `group.id` even for manual assignment; unless the properties give one, a private
    /// random id is used (it joins no group and commits nothing).
    public init(configuration: KafkaConfiguration, logger: Logger) throws {
        self.logger = logger
        var defaults = Self.defaultProperties
        defaults["group.id"] = "rdkafka-swift-manual-\(UUID().uuidString.lowercased())"
        consumer = try RDKafkaConsumer(
            configuration: configuration, defaults: defaults, enforced: Self.enforcedProperties, logger: logger)
        worker = BlockingWorker(name: "rdkafka-consumer")
    }

    deinit {
        guard !consumer.isClosed else { return }
        // close() was not called: tear down on the worker, after any poll still running there.
        let consumer = self.consumer
        let worker = self.worker
        Task.detached {
            _ = try? await worker.run { consumer.close() }
            worker.stop()
        }
    }

    /// Replaces the whole assignment: exactly these partitions, each read from its given offset (>= 0).
    ///
    /// Throws `.invalidArgument` for a negative offset (resolve log start or end with
    /// `KafkaAdminClient.watermarks` first).
    public func assign(_ starts: [TopicPartition: Int64]) throws {
        try checkOpen()
        try Self.requireExplicit(starts)
        try consumer.assign(starts)
        logger.info("assigned partitions", metadata: [LogKey.partitions: "\(starts.count)"])
    }

    /// Adds partitions to the current assignment, each read from its given offset (>= 0); partitions already
    /// assigned keep their positions. Adding an already assigned partition throws.
    public func addPartitions(_ starts: [TopicPartition: Int64]) throws {
        try checkOpen()
        guard !starts.isEmpty else { return }
        try Self.requireExplicit(starts)
        try consumer.incrementalAssign(starts)
        logger.info("added partitions", metadata: [LogKey.partitions: "\(starts.count)"])
    }

    /// Removes partitions from the assignment: they are no longer fetched, and their messages already fetched
    /// but not yet returned are dropped. Partitions not assigned are ignored.
    public func removePartitions(_ partitions: [TopicPartition]) throws {
        try checkOpen()
        guard !partitions.isEmpty else { return }
        try consumer.incrementalUnassign(partitions)
        logger.info("removed partitions", metadata: [LogKey.partitions: "\(partitions.count)"])
    }

    /// Stops fetching these assigned partitions; their positions are kept, and messages of them already fetched
    /// are not returned. Throws `.invalidArgument` naming a partition that is not assigned.
    public func pause(_ partitions: [TopicPartition]) throws {
        try checkOpen()
        try requireAssigned(partitions, action: "pause")
        try consumer.pause(partitions)
    }

    /// Resumes fetching paused partitions from where they stopped. Throws `.invalidArgument` naming a partition
    /// that is not assigned.
    public func resume(_ partitions: [TopicPartition]) throws {
        try checkOpen()
        try requireAssigned(partitions, action: "resume")
        try consumer.resume(partitions)
    }

    /// The next messages, in offset order within each partition: returns as soon as at least one is available
    /// (up to `maxMessages`, not waiting for the batch to fill), or an empty array when `timeout` passes.
    ///
    /// Throws partition errors with the partition set, `.offsetOutOfRange` above all. When a batch holds both
    /// messages and errors, the messages come first and the errors are thrown by the following calls.
    /// Connection problems are retried by librdkafka and only logged. Throws `.closed` after `close()`.
    public func nextBatch(
        maxMessages: Int = 5_000, timeout: Duration = .milliseconds(100)
    ) async throws -> [KafkaMessage] {
        if let error = pendingErrors.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
            throw error
        }
        let consumer = self.consumer
        let logger = self.logger
        let limit = max(1, maxMessages)
        let timeoutMs = timeout.timeoutMilliseconds
        let batch = try await worker.run {
            try consumer.poll(maxMessages: limit, timeoutMs: timeoutMs, logger: logger)
        }
        if let first = batch.errors.first {
            if batch.messages.isEmpty {
                pendingErrors.withLock { $0 += batch.errors.dropFirst() }
                throw first
            }
            pendingErrors.withLock { $0 += batch.errors }
        }
        return batch.messages
    }

    /// Makes a `nextBatch` that is waiting for messages return now (an empty or partial batch), so that its caller
    /// can react to something else (a rebalance, a stop) without waiting out the poll timeout. Safe from any
    /// thread, at any time; does nothing after `close()`.
    public func wakeUp() {
        consumer.wakeUp()
    }

    /// Leaves the assignment and releases the consumer, waiting for librdkafka to finish, for at most 10 seconds
    /// (librdkafka 2.0.2 can hang in its destroy; see `BoundedClose`); idempotent. A `nextBatch` still running
    /// completes first; later calls throw `.closed`.
    public func close() async {
        let consumer = self.consumer
        let worker = self.worker
        _ = await BoundedClose.run("consumer", logger: logger) {
            _ = try? await worker.run { consumer.close() }
        }
        worker.stop()
    }

    // MARK: - Helpers

    private func checkOpen() throws {
        guard !consumer.isClosed else { throw KafkaError(code: .closed, message: "the consumer is closed") }
    }

    /// librdkafka silently ignores pausing a partition it knows but does not fetch; that hides bugs.
    private func requireAssigned(_ partitions: [TopicPartition], action: String) throws {
        let assigned = try consumer.assignment()
        if let missing = partitions.first(where: { !assigned.contains($0) }) {
            throw KafkaError(
                code: .invalidArgument, message: "cannot \(action) \(missing): it is not assigned",
                topic: missing.topic, partition: missing.partition)
        }
    }

    private static func requireExplicit(_ starts: [TopicPartition: Int64]) throws {
        if let negative = starts.first(where: { $0.value < 0 }) {
            // Negative values are librdkafka's logical offsets; -1001 would silently read broker-committed offsets.
            throw KafkaError(
                code: .invalidArgument,
                message: "start offset \(negative.value) for \(negative.key) is negative; offsets must be explicit",
                topic: negative.key.topic, partition: negative.key.partition)
        }
    }
}
