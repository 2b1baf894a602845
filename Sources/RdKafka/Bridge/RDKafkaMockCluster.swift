import CRdKafka
import Synchronization

/// Owns one `rd_kafka_mock_cluster_t`; destroys it once. `@unchecked Sendable`: the mock cluster API is
/// thread-safe, and every call, like `destroy()`, runs under the lock, so none can use the pointer after it was
/// freed.
///
/// The cluster runs on the threads of the handle it was created on: that handle must outlive it, so destroy
/// this first and the handle after it.
final class RDKafkaMockCluster: @unchecked Sendable {
    private let rawPointer: OpaquePointer
    private let destroyed = Mutex(false)

    /// The brokers' addresses (`127.0.0.1:<port>,...`).
    let bootstrapServers: String

    /// Starts `brokers` brokers on loopback ports chosen by the system, running on `host`'s threads.
    init(host: RDKafkaClient, brokers: Int32) throws(KafkaError) {
        guard let cluster = rd_kafka_mock_cluster_new(host.handle, brokers) else {
            throw KafkaError(code: .librdkafka(-1), message: "rd_kafka_mock_cluster_new failed")
        }
        rawPointer = cluster
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        // ApiKey 3 = Metadata. v4 carries allow_auto_topic_creation, so asking about a missing topic
        // reports "unknown topic" instead of creating it as the v0-v2 default does.
        _ = rd_kafka_mock_set_apiversion(cluster, 3, 0, 4)
    }

    /// `true` once `destroy()` ran or started.
    var isDestroyed: Bool { destroyed.withLock { $0 } }

    /// Creates a topic with one replica; throws `.closed` after `destroy()`, or what the mock answered.
    func createTopic(_ name: String, partitions: Int32) throws(KafkaError) {
        try check(withCluster { rd_kafka_mock_topic_create($0, name, partitions, 1) }, "creating mock topic \(name)", topic: name)
    }

    // MARK: Faults (each a thin call of rdkafka_mock.h; the public API documents what they mean)

    /// `rd_kafka_mock_broker_set_down`: disconnects the broker's clients and refuses new connections.
    func setBrokerDown(_ broker: Int32) throws(KafkaError) {
        try check(withCluster { rd_kafka_mock_broker_set_down($0, broker) }, "taking mock broker \(broker) down")
    }

    /// `rd_kafka_mock_broker_set_up`: the broker accepts connections again.
    func setBrokerUp(_ broker: Int32) throws(KafkaError) {
        try check(withCluster { rd_kafka_mock_broker_set_up($0, broker) }, "bringing mock broker \(broker) up")
    }

    /// `rd_kafka_mock_partition_set_leader`: the partition's leader becomes `broker`.
    func setLeader(topic: String, partition: Int32, broker: Int32) throws(KafkaError) {
        try check(
            withCluster { rd_kafka_mock_partition_set_leader($0, topic, partition, broker) },
            "moving the leader of \(topic)-\(partition) to mock broker \(broker)", topic: topic, partition: partition)
    }

    /// `rd_kafka_mock_push_request_errors_array`: the next `errors.count` requests of `apiKey`, whichever broker
    /// gets them, are answered with these codes in order (`__TRANSPORT` disconnects instead).
    func pushRequestErrors(apiKey: Int16, errors: [Int32]) throws(KafkaError) {
        let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
        try withCluster { cluster in
            codes.withUnsafeBufferPointer { buffer in
                rd_kafka_mock_push_request_errors_array(cluster, apiKey, buffer.count, buffer.baseAddress)
            }
        }
    }

    /// `rd_kafka_mock_clear_request_errors`: forgets the errors still pushed for `apiKey`.
    func clearRequestErrors(apiKey: Int16) throws(KafkaError) {
        try withCluster { rd_kafka_mock_clear_request_errors($0, apiKey) }
    }

    /// `rd_kafka_mock_topic_set_error`: Metadata answers `topic` with `error` (0 clears it). librdkafka 2.0.2's
    /// mock uses it for Metadata (and AddPartitionsToTxn) only; Fetch and Produce still serve the topic.
    func setTopicError(_ topic: String, error: Int32) throws(KafkaError) {
        try withCluster { rd_kafka_mock_topic_set_error($0, topic, rd_kafka_resp_err_t(rawValue: error)) }
    }

    /// `body` with the cluster, under the lock (`destroy()` cannot free it meanwhile); `.closed` after `destroy()`.
    private func withCluster<T>(_ body: (OpaquePointer) -> T) throws(KafkaError) -> T {
        try destroyed.withLock { (wasDestroyed: inout Bool) throws(KafkaError) -> T in
            guard !wasDestroyed else { throw KafkaError(code: .closed, message: "the mock cluster is closed") }
            return body(rawPointer)
        }
    }

    private func check(
        _ error: rd_kafka_resp_err_t, _ context: String, topic: String? = nil, partition: Int32? = nil
    ) throws(KafkaError) {
        if error != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(rdKafka: error, context: context, topic: topic, partition: partition)
        }
    }

    /// Stops the brokers and frees the cluster; idempotent. Blocks: never call on the cooperative pool.
    func destroy() {
        destroyed.withLock { wasDestroyed in
            if !wasDestroyed { rd_kafka_mock_cluster_destroy(rawPointer) }
            wasDestroyed = true
        }
    }
}
