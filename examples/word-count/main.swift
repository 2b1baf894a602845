// word-count: exactly-once word counts kept in ZooKeeper. Counts the words of every message (split on ASCII
// whitespace) and keeps each count at /wordcount/<group>/<word> as a plain decimal, written in the same ZooKeeper
// transaction as the offsets of the batch that produced it: after a crash, counts and offsets are both where the
// last committed batch left them, so no message is ever counted twice or not at all.
//
// Words become znode names byte for byte, except that '%', '/', bytes outside printable ASCII (controls, space,
// DEL, every non-ASCII UTF-8 byte) are percent-encoded (%XX, upper-case hex), and the words "." and ".." are
// written "%2E" and "%2E%2E". Decoding a name with any URL percent-decoder gives the word's bytes back.
import ArgumentParser
import Foundation
import Logging
import PrometheusEndpoint
import ServiceLifecycle
import Synchronization
import ZKOffsets

@main
struct WordCount: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "word-count",
        abstract: "Count the words of a topic's messages, exactly once, in ZooKeeper.",
        discussion: """
            Counts live at /wordcount/<group>/<word> and move in the same ZooKeeper transaction as the group's
            offsets. Kill it at any moment and restart it: the counts end up exactly as if it had never stopped.
            """
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
    @Option(
        name: .customLong("commit-interval-ms"), help: "Also commit this often (ms); every batch is committed anyway."
    )
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
        help: "Where offsets are kept: zookeeper or dual (also Kafka's group offsets; start from the greater).")
    var offsetsStorage: String = "zookeeper"
    @Option(name: .customLong("metrics-listen"), help: "Serve the consumer's metrics at http://HOST:PORT/metrics.")
    var metricsListen: String?

    /// Messages per batch. Each batch is one transaction (offsets + one write per distinct word of the batch);
    /// 500 messages of ordinary text stay far below ZooKeeper's 1 MiB request limit.
    static let maxBatchSize = 500

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel =
                ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
            return handler
        }
        let logger = Logger(label: "word-count")
        guard let policy = ResetPolicy(rawValue: reset) else {
            throw ValidationError("--reset must be earliest, latest or none, not '\(reset)'")
        }
        guard let strategy = AssignmentStrategy(name: assignmentStrategy) else {
            throw ValidationError("--assignment-strategy must be range or roundrobin, not '\(assignmentStrategy)'")
        }
        guard let storage = OffsetStorage(rawValue: offsetsStorage), storage != .kafka else {
            throw ValidationError(
                "--offsets-storage must be zookeeper or dual, not '\(offsetsStorage)': the counts commit atomically "
                    + "with the offsets only in ZooKeeper")
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
            maxBatchSize: Self.maxBatchSize, assignmentStrategy: strategy, offsetStorage: storage
        )
        do {
            // Before the consumer starts, so that its metrics are created in the served registry.
            let metrics = try await MetricsEndpoint.servingMetricsSystem(listen: metricsListen)
            // The consumer starts inside the service group: a SIGTERM while it waits (for ZooKeeper, or for a
            // crashed member's registration to expire) is a graceful stop, not the signal's death.
            let group = self.group
            let started = StartedFlag()
            let service = ConsumerService(
                starting: configuration, stopWhenIdle: exitWhenIdleMs.map { .milliseconds($0) },
                maxMessages: maxMessages, logger: logger,
                processWith: { consumer in
                    started.set()
                    let counts = try await WordCounts.prepare(group: group, client: consumer.zooKeeperClient)
                    return { batch in try await counts.operations(counting: batch, client: consumer.zooKeeperClient) }
                })
            let services = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)]
                        + (metrics.map { [.init(service: $0)] } ?? []),
                    gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger
                )
            )
            try await services.run()
            guard started.isSet else {
                FileHandle.standardError.write(Data("word-count: stopped while starting; nothing was counted\n".utf8))
                return
            }
            var summary: String?
            if let client = try? await ZooKeeperClient.connect(configuration.zookeeper, logger: logger) {
                summary = try? await WordCounts(group: group).summary(client: client)
                await client.close()
            }
            FileHandle.standardError.write(Data("word-count: \(summary ?? "counted (no summary: ZooKeeper unreachable)")\n".utf8))
        } catch {
            FileHandle.standardError.write(Data("word-count: error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// Whether the consumer started (the service ran the processing set-up): a stop during the start has no counts
/// to summarize, and ZooKeeper may be unreachable.
final class StartedFlag: Sendable {
    private let state = Mutex(false)
    func set() { state.withLock { $0 = true } }
    var isSet: Bool { state.withLock { $0 } }
}

/// The counts of one group under /wordcount/<group>: each batch reads the current counts of its words and
/// returns version-conditional writes, committed by ConsumerService with the batch's offsets in one transaction.
/// Members of a group share words: when another member moved a count first, the transaction fails as a whole and
/// ConsumerService hands the batch to `operations(counting:)` again, which reads the counts afresh.
struct WordCounts: Sendable {
    /// The application's share of one transaction (offsets come on top); a batch that needs more is refused
    /// before anything is marked processed.
    static let maxOperationBytes = 512 * 1024

    let root: String

    /// Creates /wordcount/<group>; a count that is not a plain decimal is found when a batch reads it.
    init(group: String) { root = "/wordcount/\(group)" }

    static func prepare(group: String, client: ZooKeeperClient) async throws -> WordCounts {
        let counts = WordCounts(group: group)
        try await client.ensurePath(counts.root)
        return counts
    }

    /// The writes that add `batch`'s words to the counts: a setData conditional on the version just read for
    /// known words (so a count moved by anyone else fails the whole transaction), a create for new words.
    func operations(counting batch: [KafkaMessage], client: ZooKeeperClient) async throws -> [ZooKeeperOperation] {
        var increments: [String: Int64] = [:]
        for message in batch {
            for word in message.value.split(whereSeparator: Self.isWhitespace) {
                increments[Self.znodeName(word), default: 0] += 1
            }
        }
        let names = increments.keys.sorted()
        let current = await client.getData(names.map { "\(root)/\($0)" })
        var operations: [ZooKeeperOperation] = []
        var bytes = 0
        for (name, result) in zip(names, current) {
            let path = "\(root)/\(name)"
            let increment = increments[name]!
            let operation: ZooKeeperOperation
            switch result {
            case .success(let node):
                guard let text = node.string, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                    let value = Int64(text)
                else {
                    throw WordCountError("\(path) holds \(node.bytes), not a plain decimal count; left as it is")
                }
                operation = .setData(path, data: Array(String(value + increment).utf8), version: node.stat.version)
            case .failure(let error) where error.code == .noNode:
                operation = .create(path, data: Array(String(increment).utf8))
            case .failure(let error):
                throw error
            }
            bytes += operation.estimatedRequestSize
            operations.append(operation)
        }
        guard bytes <= Self.maxOperationBytes else {
            throw WordCountError(
                "a batch of \(batch.count) messages needs \(operations.count) count updates (about \(bytes) "
                    + "bytes), more than one ZooKeeper transaction takes; nothing of it was committed"
            )
        }
        return operations
    }

    /// What /wordcount/<group> holds: distinct words and their total.
    func summary(client: ZooKeeperClient) async throws -> String {
        let names = try await client.children(root).names
        var total: Int64 = 0
        for case .success(let node) in await client.getData(names.map { "\(root)/\($0)" }) {
            total += node.string.flatMap { Int64($0) } ?? 0
        }
        return "counted: \(root) holds \(names.count) distinct words, \(total) in all"
    }

    /// Space, tab, newline, vertical tab, form feed, carriage return.
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }

    /// A valid znode name for `word` (see the top of the file); distinct words give distinct names.
    static func znodeName(_ word: some Collection<UInt8>) -> String {
        if word.elementsEqual([0x2E]) { return "%2E" }
        if word.elementsEqual([0x2E, 0x2E]) { return "%2E%2E" }
        let hex = Array("0123456789ABCDEF".utf8)
        var name: [UInt8] = []
        name.reserveCapacity(word.count)
        for byte in word {
            if byte > 0x20 && byte < 0x7F && byte != 0x2F && byte != 0x25 {
                name.append(byte)
            } else {
                name += [0x25, hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: name, as: UTF8.self)
    }
}

struct WordCountError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
