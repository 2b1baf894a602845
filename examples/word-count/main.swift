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
        var kafkaProperties: [String: String] = [:]
        for property in properties {
            guard let equals = property.firstIndex(of: "="), equals != property.startIndex else {
                throw ValidationError("-X takes key=value, not '\(property)'")
            }
            kafkaProperties[String(property[..<equals])] = String(property[property.index(after: equals)...])
        }
        let configuration = ConsumerConfiguration(
            group: group, topics: topic,
            zookeeper: ZooKeeperConfiguration(
                connectString: zookeeper, sessionTimeout: .milliseconds(sessionTimeoutMs)
            ),
            kafka: KafkaConfiguration(bootstrapServers: bootstrapServer, properties: kafkaProperties),
            resetPolicy: policy, commitInterval: .milliseconds(commitIntervalMs), maxBatchSize: Self.maxBatchSize
        )
        do {
            // Before the consumer starts, so that its metrics are created in the served registry.
            let metrics = try await MetricsEndpoint.servingMetricsSystem(listen: metricsListen)
            let consumer = try await OffsetConsumer.start(configuration, logger: logger)
            let counts: WordCounts
            do {
                counts = try await WordCounts.load(group: group, client: consumer.zooKeeperClient)
            } catch {
                try? await consumer.close()
                throw error
            }
            let service = ConsumerService(
                consumer: consumer, stopWhenIdle: exitWhenIdleMs.map { .milliseconds($0) }, maxMessages: maxMessages
            ) { batch in
                try counts.operations(counting: batch)
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
            // The service returned normally, so the last batch's transaction was committed too.
            counts.committed()
            FileHandle.standardError.write(Data("word-count: \(counts.summary)\n".utf8))
        } catch {
            FileHandle.standardError.write(Data("word-count: error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// The counts of one group as committed in ZooKeeper, with the znode versions the next transaction is
/// conditional on, and the writes of the batch whose commit is in flight.
final class WordCounts: Sendable {
    /// The znode of a word: its count and the data version it has in ZooKeeper.
    struct Count {
        var value: Int64
        var version: Int32
    }

    /// The application's share of one transaction (offsets come on top); a batch that needs more is refused
    /// before anything is marked processed.
    static let maxOperationBytes = 512 * 1024

    private struct State {
        var committed: [String: Count]
        /// What the in-flight transaction writes. ConsumerService hands out the next batch only after the
        /// previous batch's transaction succeeded (a failed commit ends the service), so seeing the next batch
        /// (or a clean end) means these are committed; before that they must not be relied on.
        var pending: [String: Count] = [:]
        /// Messages, words and percent-encoded words of the in-flight transaction.
        var pendingTally: (messages: Int, words: Int, escaped: Int)?
        var messages = 0
        var words = 0
        var escaped = 0
        var transactions = 0

        mutating func promotePending() {
            committed.merge(pending) { _, new in new }
            pending = [:]
            if let tally = pendingTally {
                messages += tally.messages
                words += tally.words
                escaped += tally.escaped
                transactions += 1
            }
            pendingTally = nil
        }
    }

    let root: String
    private let state: Mutex<State>

    private init(root: String, counts: [String: Count]) {
        self.root = root
        self.state = Mutex(State(committed: counts))
    }

    /// Reads every count under /wordcount/<group> (creating the path), with pipelined reads.
    /// A count that is not a plain decimal is an error naming the znode; nothing is overwritten.
    static func load(group: String, client: ZooKeeperClient) async throws -> WordCounts {
        let root = "/wordcount/\(group)"
        try await client.ensurePath(root)
        let names = try await client.children(root).names
        var counts: [String: Count] = [:]
        for (name, result) in zip(names, await client.getData(names.map { "\(root)/\($0)" })) {
            let node: NodeData
            switch result {
            case .success(let data): node = data
            case .failure(let error) where error.code == .noNode: continue  // deleted meanwhile: counts from zero
            case .failure(let error): throw error
            }
            guard let text = node.string, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                let value = Int64(text)
            else {
                throw WordCountError("\(root)/\(name) holds \(node.bytes), not a plain decimal count; left as it is")
            }
            counts[name] = Count(value: value, version: node.stat.version)
        }
        return WordCounts(root: root, counts: counts)
    }

    /// The writes that add `batch`'s words to the counts: a setData conditional on the version last committed
    /// for known words (so a count moved by anyone else fails the whole transaction), a create for new words.
    func operations(counting batch: [KafkaMessage]) throws -> [ZooKeeperOperation] {
        var increments: [String: Int64] = [:]
        var words = 0
        var escaped = 0
        for message in batch {
            for word in message.value.split(whereSeparator: Self.isWhitespace) {
                let name = Self.znodeName(word)
                if name.utf8.count != word.count { escaped += 1 }
                increments[name, default: 0] += 1
                words += 1
            }
        }
        return try state.withLock { state in
            state.promotePending()
            var operations: [ZooKeeperOperation] = []
            var pending: [String: Count] = [:]
            var bytes = 0
            for (name, increment) in increments.sorted(by: { $0.key < $1.key }) {
                let path = "\(root)/\(name)"
                let operation: ZooKeeperOperation
                if let count = state.committed[name] {
                    let value = count.value + increment
                    operation = .setData(path, data: Array(String(value).utf8), version: count.version)
                    pending[name] = Count(value: value, version: count.version + 1)  // setData bumps it by one
                } else {
                    operation = .create(path, data: Array(String(increment).utf8))
                    pending[name] = Count(value: increment, version: 0)
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
            state.pending = pending
            state.pendingTally = (batch.count, words, escaped)
            return operations
        }
    }

    /// Records that the last transaction was committed (called after a clean end of the service).
    func committed() {
        state.withLock { $0.promotePending() }
    }

    var summary: String {
        state.withLock { state in
            "counted \(state.words) words in \(state.messages) messages (\(state.transactions) transactions, "
                + "\(state.escaped) words percent-encoded); \(state.committed.count) distinct words in \(root)"
        }
    }

    /// Space, tab, newline, vertical tab, form feed, carriage return.
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }

    /// A valid znode name for `word` (see the top of the file); distinct words give distinct names.
    static func znodeName(_ word: ArraySlice<UInt8>) -> String {
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
