import CRdKafka

extension RDKafkaClient {
    /// Kafka-stored offsets of `group` (OffsetFetch through the admin API); absent partitions have none.
    func committedOffsets(
        group: String, partitions: [TopicPartition], timeoutMs: Int32
    ) throws(KafkaError) -> [TopicPartition: Int64] {
        let list = RDKafkaTopicPartitionList(partitions)
        guard let request = rd_kafka_ListConsumerGroupOffsets_new(group, list.pointer) else {
            throw KafkaError(code: .invalidArgument, message: "cannot build an OffsetFetch request for \(group)")
        }
        var requests: [OpaquePointer?] = [request]
        defer { rd_kafka_ListConsumerGroupOffsets_destroy(request) }
        let elements = try adminRequest(
            operation: RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, context: "OffsetFetch for group \(group)",
            timeoutMs: timeoutMs
        ) { options, queue in
            rd_kafka_ListConsumerGroupOffsets(handle, &requests, 1, options, queue)
        } groups: { event in
            var count = 0
            let groups = rd_kafka_ListConsumerGroupOffsets_result_groups(event, &count)
            return (groups, count)
        }
        var offsets: [TopicPartition: Int64] = [:]
        for element in elements where element.offset >= 0 {
            offsets[element.topicPartition] = element.offset
        }
        return offsets
    }

    /// Stores `offsets` for `group` as they are (OffsetCommit through the admin API).
    func commitOffsets(group: String, offsets: [TopicPartition: Int64], timeoutMs: Int32) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(offsets.keys) { offsets[$0] }
        guard let request = rd_kafka_AlterConsumerGroupOffsets_new(group, list.pointer) else {
            throw KafkaError(code: .invalidArgument, message: "cannot build an OffsetCommit request for \(group)")
        }
        var requests: [OpaquePointer?] = [request]
        defer { rd_kafka_AlterConsumerGroupOffsets_destroy(request) }
        _ = try adminRequest(
            operation: RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS, context: "OffsetCommit for group \(group)",
            timeoutMs: timeoutMs
        ) { options, queue in
            rd_kafka_AlterConsumerGroupOffsets(handle, &requests, 1, options, queue)
        } groups: { event in
            var count = 0
            let groups = rd_kafka_AlterConsumerGroupOffsets_result_groups(event, &count)
            return (groups, count)
        }
    }

    /// Runs one admin request whose result is a list of group results, and returns their partitions.
    /// Throws the first error: request-level, group-level, then partition-level.
    private func adminRequest(
        operation: rd_kafka_admin_op_t, context: String, timeoutMs: Int32,
        start: (OpaquePointer?, OpaquePointer?) -> Void,
        groups: (OpaquePointer) -> (UnsafeMutablePointer<OpaquePointer?>?, Int)
    ) throws(KafkaError) -> [RDKafkaTopicPartitionList.Element] {
        let options = rd_kafka_AdminOptions_new(handle, operation)
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = withErrorBuffer { buffer, size in
            rd_kafka_AdminOptions_set_request_timeout(options, timeoutMs, buffer, size)
        } onError: { _ in }
        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        start(options, queue)
        // The request times out itself after timeoutMs; the margin lets its timeout error arrive as a result.
        guard let event = rd_kafka_queue_poll(queue, timeoutMs &+ 1_000) else {
            throw failure(RD_KAFKA_RESP_ERR__TIMED_OUT, context: context)
        }
        defer { rd_kafka_event_destroy(event) }
        let error = rd_kafka_event_error(event)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let detail = rd_kafka_event_error_string(event).map { String(cString: $0) }
            throw failure(error, context: context, detail: detail)
        }
        let (results, count) = groups(event)
        var elements: [RDKafkaTopicPartitionList.Element] = []
        for index in 0..<count {
            guard let group = results?[index] else { continue }
            if let groupError = rd_kafka_group_result_error(group) {
                throw KafkaError(rdKafkaError: groupError, context: context)
            }
            if let partitions = rd_kafka_group_result_partitions(group) {
                elements += RDKafkaTopicPartitionList.elements(of: partitions)
            }
        }
        for element in elements where element.error != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw failure(
                element.error, context: "\(context), \(element.topicPartition)", topic: element.topicPartition.topic,
                partition: element.topicPartition.partition)
        }
        return elements
    }

    /// Member ids of the active members of `group` (ListGroups/DescribeGroups); empty when none or unknown.
    func groupMembers(group: String, timeoutMs: Int32) throws(KafkaError) -> [String] {
        var list: UnsafePointer<rd_kafka_group_list>?
        let error = rd_kafka_list_groups(handle, group, &list, timeoutMs)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let list else {
            var made = failure(error, context: "describing group \(group)")
            if made.code == .unsupportedFeature {
                made.message += " (the broker does not answer ListGroups/DescribeGroups; librdkafka's mock never does)"
            }
            throw made
        }
        defer { rd_kafka_group_list_destroy(list) }
        var members: [String] = []
        let count = Int(list.pointee.group_cnt)
        guard count > 0, let infos = list.pointee.groups else { return members }
        for index in 0..<count {
            let info = infos[index]
            guard String(cString: info.group) == group else { continue }
            if info.err == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND { continue }
            guard info.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw failure(info.err, context: "describing group \(group)")
            }
            let memberCount = Int(info.member_cnt)
            guard memberCount > 0, let infoMembers = info.members else { continue }
            members += (0..<memberCount).map { String(cString: infoMembers[$0].member_id) }
        }
        return members.sorted()
    }
}
