import ArgumentParser
import Foundation
import ZKOffsets
import ZKOffsetsTool

/// `zkoffsets sandbox`: a local ZooKeeper and an embedded Kafka to try things on.
struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Start a local ZooKeeper and an embedded mock Kafka cluster; run until Ctrl-C.",
        discussion: """
            ZooKeeper is Debian's server on 127.0.0.1 with a temporary data directory; Kafka is librdkafka's mock
            cluster, reachable over TCP by any Kafka client (kcat too). Both are removed on exit.
            """
    )

    @Option(name: .customLong("topic"), help: "A topic to create, NAME:PARTITIONS (repeatable).")
    var topics: [String] = []

    @Option(help: "Number of mock brokers.")
    var brokers: Int = 1

    @Option(name: .customLong("env-file"), help: "Also write ZK_CONNECT=... and KAFKA_BOOTSTRAP=... to this file.")
    var envFile: String?

    func run() async throws {
        let logger = CommandLogging.logger("sandbox")
        let specs = try topics.map(TopicSpec.init)
        let zooKeeper: LocalZooKeeper
        let kafka: MockKafkaCluster
        do {
            zooKeeper = try await LocalZooKeeper.start(logger: logger)
            do {
                kafka = try MockKafkaCluster(brokers: brokers, logger: logger)
                for spec in specs { try kafka.createTopic(spec.name, partitions: spec.partitions) }
            } catch {
                zooKeeper.stop()
                throw error
            }
        } catch {
            printError("sandbox: \(error)")
            throw ExitCode(2)
        }
        output("ZooKeeper: \(zooKeeper.connectString)")
        output("Kafka:     \(kafka.bootstrapServers)")
        for spec in specs { output("Topic:     \(spec.name) (\(spec.partitions) partitions)") }
        output("Ready. Ctrl-C to stop.")
        if let envFile {
            try "ZK_CONNECT=\(zooKeeper.connectString)\nKAFKA_BOOTSTRAP=\(kafka.bootstrapServers)\n"
                .write(toFile: envFile, atomically: true, encoding: .utf8)
        }
        await Signals.waitForTermination()
        output("Stopping.")
        await kafka.close()
        zooKeeper.stop()
        if let envFile { try? FileManager.default.removeItem(atPath: envFile) }
    }
}

/// `NAME:PARTITIONS`.
struct TopicSpec {
    var name: String
    var partitions: Int32

    init(_ text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { throw ValidationError("--topic takes NAME:PARTITIONS, not '\(text)'") }
        name = String(parts[0])
        do {
            try OffsetLayout.validateTopic(name)
        } catch {
            throw ValidationError(error.message)
        }
        if parts.count == 2 {
            guard let count = Int32(parts[1]), count > 0 else {
                throw ValidationError("'\(parts[1])' is not a partition count in --topic '\(text)'")
            }
            partitions = count
        } else {
            partitions = 1
        }
    }
}

/// Writes a line to stdout at once (unbuffered: scripts and pipes see it immediately).
func output(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Writes a line to stderr.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
