import CRdKafka

extension RDKafkaClient {
    /// Enqueues one message through `rd_kafka_produceva` (the variadic `rd_kafka_producev` is not callable from
    /// Swift); bytes are copied. Returns librdkafka's error, which the caller must destroy, or nil when queued.
    ///
    /// `partition` -1 lets the partitioner choose; `timestampMillis` nil lets librdkafka stamp the message with
    /// the current time (CreateTime), a value sets the CreateTime explicitly.
    func produce(
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
