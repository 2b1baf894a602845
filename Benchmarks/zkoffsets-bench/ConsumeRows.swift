import Foundation
import Logging
import ZKOffsets

/// Row 3: consuming, ours against the plain librdkafka C consumer and kcat, on one broker and on three.
extension KafkaRows {
    /// One consumer run's figures, from its key=value output.
    struct ConsumeRun {
        let rate: Double
        let rssMB: Double
        /// RssAnon at the end of the run: heap and stacks, without the pages of the program and its libraries.
        let anonMB: Double
        let firstMs: Double
        let messages: Int
        /// CPU microseconds per message, the whole process (start-up included).
        let cpuPerMessage: Double

        init(_ values: [String: String]) throws {
            guard let rate = values["rate"].flatMap(Double.init), let rss = values["maxrss_kb"].flatMap(Double.init),
                let messages = values["messages"].flatMap(Int.init)
            else { throw BenchFailure("unexpected consumer output: \(values)") }
            self.rate = rate
            self.rssMB = rss / 1024
            self.anonMB = (values["anon_kb"].flatMap(Double.init) ?? .nan) / 1024
            self.firstMs = values["first_ms"].flatMap(Double.init) ?? .nan
            self.messages = messages
            self.cpuPerMessage = (values["cpu_s"].flatMap(Double.init) ?? .nan) * 1e6 / Double(max(1, messages))
        }
    }

    /// A consumer compared in a table: its name and how to run it once (a separate process each time).
    struct Contender {
        let name: String
        let run: () async throws -> ConsumeRun
    }

    /// Runs every contender `rounds` times, the order rotating each round so that none always runs first.
    func compare(_ contenders: [Contender], rounds: Int, label: String) async throws -> [[ConsumeRun]] {
        var results = Array(repeating: [ConsumeRun](), count: contenders.count)
        for round in 0..<rounds {
            progress("\(label), round \(round + 1) of \(rounds)")
            for offset in 0..<contenders.count {
                let index = (round + offset) % contenders.count
                results[index].append(try await contenders[index].run())
            }
        }
        return results
    }

    /// The table of a comparison: medians, then every round.
    func emitTable(_ contenders: [Contender], _ results: [[ConsumeRun]]) {
        emit("| consumer | messages/s (median) | peak RSS MB (median) | of it heap and stacks at the end, MB (RssAnon) | CPU per message (us) | first message (ms) |")
        emit("|---|---:|---:|---:|---:|---:|")
        for (contender, runs) in zip(contenders, results) {
            emit("| \(contender.name) | \(rate(median(runs.map(\.rate)))) | \(String(format: "%.0f", median(runs.map(\.rssMB)))) | \(String(format: "%.1f", median(runs.map(\.anonMB)))) | \(String(format: "%.2f", median(runs.map(\.cpuPerMessage)))) | \(String(format: "%.0f", median(runs.map(\.firstMs)))) |")
        }
        emit()
        emit("Every round (messages/s, peak RSS MB; runs capped at 20 s say how many messages they read):")
        emit()
        let all = results.flatMap { $0 }.map(\.messages).max() ?? 0
        for (contender, runs) in zip(contenders, results) {
            emit("- \(contender.name): \(runs.map { "\(rate($0.rate)) \(String(format: "%.0f", $0.rssMB))\($0.messages < all ? " (\($0.messages) read)" : "")" }.joined(separator: "; "))")
        }
        emit()
    }

    /// Every round within 25% of the median rate (no one-second stalls).
    func steady(_ runs: [ConsumeRun]) -> Bool {
        let middle = median(runs.map(\.rate))
        return runs.allSatisfy { abs($0.rate - middle) <= 0.25 * middle }
    }

    func ours(_ cluster: MockKafkaCluster, topic: String, group: String, expected: Int, properties: [String] = [], lower: Bool = false) async throws -> ConsumeRun {
        try await resetGroups([group])
        let run = try ConsumeRun(keyValues(try await runProgramDetached(selfPath, [
            "consume-ours", "--bootstrap", cluster.bootstrapServers, "--zookeeper", context.zookeeper,
            "--group", group, "--topic", topic, "--expected", "\(expected)", "--partitions", "48",
        ] + (lower ? ["--lower"] : []) + properties.flatMap { ["--property", $0] })))
        if !lower { try await checkCommitted(group: group, topic: topic, partitions: 48, expected: expected) }
        return run
    }

    func plainC(_ cluster: MockKafkaCluster, topic: String, expected: Int, properties: [String]) async throws -> ConsumeRun {
        // Capped at 20 s: with the library's small read-ahead and no fetch waker, librdkafka crawls (tens of
        // thousands of messages a second); the rate of what was read is the figure.
        try ConsumeRun(keyValues(try await runProgramDetached(
            context.kafkaBaseline, [cluster.bootstrapServers, topic, "48", "\(expected)"] + properties,
            environment: ["BENCH_MAX_SECONDS": "20"])))
    }

    func consumeRows(_ single: MockKafkaCluster) async throws {
        let partitions: Int32 = 48
        let total = context.quick ? 500_000 : 2_000_000
        let threeTotal = context.quick ? 300_000 : 1_000_000
        let rounds = context.quick ? 2 : 5
        try await produce(single, topic: "bench-consume", partitions: partitions, count: total)
        let three = try MockKafkaCluster(brokers: 3, logger: logger)
        defer { Task { await three.close() } }
        try await produce(three, topic: "bench-three", partitions: partitions, count: threeTotal)

        // The same settings for all but one: the library's consumer defaults, spelled out for the C consumer.
        let settings = KafkaPartitionConsumer.defaultProperties.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        func contenders(_ cluster: MockKafkaCluster, topic: String, expected: Int, lowerLayer: Bool) -> [Contender] {
            var list = [
                Contender(name: "ours: `OffsetConsumer` with the library defaults, ZooKeeper commit every 1 s") {
                    try await ours(cluster, topic: topic, group: "bench-\(topic)-\(UUID().uuidString.prefix(8))", expected: expected)
                },
                Contender(name: "plain librdkafka C consumer, the same settings") {
                    try await plainC(cluster, topic: topic, expected: expected, properties: settings)
                },
                Contender(name: "plain librdkafka C consumer, librdkafka's own defaults") {
                    try await plainC(cluster, topic: topic, expected: expected, properties: [])
                },
            ]
            if lowerLayer {
                list.insert(Contender(name: "ours, lower layer: RdKafka `KafkaPartitionConsumer.nextBatch` alone") {
                    try await ours(cluster, topic: topic, group: "unused", expected: expected, lower: true)
                }, at: 1)
            }
            return list
        }

        let one = contenders(single, topic: "bench-consume", expected: total, lowerLayer: true)
        let oneResults = try await compare(one, rounds: rounds, label: "row 3: consume \(total) messages, one broker")
        let threeContenders = contenders(three, topic: "bench-three", expected: threeTotal, lowerLayer: false)
        let threeResults = try await compare(threeContenders, rounds: rounds, label: "row 3: consume \(threeTotal) messages, three brokers")
        let (printing, printingRuns) = try await printComparison(single, topic: "bench-consume", expected: total, rounds: rounds)

        emit("### 3. Consume 100-byte messages, 48 partitions, mock cluster (\(rounds) rounds, each run a separate process)")
        emit()
        emit("The library's defaults: \(settings.map { "`\($0)`" }.joined(separator: ", ")). Messages/s count from the moment 5% of the messages were read to the last one (the mock cluster takes up to ~0.5 s to build its first fetch responses, identically for all). Peak RSS is the process's `VmHWM`; CPU per message is user + system time of the whole process over the messages.")
        emit()
        emit("#### One broker, \(total) messages")
        emit()
        emitTable(one, oneResults)
        emit("#### Three brokers, \(threeTotal) messages")
        emit()
        emitTable(threeContenders, threeResults)
        emit("#### Whole process, printing every message to /dev/null, one broker, \(total) messages, from the log start")
        emit()
        emit("| program | seconds (median) | messages/s | peak RSS MB (median) | CPU s (median) |")
        emit("|---|---:|---:|---:|---:|")
        for (name, runs) in zip(printing, printingRuns) {
            let seconds = median(runs.map(\.seconds))
            emit("| \(name) | \(String(format: "%.2f", seconds)) | \(rate(Double(total) / seconds)) | \(String(format: "%.0f", median(runs.map(\.rssMB)))) | \(String(format: "%.2f", median(runs.map(\.cpu)))) |")
        }
        emit()
        for (name, runs) in zip(printing, printingRuns) {
            emit("- \(name), every round (s, MB): \(runs.map { String(format: "%.2f %.0f", $0.seconds, $0.rssMB) }.joined(separator: "; "))")
        }
        emit()

        let ours1 = oneResults[0], c1 = oneResults[2], ours3 = threeResults[0], c3 = threeResults[1]
        let print = printingRuns[0], kcat = printingRuns[1]
        emit("Targets:")
        emit()
        emit("- one broker, ours >= 100% of the C consumer with the same settings: \(String(format: "%.0f%%", median(ours1.map(\.rate)) / median(c1.map(\.rate)) * 100)) (\(verdict(median(ours1.map(\.rate)) >= median(c1.map(\.rate))))); three brokers: \(String(format: "%.0f%%", median(ours3.map(\.rate)) / median(c3.map(\.rate)) * 100)) (\(verdict(median(ours3.map(\.rate)) >= median(c3.map(\.rate)))))")
        emit("- every round of ours within 25% of its median: one broker \(verdict(steady(ours1))), three brokers \(verdict(steady(ours3)))")
        emit("- peak RSS <= 1.2x the C consumer's with the same settings: one broker \(String(format: "%.2fx", median(ours1.map(\.rssMB)) / median(c1.map(\.rssMB)))) (\(verdict(median(ours1.map(\.rssMB)) <= 1.2 * median(c1.map(\.rssMB))))), three brokers \(String(format: "%.2fx", median(ours3.map(\.rssMB)) / median(c3.map(\.rssMB)))) (\(verdict(median(ours3.map(\.rssMB)) <= 1.2 * median(c3.map(\.rssMB)))))")
        func ratio(_ ours: [ConsumeRun], _ c: [ConsumeRun], _ value: KeyPath<ConsumeRun, Double>) -> String {
            String(format: "%.2fx", median(ours.map { $0[keyPath: value] }) / median(c.map { $0[keyPath: value] }))
        }
        emit("  Of that, heap and stacks (RssAnon at the end): one broker \(ratio(ours1, c1, \.anonMB)), three brokers \(ratio(ours3, c3, \.anonMB)); the rest are pages of the programs and their libraries (see \"Where the memory goes\" in BENCHMARKS.md).")
        emit("- library defaults, three brokers, every round >= 1.5 M msgs/s: \(verdict(ours3.allSatisfy { $0.rate >= 1_500_000 })) (slowest \(rate(ours3.map(\.rate).min() ?? 0))); every round <= 40 MB: \(verdict(ours3.allSatisfy { $0.rssMB <= 40 })) (largest \(String(format: "%.0f", ours3.map(\.rssMB).max() ?? 0)) MB)")
        emit("- print-consumer at least as fast as kcat: \(verdict(median(print.map(\.seconds)) <= median(kcat.map(\.seconds)))); in less memory: \(verdict(median(print.map(\.rssMB)) < median(kcat.map(\.rssMB))))")
        emit()
        try await restartRow(single, total: total, partitions: partitions)
    }

    /// One whole-process run measured by /usr/bin/time.
    struct ProcessRun {
        let seconds: Double
        let rssMB: Double
        let cpu: Double
    }

    /// print-consumer against kcat, both printing `topic partition offset value` lines to /dev/null.
    func printComparison(_ cluster: MockKafkaCluster, topic: String, expected: Int, rounds: Int) async throws -> ([String], [[ProcessRun]]) {
        let printConsumer = URL(fileURLWithPath: selfPath).deletingLastPathComponent().appendingPathComponent("print-consumer").path
        let programs: [(String, () -> [String])] = [
            ("`print-consumer` (ZooKeeper commit after every batch)", {
                [printConsumer, "--zookeeper", context.zookeeper, "--bootstrap-server", cluster.bootstrapServers,
                 "--group", "bench-print-\(UUID().uuidString.prefix(8))", "--topic", topic, "--max-messages", "\(expected)"]
            }),
            ("`kcat -C -e -f '%t %p %o %s\\n'`", {
                ["/usr/bin/kcat", "-C", "-b", cluster.bootstrapServers, "-t", topic, "-o", "beginning", "-e", "-q",
                 "-f", "%t %p %o %s\\n"]
            }),
        ]
        var results = Array(repeating: [ProcessRun](), count: programs.count)
        for round in 0..<rounds {
            progress("row 3: print-consumer and kcat, round \(round + 1) of \(rounds)")
            for offset in 0..<programs.count {
                let index = (round + offset) % programs.count
                let command = programs[index].1()
                // /usr/bin/time forks the program from its own small image, so %M is the program's own peak.
                let lines = try await runProgramDetached("/bin/bash", [
                    "-c", "t=$(mktemp) && /usr/bin/time -f 'wall=%e maxrss_kb=%M user=%U sys=%S' -o \"$t\" \"$@\" > /dev/null && cat \"$t\"; rm -f \"$t\"", "bench",
                ] + command)
                let values = keyValues(lines.flatMap { $0.split(separator: " ").map(String.init) })
                guard let wall = values["wall"].flatMap(Double.init), let rss = values["maxrss_kb"].flatMap(Double.init),
                    let user = values["user"].flatMap(Double.init), let sys = values["sys"].flatMap(Double.init)
                else { throw BenchFailure("unexpected /usr/bin/time output: \(lines)") }
                results[index].append(ProcessRun(seconds: wall, rssMB: rss / 1024, cpu: user + sys))
            }
        }
        return (programs.map(\.0), results)
    }

    /// Restart to first message: offsets stored half way through each partition, a new process each time.
    func restartRow(_ cluster: MockKafkaCluster, total: Int, partitions: Int32) async throws {
        let restartGroup = "bench-restart-kafka"
        try await resetGroups([restartGroup])
        let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: context.zookeeper), logger: logger)
        let store = try ZooKeeperOffsetStore(client: client, group: restartGroup, logger: logger)
        let perPartition = Int64(total / Int(partitions))
        try await store.commit(Dictionary(uniqueKeysWithValues: (0..<partitions).map {
            (TopicPartition(topic: "bench-consume", partition: $0), perPartition / 2)
        }))
        await client.close()
        var restarts: [(start: Double, first: Double)] = []
        for round in 0..<(context.quick ? 3 : 7) {
            progress("row 3: restart to first message, round \(round + 1)")
            let values = keyValues(try await runProgramDetached(selfPath, [
                "restart-ours", "--bootstrap", cluster.bootstrapServers, "--zookeeper", context.zookeeper,
                "--group", restartGroup, "--topic", "bench-consume", "--expected-offset", "\(perPartition / 2)",
            ]))
            guard let start = values["start_ms"].flatMap(Double.init), let first = values["first_ms"].flatMap(Double.init) else {
                throw BenchFailure("unexpected restart-ours output: \(values)")
            }
            restarts.append((start, first))
        }
        let first = median(restarts.map(\.first))
        emit("#### Restart to first message")
        emit()
        emit("Offsets stored half way through each of \(partitions) partitions; a new process runs `OffsetConsumer.start` (ZooKeeper session, metadata, offsets read, watermarks, assign) and waits for the first batch, checked to start at the stored offset: median \(String(format: "%.0f", first)) ms (target < 200 ms: \(verdict(first < 200))), of which `start` \(String(format: "%.0f", median(restarts.map(\.start)))) ms. Every round: \(restarts.map { String(format: "%.0f", $0.first) }.joined(separator: ", ")) ms.")
        emit()
    }
}
