import BlockingCalls
import Logging
import Synchronization

/// Sends messages to Kafka; `send` enqueues locally, `flush` waits until every enqueued message is acknowledged.
///
/// Delivery failures (a message the brokers never acknowledged) are collected and thrown by the next `flush`.
public final class KafkaProducer: Sendable {
    private let client: RDKafkaClient
    private let logger: Logger
    // Counts sends to serve delivery reports now and then without blocking.
    private let sendsSincePoll = Atomic<Int>(0)

    /// Creates a producer; throws `.invalidConfiguration` naming the property librdkafka rejected.
    public init(configuration: KafkaConfiguration, logger: Logger) throws {
        self.logger = logger
        client = try RDKafkaClient.makeProducer(configuration: configuration, logger: logger)
    }

    /// Enqueues one message (bytes are copied); `partition` nil lets librdkafka's partitioner choose.
    ///
    /// When the local queue is full (`queue.buffering.max.messages`) it serves delivery reports and retries for
    /// up to about one second, blocking the calling thread meanwhile, then throws `.queueFull`. An empty `value`
    /// is sent as a null value. `timestampMillis` sets the message's CreateTime (milliseconds since 1970, >= 0);
    /// nil stamps it with the current time. Throws `.invalidArgument` for a negative timestamp, `.closed` after
    /// `close()`.
    public func send(
        topic: String, partition: Int32? = nil, key: [UInt8]? = nil, value: [UInt8], timestampMillis: Int64? = nil
    ) throws {
        if let timestampMillis, timestampMillis < 0 {
            throw KafkaError(
                code: .invalidArgument, message: "timestamp must be >= 0 milliseconds, got \(timestampMillis)",
                topic: topic, partition: partition)
        }
        guard !client.isDestroyed else { throw KafkaError(code: .closed, message: "the producer is closed") }
        if sendsSincePoll.add(1, ordering: .relaxed).newValue >= 1_000 {
            sendsSincePoll.store(0, ordering: .relaxed)
            client.serveEvents()
        }
        try client.enqueue(topic: topic, partition: partition, key: key, value: value, timestampMillis: timestampMillis)
    }

    /// Waits until every message sent so far is acknowledged, or throws.
    ///
    /// Throws `.timedOut` (with the number still queued) when `timeout` passes first, or the first delivery
    /// failure since the previous `flush` (its message says how many failed). Runs on a dedicated thread.
    public func flush(timeout: Duration = .seconds(30)) async throws {
        let client = self.client
        guard !client.isDestroyed else { throw KafkaError(code: .closed, message: "the producer is closed") }
        let timeoutMs = timeout.timeoutMilliseconds
        let flushFailure = await runOnDedicatedThread(name: "rdkafka-flush") { client.flush(timeoutMs: timeoutMs) }
        let tally = client.context.takeDeliveryTally()
        if var first = tally.firstError {
            first.message = "\(tally.failed) message(s) failed delivery; first: \(first.message)"
            throw first
        }
        if let flushFailure { throw flushFailure }
    }

    /// Waits up to 10 seconds for outstanding messages (logging how many were lost if any), then releases the
    /// producer. Further calls throw `.closed`.
    public func close() async {
        let client = self.client
        let logger = self.logger
        await runOnDedicatedThread(name: "rdkafka-producer-close") {
            guard !client.isDestroyed else { return }
            if client.flush(timeoutMs: 10_000) != nil {
                logger.info(
                    "closing the producer with undelivered messages", metadata: [LogKey.queued: "\(client.queuedCount)"])
            }
            client.destroy()
        }
    }
}
