import Foundation
import Logging
import ZKOffsets

/// Row 6, operator commands: `zkoffsets import`, `reset` and `migrate` of 5,000 offsets, each the whole process
/// as an operator runs it (start, connect, read, plan, print the plan, write, exit), against the C lower bound:
/// `zk_baseline commit-multi` as a process of its own, which connects, reads the same 5,000 znodes pipelined and
/// writes them in `multi`s cut by the same transaction budget.
///
/// Every round writes values that differ from what the znodes hold, so nothing is skipped as unchanged; ours and C
/// alternate which goes first. The plan (5,000 table rows) goes to /dev/null.
struct OperatorRows {
    let context: BenchContext
    let zkoffsets: String
    let logger = Logger(label: "bench")
    let topic = "bench-ops"

    struct Line {
        let command: String
        var ours: [Double] = []
        var c: [Double] = []
    }

    func run() async throws {
        let n = context.quick ? 1_000 : 5_000
        let rounds = context.quick ? 2 : 5
        guard FileManager.default.isExecutableFile(atPath: zkoffsets) else {
            throw BenchFailure("\(zkoffsets) is not built (scripts/bench builds the release zkoffsets)")
        }
        let client = try await ZooKeeperClient.connect(
            ZooKeeperConfiguration(connectString: context.zookeeper), logger: logger)
        // A topic of n partitions holding two messages each: reset moves between its log start (0) and end (2),
        // migrate copies Kafka-stored offsets of 1 or 2.
        progress("row 6: a mock cluster with a \(n)-partition topic")
        let cluster = try MockKafkaCluster(brokers: 1, logger: logger)
        try cluster.createTopic(topic, partitions: Int32(n))
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        for partition in 0..<Int32(n) {
            for index in 0..<2 { try producer.send(topic: topic, partition: partition, value: Array("m\(index)".utf8)) }
        }
        try await producer.flush()
        await producer.close()
        let admin = try KafkaAdminClient(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        let partitions = (0..<Int32(n)).map { TopicPartition(topic: topic, partition: $0) }

        var seeds = SeedSource()
        let cRoot = "/consumers/bench-ops-c/offsets/\(topic)"
        try await createOffsetZnodes(client: client, group: "bench-ops-c", topic: topic, count: n)
        var cSeed = seeds.take(1)
        func cOnce() throws -> Double {
            let seed = cSeed
            cSeed += Int64(n)
            return try timeProcess(context.zkBaseline, [
                context.zookeeper, "commit-multi", cRoot, "\(n)", "0", "1", "\(seed)", "\(TransactionBudget.defaultMaxBytes)",
            ])
        }

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bench-ops-import-\(getpid()).csv")
        defer { try? FileManager.default.removeItem(at: file) }
        // `rounds` rounds of `command`: `prepare` (untimed) returns our arguments, then ours and C, alternating
        // which goes first.
        func measure(_ command: String, _ prepare: (Int) async throws -> [String]) async throws -> Line {
            var line = Line(command: command)
            for round in 0..<rounds {
                progress("row 6: \(command) round \(round + 1)")
                let arguments = try await prepare(round)
                let ours = { line.ours.append(try timeProcess(zkoffsets, [command] + arguments + ["--execute"])) }
                let c = { line.c.append(try cOnce()) }
                if round % 2 == 0 { try ours(); try c() } else { try c(); try ours() }
            }
            return line
        }
        var lines: [Line] = []

        // import: a file of n offsets into a group that has them all (the re-import an operator does).
        try await createOffsetZnodes(client: client, group: "bench-ops-import", topic: topic, count: n)
        var importSeed = seeds.take(1)
        lines.append(
            try await measure("import") { _ in
                let base = importSeed
                importSeed += Int64(n)
                let text = (0..<n).map { "bench-ops-import,\(topic),\($0),\(base + Int64($0))\n" }.joined()
                try Data(text.utf8).write(to: file)
                return ["--zookeeper", context.zookeeper, "--file", file.path]
            })

        // reset: between the log start and the log end, every partition moves each round.
        try await createOffsetZnodes(client: client, group: "bench-ops-reset", topic: topic, count: n)
        lines.append(
            try await measure("reset") { round in
                [
                    "--zookeeper", context.zookeeper, "--bootstrap-server", cluster.bootstrapServers,
                    "--group", "bench-ops-reset", "--topic", topic, round % 2 == 0 ? "--to-latest" : "--to-earliest",
                ]
            })

        // migrate: Kafka-stored offsets (1 or 2, alternating, committed untimed) to the group's znodes.
        try await createOffsetZnodes(client: client, group: "bench-ops-migrate", topic: topic, count: n)
        lines.append(
            try await measure("migrate") { round in
                let value = Int64(1 + round % 2)
                try await admin.commitOffsets(
                    group: "bench-ops-migrate",
                    offsets: Dictionary(uniqueKeysWithValues: partitions.map { ($0, value) }), timeout: .seconds(30))
                return [
                    "--zookeeper", context.zookeeper, "--bootstrap-server", cluster.bootstrapServers,
                    "--group", "bench-ops-migrate", "--topic", topic, "--from", "kafka", "--to", "zookeeper",
                ]
            })
        await admin.close()
        await cluster.close()
        await client.close()

        func list(_ values: [Double]) -> String { values.map { ms($0) }.joined(separator: ", ") }
        emit("### 6. Operator commands: \(n) offsets, whole process (ms; \(rounds) rounds, ours and C alternating)")
        emit()
        emit("| command | ours: `zkoffsets ... --execute`, median (every round) | C: `zk_baseline commit-multi` (connect, \(n) pipelined `zoo_aget`, `zoo_multi`), median (every round) | ours / C |")
        emit("|---|---:|---:|---:|")
        for line in lines {
            let ours = median(line.ours), c = median(line.c)
            emit("| \(line.command) | \(ms(ours)) (\(list(line.ours))) | \(ms(c)) (\(list(line.c))) | \(String(format: "%.2f", ours / c)) |")
        }
        emit()
        let worst = lines.map { median($0.ours) / median($0.c) }.max() ?? .nan
        emit("Target: each within 1.5x of C: worst \(String(format: "%.2f", worst))x (\(verdict(worst <= 1.5))). "
            + "reset and migrate also ask the brokers (metadata, watermarks or committed offsets); the C program does not.")
        emit()
    }

    /// Runs a program to completion, stdout to /dev/null; its wall time from launch to exit, in microseconds.
    private func timeProcess(_ executable: String, _ arguments: [String]) throws -> Double {
        let start = ContinuousClock.now
        let process = try startProcess(executable, arguments)
        process.waitUntilExit()
        let elapsed = (ContinuousClock.now - start).microseconds
        guard process.terminationStatus == 0 else {
            throw BenchFailure("\(executable) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
        return elapsed
    }
}
