import ArgumentParser
import Foundation
import Logging
import ZKOffsets

/// A mock cluster filled with the consume row's data, kept up for experiments with single consumers
/// (`consume-ours`, the C baseline, kcat) without producing again for every run.
struct ServeMock: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve-mock",
        abstract: "Start a mock cluster, produce 100-byte messages, print the bootstrap servers, run until killed.")

    @Option var brokers: Int = 1
    @Option var topic: String = "bench-consume"
    @Option var partitions: Int32 = 48
    @Option var messages: Int = 2_000_000

    func run() async throws {
        Bench.bootstrapLogging()
        let cluster = try MockKafkaCluster(brokers: brokers, logger: Logger(label: "bench"))
        let rows = KafkaRows(
            context: BenchContext(zookeeper: "", baselines: URL(fileURLWithPath: "/"), python: "", quick: false),
            consume: false, load: false)
        try await rows.produce(cluster, topic: topic, partitions: partitions, count: messages)
        FileHandle.standardOutput.write(Data((cluster.bootstrapServers + "\n").utf8))
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}
