import BlockingCalls
import CRdKafka
import Glibc
import Logging

/// The consumer's hot path: drains librdkafka's consumer queue into Swift values, one batch per call.
enum RDKafkaConsumerPoll {
    struct Batch: Sendable {
        var messages: [KafkaMessage] = []
        var errors: [KafkaError] = []
        /// Key and value bytes of `messages`.
        var payloadBytes = 0
    }

    /// Waits up to `timeoutMs` for a first message, then takes whatever else is already queued without waiting
    /// (`rd_kafka_consume_batch_queue` alone would wait for a full batch). Blocks: call on a dedicated thread.
    static func batch(
        handle: OpaquePointer, queue: OpaquePointer, maxMessages: Int, timeoutMs: Int32, logger: Logger
    ) -> Batch {
        var batch = Batch()
        guard let first = rd_kafka_consumer_poll(handle, timeoutMs) else { return batch }
        let slots = UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>.allocate(capacity: maxMessages)
        defer { slots.deallocate() }
        slots[0] = first
        var count = 1
        if maxMessages > 1 {
            let more = rd_kafka_consume_batch_queue(queue, 0, slots + 1, maxMessages - 1)
            if more > 0 { count += more }
        }
        batch.messages.reserveCapacity(count)
        // One buffer for every key and value of the batch (see `MessageBytes`).
        var bytes = 0
        for index in 0..<count {
            guard let message = slots[index] else { continue }
            bytes += message.pointee.len + message.pointee.key_len
        }
        let buffer = BatchBuffer(capacity: bytes)

        // Consecutive messages mostly share a topic: reuse its Swift string instead of decoding it each time.
        var lastTopicHandle: OpaquePointer?
        var lastTopicName = ""
        for index in 0..<count {
            guard let message = slots[index] else { continue }
            defer { rd_kafka_message_destroy(message) }
            let fields = message.pointee
            if fields.rkt != lastTopicHandle, let topicHandle = fields.rkt {
                lastTopicHandle = topicHandle
                lastTopicName = String(cString: rd_kafka_topic_name(topicHandle))
            }
            guard fields.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                record(error: message, topic: fields.rkt == nil ? nil : lastTopicName, into: &batch, logger: logger)
                continue
            }
            batch.payloadBytes += fields.len + fields.key_len
            var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
            let timestamp = rd_kafka_message_timestamp(message, &timestampType)
            batch.messages.append(
                KafkaMessage(
                    topic: lastTopicName, partition: fields.partition, offset: fields.offset,
                    key: fields.key.map { copy($0, count: fields.key_len, into: buffer) },
                    value: fields.payload.map { copy($0, count: fields.len, into: buffer) }
                        ?? MessageBytes(storage: buffer, offset: 0, count: 0),
                    timestampMillis: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp))
        }
        return batch
    }

    /// Partition errors (and fatal ones) go to the caller; client-level errors such as a lost connection, and
    /// partition errors librdkafka retries itself (a Fetch that timed out, a leader not available: it fetches the
    /// partition again from the same position), are only logged.
    private static func record(
        error message: UnsafeMutablePointer<rd_kafka_message_t>, topic: String?, into batch: inout Batch,
        logger: Logger
    ) {
        let fields = message.pointee
        if fields.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return }
        // For an error the payload holds librdkafka's text, not NUL-terminated.
        let text = fields.payload.map {
            String(decoding: UnsafeRawBufferPointer(start: $0, count: fields.len), as: UTF8.self)
        }
        if let topic {
            let error = KafkaError(
                rdKafka: fields.err, context: "fetch", topic: topic, partition: fields.partition, detail: text)
            guard error.isRetryable else {
                batch.errors.append(error)
                return
            }
            logger.info("fetch error (librdkafka retries)", metadata: [LogKey.error: "\(error)"])
        } else if fields.err == RD_KAFKA_RESP_ERR__FATAL {
            batch.errors.append(KafkaError(rdKafka: fields.err, context: "consumer", detail: text))
        } else {
            logger.info(
                "consumer error (librdkafka retries)",
                metadata: [LogKey.error: "\(String(cString: rd_kafka_err2str(fields.err)))", LogKey.detail: "\(text ?? "")"])
        }
    }

    private static func copy(_ source: UnsafeMutableRawPointer, count: Int, into buffer: BatchBuffer) -> MessageBytes {
        MessageBytes(storage: buffer, offset: buffer.append(source, count: count), count: count)
    }
}
