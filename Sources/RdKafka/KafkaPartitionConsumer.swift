import BlockingCalls
import CRdKafka
import Foundation
import Logging
import Synchronization

/// A consumer that reads partitions from explicit offsets (manual assignment, no broker group coordination,
/// no auto commit, no auto reset).
///
/// Polling runs on one dedicated thread per consumer, never on Swift's cooperative pool; each `nextBatch`
/// crosses threads once for a whole batch. Offsets are the application's business: this type never stores
/// or commits any. Call `close()` when done.
public final class KafkaPartitionConsumer: Sendable {
    /// Properties set on every consumer; the user's `properties` cannot override them (a differing value is
    /// ignored and logged at info): no commits or offset stores behind the application's back, and an
    /// out-of-range position surfaces as `.offsetOutOfRange` naming the partition, never as a silent reset.
    public static let enforcedProperties: [String: String] = [
        "enable.auto.commit": "false",
        "enable.auto.offset.store": "false",
        "auto.offset.reset": "error",
    ]

    /// Defaults the user's `properties` may override.
    ///
    /// librdkafka 2.0.2 stops fetching once its local queue holds `queued.min.messages` messages (100,000 by
    /// default) or `queued.max.messages.kbytes`, and looks again only on a one-second timer: a fast consumer
    /// then idles most of each second. Here the message count is raised out of the way and the queue is bounded
    /// by bytes instead: 16 MiB kept a 48-partition consumer of 100-byte messages on the mock cluster at about
    /// 1-2 M msgs/s with a peak RSS around 65-110 MB (noisy preliminary runs; see Benchmarks/ for real figures).
    public static let defaultProperties: [String: String] = [
        "queued.min.messages": "1000000",
        "queued.max.messages.kbytes": "16384",
    ]

    // Teardown order (close() or deinit, on the worker): consumer_close, release `queue`, destroy the handle;
    // `client` holds the callback context until after that.
    private let client: RDKafkaClient
    private let queue: ConsumerQueue
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
        let client = try RDKafkaClient.make(
            kind: .consumer, configuration: configuration, defaults: defaults, enforced: Self.enforcedProperties,
            logger: logger)
        // Fetched messages, errors and events all arrive on the one consumer queue we poll.
        rd_kafka_poll_set_consumer(client.handle)
        guard let queue = rd_kafka_queue_get_consumer(client.handle) else {
            client.destroy()
            throw KafkaError(code: .invalidConfiguration, message: "librdkafka returned no consumer queue")
        }
        self.client = client
        self.queue = ConsumerQueue(pointer: queue)
        worker = BlockingWorker(name: "rdkafka-consumer")
    }

    deinit {
        guard !client.isDestroyed else { return }
        // close() was not called: tear down on the worker, after any poll still running there.
        let client = self.client
        let queue = self.queue
        let worker = self.worker
        Task.detached {
            _ = try? await worker.run { Self.tearDown(client: client, queue: queue) }
            worker.stop()
        }
    }

    /// Replaces the whole assignment: exactly these partitions, each read from its given offset (>= 0).
    ///
    /// Throws `.invalidArgument` for a negative offset (resolve log start or end with
    /// `KafkaAdminClient.watermarks` first).
    public func assign(_ starts: [TopicPartition: Int64]) throws {
        try checkOpen()
        let list = try Self.startList(starts)
        let error = rd_kafka_assign(client.handle, list.pointer)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(rdKafka: error, context: "assigning \(starts.count) partition(s)")
        }
        logger.info("assigned partitions", metadata: ["partitions": "\(starts.count)"])
    }

    /// Adds partitions to the current assignment, each read from its given offset (>= 0); partitions already
    /// assigned keep their positions. Adding an already assigned partition throws.
    public func addPartitions(_ starts: [TopicPartition: Int64]) throws {
        try checkOpen()
        guard !starts.isEmpty else { return }
        let list = try Self.startList(starts)
        if let error = rd_kafka_incremental_assign(client.handle, list.pointer) {
            defer { rd_kafka_error_destroy(error) }
            throw KafkaError(rdKafkaError: error, context: "adding \(starts.count) partition(s)")
        }
        logger.info("added partitions", metadata: ["partitions": "\(starts.count)"])
    }

    /// Removes partitions from the assignment: they are no longer fetched, and their messages already fetched
    /// but not yet returned are dropped. Partitions not assigned are ignored.
    public func removePartitions(_ partitions: [TopicPartition]) throws {
        try checkOpen()
        guard !partitions.isEmpty else { return }
        let list = RDKafkaTopicPartitionList(partitions)
        if let error = rd_kafka_incremental_unassign(client.handle, list.pointer) {
            defer { rd_kafka_error_destroy(error) }
            throw KafkaError(rdKafkaError: error, context: "removing \(partitions.count) partition(s)")
        }
        logger.info("removed partitions", metadata: ["partitions": "\(partitions.count)"])
    }

    /// Stops fetching these assigned partitions; their positions are kept, and messages of them already fetched
    /// are not returned. Throws `.invalidArgument` naming a partition that is not assigned.
    public func pause(_ partitions: [TopicPartition]) throws {
        try checkOpen()
        try requireAssigned(partitions, action: "pause")
        let list = RDKafkaTopicPartitionList(partitions)
        try Self.check(rd_kafka_pause_partitions(client.handle, list.pointer), list: list, action: "pausing")
    }

    /// Resumes fetching paused partitions from where they stopped. Throws `.invalidArgument` naming a partition
    /// that is not assigned.
    public func resume(_ partitions: [TopicPartition]) throws {
        try checkOpen()
        try requireAssigned(partitions, action: "resume")
        let list = RDKafkaTopicPartitionList(partitions)
        try Self.check(rd_kafka_resume_partitions(client.handle, list.pointer), list: list, action: "resuming")
    }

    /// The next messages, in offset order within each partition: returns as soon as at least one is available
    /// (up to `maxMessages`, not waiting for the batch to fill), or an empty array when `timeout` passes.
    ///
    /// Throws partition errors with the partition set, `.offsetOutOfRange` above all. When a batch holds both
    /// messages and errors, the messages come first and the errors are thrown by the following calls.
    /// Connection problems are retried by librdkafka and only logged. Throws `.closed` after `close()`.
    public func nextBatch(
        maxMessages: Int = 10_000, timeout: Duration = .milliseconds(100)
    ) async throws -> [KafkaMessage] {
        if let error = pendingErrors.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
            throw error
        }
        let client = self.client
        let queue = self.queue
        let logger = self.logger
        let limit = max(1, maxMessages)
        let timeoutMs = timeout.timeoutMilliseconds
        let batch = try await worker.run {
            guard !client.isDestroyed else { throw KafkaError(code: .closed, message: "the consumer is closed") }
            return RDKafkaConsumerPoll.batch(
                handle: client.handle, queue: queue.pointer, maxMessages: limit, timeoutMs: timeoutMs,
                logger: logger)
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

    /// Leaves the assignment and releases the consumer, waiting for librdkafka to finish; idempotent.
    /// A `nextBatch` still running completes first; later calls throw `.closed`.
    public func close() async {
        let client = self.client
        let queue = self.queue
        _ = try? await worker.run { Self.tearDown(client: client, queue: queue) }
        worker.stop()
    }

    // MARK: - Helpers

    private func checkOpen() throws {
        guard !client.isDestroyed else { throw KafkaError(code: .closed, message: "the consumer is closed") }
    }

    /// librdkafka silently ignores pausing a partition it knows but does not fetch; that hides bugs.
    private func requireAssigned(_ partitions: [TopicPartition], action: String) throws {
        var assignment: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let error = rd_kafka_assignment(client.handle, &assignment)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let assignment else {
            throw KafkaError(rdKafka: error, context: "reading the assignment")
        }
        defer { rd_kafka_topic_partition_list_destroy(assignment) }
        let assigned = Set(RDKafkaTopicPartitionList.elements(of: assignment).map(\.topicPartition))
        if let missing = partitions.first(where: { !assigned.contains($0) }) {
            throw KafkaError(
                code: .invalidArgument, message: "cannot \(action) \(missing): it is not assigned",
                topic: missing.topic, partition: missing.partition)
        }
    }

    private static func tearDown(client: RDKafkaClient, queue: ConsumerQueue) {
        guard !client.isDestroyed else { return }
        _ = rd_kafka_consumer_close(client.handle)
        // The queue holds a reference on the handle: release it first or rd_kafka_destroy waits forever.
        rd_kafka_queue_destroy(queue.pointer)
        client.destroy()
    }

    private static func startList(_ starts: [TopicPartition: Int64]) throws -> RDKafkaTopicPartitionList {
        if let negative = starts.first(where: { $0.value < 0 }) {
            // Negative values are librdkafka's logical offsets; -1001 would silently read broker-committed offsets.
            throw KafkaError(
                code: .invalidArgument,
                message: "start offset \(negative.value) for \(negative.key) is negative; offsets must be explicit",
                topic: negative.key.topic, partition: negative.key.partition)
        }
        return RDKafkaTopicPartitionList(starts.keys) { starts[$0] }
    }

    private static func check(
        _ error: rd_kafka_resp_err_t, list: RDKafkaTopicPartitionList, action: String
    ) throws {
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(rdKafka: error, context: "\(action) partitions")
        }
        for element in list.elements where element.error != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(
                rdKafka: element.error, context: "\(action) \(element.topicPartition)",
                topic: element.topicPartition.topic, partition: element.topicPartition.partition)
        }
    }
}

/// The consumer's `rd_kafka_queue_t`, handed to the worker thread; librdkafka queues are thread-safe.
private struct ConsumerQueue: @unchecked Sendable {
    let pointer: OpaquePointer
}
