import CRdKafka

extension RDKafkaClient {
    /// Partitions of every topic in the cluster, by topic name. Blocks up to `timeoutMs`.
    ///
    /// Always asks for all topics: one request, and unlike a request naming topics it never makes a broker
    /// (or the mock cluster) auto-create a topic that does not exist.
    func allTopicPartitions(timeoutMs: Int32) throws(KafkaError) -> [String: [Int32]] {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let error = rd_kafka_metadata(handle, 1, nil, &metadata, timeoutMs)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw failure(error, context: "metadata request")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        var topics: [String: [Int32]] = [:]
        let count = Int(metadata.pointee.topic_cnt)
        guard count > 0, let entries = metadata.pointee.topics else { return topics }
        for index in 0..<count {
            let entry = entries[index]
            let name = String(cString: entry.topic)
            // A topic listed with an error (being deleted, for instance) has no usable partitions.
            guard entry.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
            let partitionCount = Int(entry.partition_cnt)
            var partitions: [Int32] = []
            if partitionCount > 0, let list = entry.partitions {
                partitions = (0..<partitionCount).map { list[$0].id }.sorted()
            }
            topics[name] = partitions
        }
        return topics
    }

    /// Looks up offsets by timestamp for each partition (librdkafka's special timestamps -2 = log start and
    /// -1 = log end included). One ListOffsets request per leader broker, not per partition.
    func offsets(
        forTimes query: [TopicPartition: Int64], timeoutMs: Int32
    ) throws(KafkaError) -> [TopicPartition: Int64] {
        let list = RDKafkaTopicPartitionList(query.keys) { query[$0] }
        let error = rd_kafka_offsets_for_times(handle, list.pointer, timeoutMs)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw failure(error, context: "offsets lookup (ListOffsets)") }
        var result: [TopicPartition: Int64] = [:]
        for element in list.elements {
            guard element.error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw failure(
                    element.error, context: "offsets lookup (ListOffsets) for \(element.topicPartition)",
                    topic: element.topicPartition.topic, partition: element.topicPartition.partition)
            }
            result[element.topicPartition] = element.offset
        }
        return result
    }
}
