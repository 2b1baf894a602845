import ArgumentParser
import Foundation
import Logging

/// The benchmarks of BENCHMARKS.md, run by `scripts/bench` (never by the tests or CI).
///
/// `run` measures rows and prints them as markdown on stdout (progress on stderr); `consume-ours` and
/// `restart-ours` are child processes of `run`, so that each measurement has its own peak RSS.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zkoffsets-bench",
        abstract: "zkoffsets benchmarks side by side with their baselines (see BENCHMARKS.md).",
        subcommands: [Run.self, ConsumeOurs.self, RestartOurs.self, ServeMock.self],
        defaultSubcommand: Run.self
    )

    static func bootstrapLogging() {
        // stdout carries the markdown; library logs go to stderr, warnings and up only.
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["BENCH_LOG_LEVEL"]
                .flatMap(Logger.Level.init(rawValue:)) ?? .warning
            return handler
        }
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run benchmark rows and print markdown tables.")

    @Option(help: "ZooKeeper connect string (a server with forceSync=yes for quotable figures).")
    var zookeeper: String

    @Option(help: "Directory with the built C baselines (zk_baseline, kafka_consumer) and kazoo_commit.py.")
    var baselines: String

    @Option(help: "Python with kazoo.")
    var python: String = "/usr/bin/python3"

    @Option(
        help: "Rows to run, comma-separated (1 commit, 2 restart read, 3 consume, 4 ZooKeeper load, 5 groups, 6 operator commands).")
    var rows: String = "1,2,3,4,5,6"

    @Option(help: "The print-consumer executable (row 5's departing member).")
    var printConsumer: String?

    @Option(help: "The release zkoffsets executable (row 6).")
    var zkoffsets: String?

    @Flag(help: "Fewer repetitions and smaller sizes (a smoke run, not for quoting).")
    var quick = false

    func run() async throws {
        Bench.bootstrapLogging()
        let selected = Set(rows.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) })
        let context = BenchContext(
            zookeeper: zookeeper, baselines: URL(fileURLWithPath: baselines), python: python, quick: quick)
        if selected.contains(1) { try await CommitRow(context: context).run() }
        if selected.contains(2) { try await RestartReadRow(context: context).run() }
        if selected.contains(3) || selected.contains(4) {
            try await KafkaRows(context: context, consume: selected.contains(3), load: selected.contains(4)).run()
        }
        if selected.contains(5) {
            let sibling = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
                .appendingPathComponent("print-consumer").path
            try await GroupRows(context: context, printConsumer: printConsumer ?? sibling).run()
        }
        if selected.contains(6) {
            let sibling = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
                .appendingPathComponent("zkoffsets").path
            try await OperatorRows(context: context, zkoffsets: zkoffsets ?? sibling).run()
        }
    }
}

/// What every row needs.
struct BenchContext: Sendable {
    let zookeeper: String
    let baselines: URL
    let python: String
    let quick: Bool

    var zkBaseline: String { baselines.appendingPathComponent("zk_baseline").path }
    var kafkaBaseline: String { baselines.appendingPathComponent("kafka_consumer").path }
    var kazooScript: String { baselines.appendingPathComponent("kazoo_commit.py").path }
}
