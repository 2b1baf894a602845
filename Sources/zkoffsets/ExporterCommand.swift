import ArgumentParser
import Foundation
import Prometheus
import PrometheusEndpoint
import Synchronization
import ZKOffsets
import ZKOffsetsTool

/// `zkoffsets exporter`: a Prometheus exporter of ZooKeeper-stored groups' offsets and lag, with
/// danielqsj/kafka_exporter's metric names so that its dashboards work.
struct ExporterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exporter",
        abstract: "Serve the groups' offsets and lag at http://HOST:PORT/metrics (Prometheus).",
        discussion: """
            Every --interval seconds it reads every group under /consumers (or the --group ones) from ZooKeeper and
            the log offsets of every topic from the brokers; a scrape gets the last collection. Metrics:
            kafka_consumergroup_current_offset, kafka_consumergroup_lag, kafka_consumergroupzookeeper_lag_zookeeper
            {consumergroup,topic,partition}; kafka_consumergroup_current_offset_sum, kafka_consumergroup_lag_sum
            {consumergroup,topic}; kafka_consumergroup_members{consumergroup}; kafka_topic_partitions{topic};
            kafka_topic_partition_current_offset, kafka_topic_partition_oldest_offset{topic,partition};
            zkoffsets_consumergroup_last_commit_age_seconds{consumergroup,topic,partition}; and
            zkoffsets_up{source="zookeeper"|"kafka"}, 0 while that source cannot be read (the exporter keeps serving
            and reconnects). Runs until SIGINT or SIGTERM.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(help: ArgumentHelp("Where to serve /metrics.", valueName: "host:port"))
    var listen: String

    @Option(help: ArgumentHelp("Seconds between collections.", valueName: "seconds"))
    var interval: Int = 15

    @Option(help: "Only this group (repeatable).")
    var group: [String] = []

    func validate() throws {
        guard interval > 0 else { throw ValidationError("--interval must be at least 1 second") }
        do {
            _ = try MetricsEndpoint.parse(listen: listen)
        } catch {
            throw ValidationError("--listen: \(error)")
        }
    }

    func run() async throws {
        let code = await serve()
        if code != 0 { throw ExitCode(code) }
    }

    private func serve() async -> Int32 {
        let collector: LagCollector
        let endpoint: MetricsEndpoint
        let latest = LatestExposition()
        do {
            guard let zooKeeper = connection.zooKeeperConnect else {
                throw ValidationError("no ZooKeeper given: pass --zookeeper HOST:PORT or set ZK_CONNECT")
            }
            guard let bootstrap = connection.kafkaBootstrap else {
                throw ValidationError(
                    "exporter needs the brokers: pass --bootstrap-server HOST:PORT or set KAFKA_BOOTSTRAP")
            }
            collector = try LagCollector(
                zooKeeper: connection.zooKeeperConfiguration(connect: zooKeeper),
                kafka: KafkaConfiguration(
                    bootstrapServers: bootstrap,
                    properties: try KafkaConfiguration.properties(fromArguments: connection.properties)),
                groups: group.isEmpty ? nil : group, timeout: connection.timeoutDuration,
                logger: CommandLogging.logger("exporter"))
            do {
                endpoint = try await MetricsEndpoint.bind(listen: listen) { latest.bytes }
            } catch {
                await collector.close()
                throw CommandFailure(code: 2, "cannot listen on \(listen): \(error)")
            }
        } catch {
            return connection.report(error)
        }
        output("Serving http://\(endpoint.address)/metrics (every \(interval)s; Ctrl-C to stop)")
        let interval = Duration.seconds(self.interval)
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                while !Task.isCancelled {
                    let started = ContinuousClock.now
                    latest.bytes = Self.exposition(await collector.collect().samples)
                    try? await Task.sleep(until: started + interval)
                }
            }
            tasks.addTask { try? await endpoint.run() }
            await Signals.waitForTermination()
            tasks.cancelAll()
        }
        // After the collection loop ended: the Kafka client must not be destroyed under a call in flight, so a
        // shutdown during a collection waits for it (at most --timeout).
        await endpoint.close()
        await collector.close()
        return 0
    }

    /// The samples in the Prometheus text format, through a registry made for this collection only: a group or
    /// partition gone since the last collection disappears from the output instead of keeping its last value.
    static func exposition(_ samples: [MetricSample]) -> [UInt8] {
        let registry = PrometheusCollectorRegistry()
        for sample in samples {
            let descriptor = MetricNameDescriptor(metricName: sample.name, unitName: "", helpText: sample.help)
            registry.makeGauge(descriptor: descriptor, labels: sample.labels).set(sample.value)
        }
        return registry.emitToBuffer()
    }
}

/// The exposition of the last collection, read by every scrape; nil until the first collection finished.
final class LatestExposition: Sendable {
    private let value = Mutex<[UInt8]?>(nil)

    var bytes: [UInt8]? {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}
