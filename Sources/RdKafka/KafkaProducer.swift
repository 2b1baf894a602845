import BlockingCalls
import CRdKafka
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
        client = try RDKafkaClient.make(kind: .producer, configuration: configuration, logger: logger) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf, deliveryReportCallback)
        }
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
        let handle = client.handle
        if sendsSincePoll.add(1, ordering: .relaxed).newValue >= 1_000 {
            sendsSincePoll.store(0, ordering: .relaxed)
            rd_kafka_poll(handle, 0)
        }
        var retries = 0
        while true {
            guard
                let error = client.produce(
                    topic: topic, partition: partition ?? -1, key: key, value: value, timestampMillis: timestampMillis)
            else { return }
            defer { rd_kafka_error_destroy(error) }
            // Retrying briefly is what librdkafka recommends: the queue drains as the brokers acknowledge.
            if rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__QUEUE_FULL && retries < 100 {
                retries += 1
                rd_kafka_poll(handle, 10)
                continue
            }
            throw KafkaError(
                rdKafkaError: error, context: "producing to \(topic)", topic: topic, partition: partition)
        }
    }

    /// Waits until every message sent so far is acknowledged, or throws.
    ///
    /// Throws `.timedOut` (with the number still queued) when `timeout` passes first, or the first delivery
    /// failure since the previous `flush` (its message says how many failed). Runs on a dedicated thread.
    public func flush(timeout: Duration = .seconds(30)) async throws {
        let client = self.client
        guard !client.isDestroyed else { throw KafkaError(code: .closed, message: "the producer is closed") }
        let (result, queued) = await runOnDedicatedThread(name: "rdkafka-flush") {
            let result = rd_kafka_flush(client.handle, timeout.timeoutMilliseconds)
            return (result.rawValue, rd_kafka_outq_len(client.handle))
        }
        let tally = client.context.takeDeliveryTally()
        if var first = tally.firstError {
            first.message = "\(tally.failed) message(s) failed delivery; first: \(first.message)"
            throw first
        }
        if result != RD_KAFKA_RESP_ERR_NO_ERROR.rawValue {
            var error = KafkaError(rdKafka: rd_kafka_resp_err_t(result), context: "flush")
            error.message += " (\(queued) message(s) or requests still queued)"
            if let broker = client.context.lastBrokerError { error.message += "; last broker error: \(broker)" }
            throw error
        }
    }

    /// Waits up to 10 seconds for outstanding messages (logging how many were lost if any), then releases the
    /// producer. Further calls throw `.closed`.
    public func close() async {
        let client = self.client
        let logger = self.logger
        await runOnDedicatedThread(name: "rdkafka-producer-close") {
            guard !client.isDestroyed else { return }
            if rd_kafka_flush(client.handle, 10_000) != RD_KAFKA_RESP_ERR_NO_ERROR {
                logger.info(
                    "closing the producer with undelivered messages",
                    metadata: ["queued": "\(rd_kafka_outq_len(client.handle))"])
            }
            client.destroy()
        }
    }
}

/// Runs on the thread that polls (send, flush): records failures, nothing else.
private func deliveryReportCallback(
    handle: OpaquePointer?, message: UnsafePointer<rd_kafka_message_t>?, opaque: UnsafeMutableRawPointer?
) {
    guard let message, message.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR, let opaque else { return }
    let context = Unmanaged<RDKafkaClientContext>.fromOpaque(opaque).takeUnretainedValue()
    let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) }
    context.recordDelivery(
        failure: KafkaError(
            rdKafka: message.pointee.err, context: "delivery", topic: topic, partition: message.pointee.partition))
}
