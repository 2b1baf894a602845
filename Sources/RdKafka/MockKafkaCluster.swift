import BlockingCalls
import CRdKafka
import Logging
import Synchronization

/// librdkafka's in-process mock cluster, reachable over TCP on loopback by any Kafka client (kcat too).
///
/// Meant for tests, demos and the sandbox: it keeps data in memory (about 5 MiB per partition, older
/// messages are silently dropped), ignores replication, and does not implement every request
/// (timestamp lookups answer "none", ListGroups/DescribeGroups are unsupported in librdkafka 2.0.2).
/// Metadata is raised to v4 so that clients can ask for a topic without the mock auto-creating it.
public final class MockKafkaCluster: Sendable {
    // The cluster runs on the host handle's threads: `host` must outlive `cluster`, so `close()` destroys
    // the cluster first and the host after it.
    private let host: RDKafkaClient
    private let cluster: Cluster

    /// The cluster's broker addresses (`127.0.0.1:<port>,...`), valid until `close()`.
    public let bootstrapServers: String

    /// Starts a mock cluster of `brokers` brokers listening on loopback ports chosen by the system.
    public init(brokers: Int = 1, logger: Logger) throws {
        guard brokers >= 1 else {
            throw KafkaError(code: .invalidArgument, message: "a mock cluster needs at least one broker")
        }
        // A producer handle is the cheapest host; it connects nowhere. Its own warnings (no bootstrap servers)
        // are noise, hence log_level 3.
        host = try RDKafkaClient.make(
            kind: .producer, configuration: KafkaConfiguration(bootstrapServers: ""),
            enforced: ["log_level": "3"], logger: logger)
        guard let cluster = rd_kafka_mock_cluster_new(host.handle, Int32(clamping: brokers)) else {
            host.destroy()
            throw KafkaError(code: .librdkafka(-1), message: "rd_kafka_mock_cluster_new failed")
        }
        self.cluster = Cluster(pointer: cluster)
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        // ApiKey 3 = Metadata. v4 carries allow_auto_topic_creation, so asking about a missing topic
        // reports "unknown topic" instead of creating it as the v0-v2 default does.
        _ = rd_kafka_mock_set_apiversion(cluster, 3, 0, 4)
        logger.info("mock Kafka cluster started", metadata: ["bootstrap": "\(bootstrapServers)"])
    }

    /// Creates a topic with `partitions` partitions (one replica); throws if it exists or the request is invalid.
    public func createTopic(_ name: String, partitions: Int32) throws {
        guard let pointer = cluster.pointer else {
            throw KafkaError(code: .closed, message: "the mock cluster is closed")
        }
        let error = rd_kafka_mock_topic_create(pointer, name, partitions, 1)
        if error != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(rdKafka: error, context: "creating mock topic \(name)", topic: name)
        }
    }

    /// Stops the brokers and releases the cluster; clients still connected see their connections fail.
    public func close() async {
        let cluster = self.cluster
        let host = self.host
        await runOnDedicatedThread(name: "rdkafka-mock-close") {
            cluster.destroy()
            host.destroy()
        }
    }

    deinit {
        // close() was not called: destroy in the same order, off the caller's thread (destroy blocks).
        let cluster = self.cluster
        let host = self.host
        if cluster.pointer != nil || !host.isDestroyed {
            Task.detached {
                await runOnDedicatedThread(name: "rdkafka-mock-close") {
                    cluster.destroy()
                    host.destroy()
                }
            }
        }
    }
}

extension MockKafkaCluster {
    /// Owns the `rd_kafka_mock_cluster_t`; destroys it once.
    fileprivate final class Cluster: @unchecked Sendable {
        private let rawPointer: OpaquePointer
        private let destroyed = Mutex(false)

        init(pointer: OpaquePointer) { rawPointer = pointer }

        /// The cluster, or nil once destroyed.
        var pointer: OpaquePointer? { destroyed.withLock { $0 } ? nil : rawPointer }

        func destroy() {
            let first = destroyed.withLock { wasDestroyed in
                defer { wasDestroyed = true }
                return !wasDestroyed
            }
            if first { rd_kafka_mock_cluster_destroy(rawPointer) }
        }
    }
}
