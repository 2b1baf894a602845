import CRdKafka
import Logging

extension RDKafkaClient {
    /// A producer handle whose delivery reports are tallied in its context (`takeDeliveryTally`).
    static func makeProducer(configuration: KafkaConfiguration, logger: Logger) throws(KafkaError) -> RDKafkaClient {
        try make(kind: .producer, configuration: configuration, logger: logger) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf, deliveryReportCallback)
        }
    }

    /// Enqueues one message (see `produce`); when the local queue is full it serves delivery reports and retries,
    /// up to 100 times 10 ms, blocking the calling thread meanwhile, then throws `.queueFull`.
    func enqueue(
        topic: String, partition: Int32?, key: [UInt8]?, value: [UInt8], timestampMillis: Int64?
    ) throws(KafkaError) {
        var retries = 0
        while true {
            guard
                let error = produce(
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

    /// Serves what waits on the main queue (delivery reports, error events) without waiting.
    func serveEvents() {
        rd_kafka_poll(handle, 0)
    }

    /// Waits up to `timeoutMs` until every enqueued message is acknowledged; nil when they all were, else the
    /// error naming how many are still queued and the last broker error. Blocks: call on a dedicated thread.
    func flush(timeoutMs: Int32) -> KafkaError? {
        let result = rd_kafka_flush(handle, timeoutMs)
        guard result != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        var error = KafkaError(rdKafka: result, context: "flush")
        error.message += " (\(queuedCount) message(s) or requests still queued)"
        if let broker = context.lastBrokerError { error.message += "; last broker error: \(broker)" }
        return error
    }

    /// Messages and requests librdkafka still holds (`rd_kafka_outq_len`).
    var queuedCount: Int32 { rd_kafka_outq_len(handle) }

    /// Enqueues one message through `rd_kafka_produceva` (the variadic `rd_kafka_producev` is not callable from
    /// Swift); bytes are copied. Returns librdkafka's error, which the caller must destroy, or nil when queued.
    ///
    /// `partition` -1 lets the partitioner choose; `timestampMillis` nil lets librdkafka stamp the message with
    /// the current time (CreateTime), a value sets the CreateTime explicitly.
    private func produce(
        topic: String, partition: Int32, key: [UInt8]?, value: [UInt8], timestampMillis: Int64?
    ) -> OpaquePointer? {
        topic.withCString { topicName in
            value.withUnsafeBytes { valueBytes in
                withOptionalBytes(key) { keyBytes in
                    var fields = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 6)
                    fields[0].vtype = RD_KAFKA_VTYPE_TOPIC
                    fields[0].u.cstr = topicName
                    fields[1].vtype = RD_KAFKA_VTYPE_PARTITION
                    fields[1].u.i32 = partition
                    fields[2].vtype = RD_KAFKA_VTYPE_VALUE
                    fields[2].u.mem.ptr = UnsafeMutableRawPointer(mutating: valueBytes.baseAddress)
                    fields[2].u.mem.size = valueBytes.count
                    fields[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                    fields[3].u.i = RD_KAFKA_MSG_F_COPY
                    var count = 4
                    if let keyBytes {
                        fields[count].vtype = RD_KAFKA_VTYPE_KEY
                        fields[count].u.mem.ptr = UnsafeMutableRawPointer(mutating: keyBytes.baseAddress)
                        fields[count].u.mem.size = keyBytes.count
                        count += 1
                    }
                    if let timestampMillis {
                        fields[count].vtype = RD_KAFKA_VTYPE_TIMESTAMP
                        fields[count].u.i64 = timestampMillis
                        count += 1
                    }
                    return rd_kafka_produceva(handle, fields, count)
                }
            }
        }
    }
}

private func withOptionalBytes<Result>(
    _ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> Result
) -> Result {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
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
