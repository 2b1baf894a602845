// print-consumer: the seed's demo program. Prints every message as `topic partition offset value`, commits the
// offsets to ZooKeeper after each batch, and resumes exactly there after a restart.
import ArgumentParser
import Foundation
import Logging
import PrometheusEndpoint
import ServiceLifecycle
import ZKOffsets

@main
struct PrintConsumer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "print-consumer",
        abstract: "Print a topic's messages, keeping the group's offsets in ZooKeeper."
    )

    @Option(help: "ZooKeeper connect string: host:port[,host:port...][/chroot].")
    var zookeeper: String
    @Option(name: .customLong("bootstrap-server"), help: "Kafka bootstrap servers: host:port[,host:port...].")
    var bootstrapServer: String
    @Option(help: "The consumer group.")
    var group: String
    @Option(help: "A topic to consume (repeat for several).")
    var topic: [String]
    @Option(help: "Where partitions without an offset start: earliest, latest or none.")
    var reset: String = "earliest"
    @Option(name: .customLong("commit-interval-ms"), help: "Also commit this often (ms); every batch is committed anyway.")
    var commitIntervalMs: Int = 1000
    @Option(name: .customShort("X"), help: "A librdkafka property, key=value (repeatable).")
    var properties: [String] = []
    @Option(name: .customLong("max-messages"), help: "Stop after this many messages.")
    var maxMessages: Int?
    @Option(name: .customLong("exit-when-idle-ms"), help: "Stop after this long without a message (ms).")
    var exitWhenIdleMs: Int?
    @Option(
        name: .customLong("session-timeout-ms"),
        help: "ZooKeeper session timeout (ms); after a crash, a restart waits up to this long for the old owner."
    )
    var sessionTimeoutMs: Int = 10_000
    @Option(
        name: .customLong("assignment-strategy"),
        help: "How members of the group share partitions: range (Kafka's default) or roundrobin.")
    var assignmentStrategy: String = "range"
    @Option(
        name: .customLong("offsets-storage"),
        help: "Where offsets are kept: zookeeper, dual (both; start from the greater) or kafka (group offsets).")
    var offsetsStorage: String = "zookeeper"
    @Option(
        name: .customLong("metadata-refresh-ms"),
        help: "Look for new partitions, and for deleted topics (the consumer then exits 1), this often (ms).")
    var metadataRefreshMs: Int = 30_000
    @Option(name: .customLong("metrics-listen"), help: "Serve the consumer's metrics at http://HOST:PORT/metrics.")
    var metricsListen: String?

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
            return handler
        }
        let logger = Logger(label: "print-consumer")
        guard let policy = ResetPolicy(rawValue: reset) else {
            throw ValidationError("--reset must be earliest, latest or none, not '\(reset)'")
        }
        guard let strategy = AssignmentStrategy(name: assignmentStrategy) else {
            throw ValidationError("--assignment-strategy must be range or roundrobin, not '\(assignmentStrategy)'")
        }
        guard let storage = OffsetStorage(rawValue: offsetsStorage) else {
            throw ValidationError("--offsets-storage must be zookeeper, dual or kafka, not '\(offsetsStorage)'")
        }
        let kafkaProperties: [String: String]
        do {
            kafkaProperties = try KafkaConfiguration.properties(fromArguments: properties)
        } catch let error as KafkaError {
            throw ValidationError(error.message)
        }
        let configuration = ConsumerConfiguration(
            group: group, topics: topic,
            zookeeper: ZooKeeperConfiguration(
                connectString: zookeeper, sessionTimeout: .milliseconds(sessionTimeoutMs)
            ),
            kafka: KafkaConfiguration(bootstrapServers: bootstrapServer, properties: kafkaProperties),
            resetPolicy: policy, commitInterval: .milliseconds(commitIntervalMs),
            metadataRefreshInterval: .milliseconds(metadataRefreshMs),
            assignmentStrategy: strategy, offsetStorage: storage
        )
        do {
            // Before the consumer starts, so that its metrics are created in the served registry.
            let metrics = try await MetricsEndpoint.servingMetricsSystem(listen: metricsListen)
            // Started inside the service group, so that a SIGTERM during the start is a clean stop.
            let service = ConsumerService(
                starting: configuration, stopWhenIdle: exitWhenIdleMs.map { .milliseconds($0) },
                maxMessages: maxMessages, logger: logger
            ) { batch in
                // Bytes, not String interpolation: printing is most of this program's work per message.
                var text: [UInt8] = []
                text.reserveCapacity(batch.reduce(0) { $0 + $1.value.count + $1.topic.utf8.count + 24 })
                for message in batch {
                    text += message.topic.utf8
                    text.append(UInt8(ascii: " "))
                    appendDecimal(Int64(message.partition), to: &text)
                    text.append(UInt8(ascii: " "))
                    appendDecimal(message.offset, to: &text)
                    text.append(UInt8(ascii: " "))
                    text += message.value
                    text.append(UInt8(ascii: "\n"))
                }
                // Written out before the batch is committed: a line is never lost to a crash after its commit.
                FileHandle.standardOutput.write(Data(text))
                return []
            }
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)]
                        + (metrics.map { [.init(service: $0)] } ?? []),
                    gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger
                )
            )
            try await group.run()
        } catch {
            FileHandle.standardError.write(Data("print-consumer: error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// Appends `value` in decimal.
private func appendDecimal(_ value: Int64, to text: inout [UInt8]) {
    if value < 0 { text.append(UInt8(ascii: "-")) }
    var magnitude = value.magnitude
    var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                 UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var count = 0
    withUnsafeMutableBytes(of: &digits) { buffer in
        repeat {
            buffer[19 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
            count += 1
        } while magnitude > 0
        text.append(contentsOf: buffer[(20 - count)...])
    }
}
