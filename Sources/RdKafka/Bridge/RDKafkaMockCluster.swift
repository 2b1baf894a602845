import CRdKafka
import Synchronization

/// Owns one `rd_kafka_mock_cluster_t`; destroys it once. `@unchecked Sendable`: the mock cluster API is
/// thread-safe, and the pointer is only freed by `destroy()`, once, under the lock.
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
        guard !isDestroyed else { throw KafkaError(code: .closed, message: "the mock cluster is closed") }
        let error = rd_kafka_mock_topic_create(rawPointer, name, partitions, 1)
        if error != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(rdKafka: error, context: "creating mock topic \(name)", topic: name)
        }
    }

    /// Stops the brokers and frees the cluster; idempotent. Blocks: never call on the cooperative pool.
    func destroy() {
        let first = destroyed.withLock { wasDestroyed in
            defer { wasDestroyed = true }
            return !wasDestroyed
        }
        if first { rd_kafka_mock_cluster_destroy(rawPointer) }
    }
}
