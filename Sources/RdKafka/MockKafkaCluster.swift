import BlockingCalls
import Logging

/// librdkafka's in-process mock cluster, reachable over TCP on loopback by any Kafka client (kcat too).
///
/// Meant for tests, demos and the sandbox: it keeps data in memory (about 5 MiB per partition, older
/// messages are silently dropped), ignores replication, and does not implement every request
/// (timestamp lookups answer "none", ListGroups/DescribeGroups are unsupported in librdkafka 2.0.2).
/// Metadata is raised to v4 so that clients can ask for a topic without the mock auto-creating it.
/// Faults (brokers down, leaders moving, request errors, a topic that looks deleted): `MockKafkaCluster+Faults.swift`.
public final class MockKafkaCluster: Sendable {
    // The cluster runs on the host handle's threads: `host` must outlive `cluster`, so `close()` destroys
    // the cluster first and the host after it.
    private let host: RDKafkaClient
    // Internal, not private: the fault controls (MockKafkaCluster+Faults.swift) call it.
    let cluster: RDKafkaMockCluster

    /// The cluster's broker addresses (`127.0.0.1:<port>,...`), valid until `close()`.
    public let bootstrapServers: String

    /// The number of brokers; their ids are 1 to `brokerCount`.
    public let brokerCount: Int32

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
        do {
            cluster = try RDKafkaMockCluster(host: host, brokers: Int32(clamping: brokers))
        } catch {
            host.destroy()
            throw error
        }
        bootstrapServers = cluster.bootstrapServers
        brokerCount = Int32(clamping: brokers)
        logger.info("mock Kafka cluster started", metadata: [LogKey.bootstrap: "\(bootstrapServers)"])
    }

    /// Creates a topic with `partitions` partitions (one replica); throws if it exists or the request is invalid.
    public func createTopic(_ name: String, partitions: Int32) throws {
        try cluster.createTopic(name, partitions: partitions)
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
        if !cluster.isDestroyed || !host.isDestroyed {
            Task.detached {
                await runOnDedicatedThread(name: "rdkafka-mock-close") {
                    cluster.destroy()
                    host.destroy()
                }
            }
        }
    }
}
