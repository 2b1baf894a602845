import CRdKafka

/// Owns an `rd_kafka_topic_partition_list_t`; used inside one blocking call, never shared across threads.
final class RDKafkaTopicPartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(capacity: Int = 0) {
        pointer = rd_kafka_topic_partition_list_new(Int32(clamping: capacity))
    }

    /// Copies `offsets` (or bare partitions when `offset` is nil) into a new list.
    convenience init<S: Sequence>(_ partitions: S, offset: (TopicPartition) -> Int64? = { _ in nil })
    where S.Element == TopicPartition {
        self.init(capacity: partitions.underestimatedCount)
        for topicPartition in partitions {
            add(topicPartition, offset: offset(topicPartition))
        }
    }

    deinit {
        rd_kafka_topic_partition_list_destroy(pointer)
    }

    func add(_ topicPartition: TopicPartition, offset: Int64? = nil) {
        let element = rd_kafka_topic_partition_list_add(pointer, topicPartition.topic, topicPartition.partition)
        if let offset, let element {
            element.pointee.offset = offset
        }
    }

    /// Every element, copied out: the partition, its offset and its per-partition error.
    var elements: [Element] { Self.elements(of: UnsafePointer(pointer)) }

    struct Element {
        var topicPartition: TopicPartition
        var offset: Int64
        var error: rd_kafka_resp_err_t
    }

    /// Copies the elements of a list librdkafka owns (a result inside an event, for instance).
    static func elements(of list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [Element] {
        let count = Int(list.pointee.cnt)
        guard count > 0, let elements = list.pointee.elems else { return [] }
        return (0..<count).map { index in
            let element = elements[index]
            return Element(
                topicPartition: TopicPartition(topic: String(cString: element.topic), partition: element.partition),
                offset: element.offset, error: element.err)
        }
    }
}
