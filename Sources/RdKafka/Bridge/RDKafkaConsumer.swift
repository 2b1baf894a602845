import BlockingCalls
import CRdKafka
import Logging
import Synchronization

/// A consumer handle and its consumer queue: every librdkafka call `KafkaPartitionConsumer` makes.
///
/// The assignment calls are quick and thread-safe; `poll` and `close` block and run on the consumer's worker
/// thread. Teardown order (`close()`): stop the fetch waker, consumer_close, release `queue`, destroy the handle;
/// `client` holds the callback context until after that.
final class RDKafkaConsumer: Sendable {
    private let client: RDKafkaClient
    private let queue: ConsumerQueue
    /// False once `close()` is about to release the queue: `wakeUp` yields only while it is true, under the lock.
    private let queueOpen = Mutex(true)
    /// Wakes the broker threads when the pacer says so, and after the assignment changed.
    private let fetchWaker: RDKafkaFetchWaker
    /// Only `poll` uses it (on the worker thread); the lock is never contended.
    private let pacer: Mutex<FetchPacer>

    /// Creates the handle from properties applied in order: `defaults`, the user's configuration, `enforced`.
    init(
        configuration: KafkaConfiguration, defaults: [String: String], enforced: [String: String], logger: Logger
    ) throws(KafkaError) {
        let client = try RDKafkaClient.make(
            kind: .consumer, configuration: configuration, defaults: defaults, enforced: enforced, logger: logger)
        // Fetched messages, errors and events all arrive on the one consumer queue we poll.
        rd_kafka_poll_set_consumer(client.handle)
        guard let queue = rd_kafka_queue_get_consumer(client.handle) else {
            client.destroy()
            throw KafkaError(code: .invalidConfiguration, message: "librdkafka returned no consumer queue")
        }
        self.client = client
        self.queue = ConsumerQueue(pointer: queue)
        pacer = Mutex(
            FetchPacer(
                messageLimit: client.integerProperty("queued.min.messages") ?? 100_000,
                byteLimit: (client.integerProperty("queued.max.messages.kbytes") ?? 65_536) * 1024))
        fetchWaker = RDKafkaFetchWaker(name: "rdkafka-fetch-waker") {
            Self.wakeBrokers(client, logger: logger)
        }
    }

    /// `true` once `close()` ran or started.
    var isClosed: Bool { client.isDestroyed }

    /// Replaces the whole assignment with `starts` (explicit offsets, checked by the caller).
    func assign(_ starts: [TopicPartition: Int64]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(starts.keys) { starts[$0] }
        let error = rd_kafka_assign(client.handle, list.pointer)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(rdKafka: error, context: "assigning \(starts.count) partition(s)")
        }
        fetchWaker.wake()
    }

    /// Adds `starts` (explicit offsets, checked by the caller) to the assignment.
    func incrementalAssign(_ starts: [TopicPartition: Int64]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(starts.keys) { starts[$0] }
        if let error = rd_kafka_incremental_assign(client.handle, list.pointer) {
            defer { rd_kafka_error_destroy(error) }
            throw KafkaError(rdKafkaError: error, context: "adding \(starts.count) partition(s)")
        }
        fetchWaker.wake()
    }

    /// Removes `partitions` from the assignment.
    func incrementalUnassign(_ partitions: [TopicPartition]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(partitions)
        if let error = rd_kafka_incremental_unassign(client.handle, list.pointer) {
            defer { rd_kafka_error_destroy(error) }
            throw KafkaError(rdKafkaError: error, context: "removing \(partitions.count) partition(s)")
        }
    }

    /// Stops fetching `partitions`; throws the first partition-level error.
    func pause(_ partitions: [TopicPartition]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(partitions)
        try Self.check(rd_kafka_pause_partitions(client.handle, list.pointer), list: list, action: "pausing")
    }

    /// Resumes fetching `partitions`; throws the first partition-level error.
    func resume(_ partitions: [TopicPartition]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(partitions)
        try Self.check(rd_kafka_resume_partitions(client.handle, list.pointer), list: list, action: "resuming")
        fetchWaker.wake()
    }

    /// The partitions currently assigned.
    func assignment() throws(KafkaError) -> Set<TopicPartition> {
        var assignment: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let error = rd_kafka_assignment(client.handle, &assignment)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let assignment else {
            throw KafkaError(rdKafka: error, context: "reading the assignment")
        }
        defer { rd_kafka_topic_partition_list_destroy(assignment) }
        return Set(RDKafkaTopicPartitionList.elements(of: assignment).map(\.topicPartition))
    }

    /// The next batch (see `RDKafkaConsumerPoll.batch`); throws `.closed` after `close()`. Blocks up to
    /// `timeoutMs`: call on the worker thread, which also serialises the polls.
    func poll(maxMessages: Int, timeoutMs: Int32, logger: Logger) throws(KafkaError) -> RDKafkaConsumerPoll.Batch {
        guard !client.isDestroyed else { throw KafkaError(code: .closed, message: "the consumer is closed") }
        let batch = RDKafkaConsumerPoll.batch(
            handle: client.handle, queue: queue.pointer, maxMessages: maxMessages, timeoutMs: timeoutMs,
            logger: logger)
        let remaining = Int(rd_kafka_queue_length(queue.pointer))
        let wake = pacer.withLock {
            $0.shouldWake(polled: batch.messages.count, polledBytes: batch.payloadBytes, remaining: remaining)
        }
        if wake { fetchWaker.wake() }
        return batch
    }

    /// Makes a `poll` waiting on the queue return at once (with what it has, possibly nothing). Thread-safe and
    /// non-blocking; does nothing once `close()` began.
    func wakeUp() {
        queueOpen.withLock { open in
            if open { rd_kafka_queue_yield(queue.pointer) }
        }
    }

    /// Leaves the assignment and releases the handle, in the order above; idempotent. Blocks until librdkafka's
    /// threads ended: call on the worker thread, after any poll.
    func close() {
        guard !client.isDestroyed else { return }
        fetchWaker.stop()
        queueOpen.withLock { $0 = false }
        _ = rd_kafka_consumer_close(client.handle)
        // The queue holds a reference on the handle: release it first or rd_kafka_destroy waits forever.
        rd_kafka_queue_destroy(queue.pointer)
        client.destroy()
    }

    /// One wake-up (see `RDKafkaFetchWaker`): a log-end lookup of the assigned partitions, one request per
    /// leader broker. Sending the requests is what wakes the brokers; the answers are not needed, so the call
    /// waits only 10 ms for them. Waiting longer blocked the wake-ups: a broker holding a fetch that finds
    /// nothing (up to `fetch.wait.max.ms`) answers the lookup only after it, and meanwhile the other brokers,
    /// stopped at the queue limit, stayed asleep (stalls of the whole wait, measured on 3 brokers).
    private static func wakeBrokers(_ client: RDKafkaClient, logger: Logger) {
        guard !client.isDestroyed else { return }
        var assignment: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(client.handle, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR, let assignment else {
            return
        }
        defer { rd_kafka_topic_partition_list_destroy(assignment) }
        guard assignment.pointee.cnt > 0 else { return }
        for index in 0..<Int(assignment.pointee.cnt) {
            assignment.pointee.elems[index].offset = -1  // the log end
        }
        let error = rd_kafka_offsets_for_times(client.handle, assignment, 10)
        if error != RD_KAFKA_RESP_ERR_NO_ERROR && error != RD_KAFKA_RESP_ERR__TIMED_OUT {
            logger.debug(
                "fetch wake-up failed", metadata: [LogKey.error: "\(String(cString: rd_kafka_err2str(error)))"])
        }
    }

    private static func check(
        _ error: rd_kafka_resp_err_t, list: RDKafkaTopicPartitionList, action: String
    ) throws(KafkaError) {
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
