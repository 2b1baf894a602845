import ArgumentParser
import Dispatch
import Foundation
import Logging
import ZKOffsets

/// Runs a program off Swift's cooperative pool (so concurrent tasks, such as a producer, keep running).
func runProgramDetached(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil
) async throws -> [String] {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try runProgram(executable, arguments, environment: environment) })
        }
    }
}

/// The transaction id the server is at (`srvr`'s Zxid): every committed transaction adds one.
func serverZxid(_ connectString: String) throws -> Int64 {
    let hostPort = connectString.split(separator: ",")[0].split(separator: "/")[0]
    let parts = hostPort.split(separator: ":")
    let host = parts[0], port = parts.count > 1 ? String(parts[1]) : "2181"
    let lines = try runProgram("/bin/bash", [
        "-c", "exec 3<>\"/dev/tcp/$0/$1\" && printf srvr >&3 && timeout 3 cat <&3", String(host), port,
    ])
    guard let line = lines.first(where: { $0.hasPrefix("Zxid:") }),
        let value = Int64(line.dropFirst(5).trimmingCharacters(in: .whitespaces).dropFirst(2), radix: 16)
    else { throw BenchFailure("no Zxid in srvr: \(lines)") }
    return value
}

struct KafkaRows {
    let context: BenchContext
    let consume: Bool
    let load: Bool
    let logger = Logger(label: "bench")

    var selfPath: String { CommandLine.arguments[0].hasPrefix("/") ? CommandLine.arguments[0] : FileManager.default.currentDirectoryPath + "/" + CommandLine.arguments[0] }

    func run() async throws {
        let cluster = try MockKafkaCluster(brokers: 1, logger: logger)
        do {
            if consume { try await consumeRows(cluster) }
            if load { try await loadRow(cluster) }
        } catch {
            await cluster.close()
            throw error
        }
        await cluster.close()
    }

    // MARK: Producing

    /// Produces `count` 100-byte messages round-robin over the topic's partitions and checks that the mock kept
    /// them all (log start 0, log end = what was sent).
    func produce(_ cluster: MockKafkaCluster, topic: String, partitions: Int32, count: Int) async throws {
        try cluster.createTopic(topic, partitions: partitions)
        progress("producing \(count) messages of 100 bytes to \(topic) (\(partitions) partitions)")
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, properties: [
                "linger.ms": "20", "batch.num.messages": "10000", "queue.buffering.max.messages": "2000000",
                "queue.buffering.max.kbytes": "1048576",
            ]), logger: logger)
        var value = [UInt8](repeating: UInt8(ascii: "x"), count: 100)
        for i in 0..<count {
            value[0] = UInt8(truncatingIfNeeded: i)
            try producer.send(topic: topic, partition: Int32(i % Int(partitions)), value: value)
        }
        try await producer.flush(timeout: .seconds(120))
        await producer.close()
        let admin = try KafkaAdminClient(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        let marks = try await admin.watermarks(for: (0..<partitions).map { TopicPartition(topic: topic, partition: $0) })
        await admin.close()
        let kept = marks.values.reduce(0) { $0 + $1.count }
        guard marks.values.allSatisfy({ $0.low == 0 }), kept == count else {
            throw BenchFailure("the mock cluster kept \(kept) of \(count) messages of \(topic): use more partitions")
        }
    }

    /// Removes a group's znodes, so that a run starts from the log start whatever ran before on this server.
    func resetGroups(_ groups: [String]) async throws {
        let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: context.zookeeper), logger: logger)
        for group in groups { try await client.deleteRecursive("/consumers/\(group)") }
        await client.close()
    }

    /// The final commit left every partition's offset at its log end.
    func checkCommitted(group: String, topic: String, partitions: Int32, expected: Int) async throws {
        let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: context.zookeeper), logger: logger)
        let store = try ZooKeeperOffsetStore(client: client, group: group, logger: logger)
        let stored = try await store.read(topics: [topic])
        await client.close()
        let sum = stored.values.reduce(0) { $0 + Int($1.offset ?? 0) }
        guard stored.count == partitions, sum == expected else {
            throw BenchFailure("group \(group): \(stored.count) offsets summing to \(sum) stored, expected \(partitions) summing to \(expected)")
        }
    }

    // MARK: Row 4

    func loadRow(_ cluster: MockKafkaCluster) async throws {
        let partitions: Int32 = 1_000
        let topic = "bench-load"
        let group = "bench-load"
        let window = context.quick ? 5.0 : 10.0
        let warm = 2.5
        try cluster.createTopic(topic, partitions: partitions)
        try await resetGroups([group])
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, properties: ["linger.ms": "5"]),
            logger: logger)
        // Every partition receives messages all the time (5 a second each): every commit has all 1000 changed,
        // the worst case for ZooKeeper.
        let producing = Task {
            var value = [UInt8](repeating: UInt8(ascii: "y"), count: 100)
            var i = 0
            while !Task.isCancelled {
                for p in 0..<partitions {
                    value[0] = UInt8(truncatingIfNeeded: i)
                    try producer.send(topic: topic, partition: p, value: value)
                    i += 1
                }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        progress("row 4: one consumer of \(partitions) partitions, commit every 1 s, \(window) s window")
        let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: context.zookeeper), logger: logger)
        let consumerRun = Task {
            try await runProgramDetached(selfPath, [
                "consume-ours", "--bootstrap", cluster.bootstrapServers, "--zookeeper", context.zookeeper,
                "--group", group, "--topic", topic, "--duration", "\(warm + window + 1.5)",
            ])
        }
        try await Task.sleep(for: .seconds(warm))
        let partitionList = (0..<partitions).map { TopicPartition(topic: topic, partition: $0) }
        func versionSum() async throws -> Int {
            let store = try ZooKeeperOffsetStore(client: client, group: group, logger: logger)
            let stored = try await store.read(partitionList)
            guard stored.count == partitions else { throw BenchFailure("only \(stored.count) offset znodes of \(group)") }
            return stored.values.reduce(0) { $0 + Int($1.version) }
        }
        // Zxid and versions from the same moment: sample until no transaction landed between the two reads.
        func sample() async throws -> (zxid: Int64, versions: Int, at: ContinuousClock.Instant) {
            while true {
                let before = try serverZxid(context.zookeeper)
                let versions = try await versionSum()
                let at = ContinuousClock.now
                if try serverZxid(context.zookeeper) == before { return (before, versions, at) }
            }
        }
        let (zxid0, versions0, t0) = try await sample()
        try await Task.sleep(for: .seconds(window))
        let (zxid1, versions1, t1) = try await sample()
        let consumed = keyValues(try await consumerRun.value)
        producing.cancel()
        _ = await producing.result
        await producer.close()
        await client.close()
        let seconds = (t1 - t0).microseconds / 1e6
        let txns = Double(zxid1 - zxid0) / seconds, writes = Double(versions1 - versions0) / seconds
        emit("### 4. ZooKeeper load of one consumer of \(partitions) partitions, commit interval 1 s")
        emit()
        emit("Every partition receives messages all the time (the worst case: all \(partitions) offsets change between commits). Counted on the server over \(String(format: "%.1f", seconds)) s: transactions from `srvr`'s Zxid, znode writes from the offset znodes' data versions.")
        emit()
        emit("| | transactions/s | offset znode writes/s | writes per transaction |")
        emit("|---|---:|---:|---:|")
        emit("| ours (one `multi` per commit) | \(String(format: "%.2f", txns)) | \(String(format: "%.0f", writes)) | \(String(format: "%.0f", txns > 0 ? writes / txns : 0)) |")
        emit("| Kafka 0.8's way (one `setData` per partition per commit), computed | \(partitions) | \(partitions) | 1 |")
        emit()
        emit("The consumer read \(consumed["messages"] ?? "?") messages meanwhile. Row 1 shows what those \(partitions) separate synchronous writes a second would cost: about as many as this ZooKeeper can fsync one at a time.")
        emit()
    }
}

// MARK: - Child processes

struct ConsumeOurs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume-ours",
        abstract: "Child of run: consume through OffsetConsumer (no printing), commit every interval, print key=value results.")

    @Option var bootstrap: String
    @Option var zookeeper: String
    @Option var group: String
    @Option var topic: String
    @Option(help: "Stop after this many messages.") var expected: Int = .max
    @Option(help: "Stop after this many seconds.") var duration: Double?
    @Option(help: "A librdkafka property key=value (repeatable); none: the library's defaults.") var property: [String] = []
    @Option var commitIntervalMs: Int = 1_000
    @Option(help: "Messages per batch at most (default: the library's).") var maxBatch: Int?
    @Option(help: "Partitions of the topic (needed with --lower).") var partitions: Int32 = 0
    @Flag(help: "The layer below: RdKafka's KafkaPartitionConsumer alone, assigned from offset 0, no ZooKeeper.")
    var lower = false

    /// What the loop needs of a consumer: the next batch (nil: stopped), record processed, finish.
    struct Source {
        let next: () async throws -> [KafkaMessage]?
        let processed: ([KafkaMessage]) -> Void
        let finish: () async throws -> Void
    }

    func run() async throws {
        Bench.bootstrapLogging()
        var properties: [String: String] = [:]
        for pair in property {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--property needs key=value: \(pair)") }
            properties[parts[0]] = parts[1]
        }
        var configuration = ConsumerConfiguration(
            group: group, topics: [topic], zookeeper: ZooKeeperConfiguration(connectString: zookeeper),
            kafka: KafkaConfiguration(bootstrapServers: bootstrap, properties: properties),
            commitInterval: .milliseconds(commitIntervalMs))
        if let maxBatch { configuration.maxBatchSize = maxBatch }
        let clock = ContinuousClock()
        let t0 = clock.now
        let source: Source
        if lower {
            let consumer = try KafkaPartitionConsumer(configuration: configuration.kafka, logger: Logger(label: "rdkafka"))
            try consumer.assign(Dictionary(uniqueKeysWithValues: (0..<partitions).map {
                (TopicPartition(topic: topic, partition: $0), Int64(0))
            }))
            source = Source(
                next: { try await consumer.nextBatch(maxMessages: configuration.maxBatchSize, timeout: configuration.pollTimeout) },
                processed: { _ in }, finish: { await consumer.close() })
        } else {
            let consumer = try await OffsetConsumer.start(configuration, logger: Logger(label: "zkoffsets"))
            source = Source(
                next: { try await consumer.nextBatch() }, processed: { consumer.markProcessed($0) },
                finish: { try await consumer.close() })
        }
        let started = clock.now
        let deadline = duration.map { started + .milliseconds(Int($0 * 1000)) }
        var count = 0, firstBatch = 0, bytes = 0
        var first: ContinuousClock.Instant?, last = started
        var lastProgress = started
        // Messages/s are counted from the moment 5% were read (as the C baseline does): the mock cluster is slow
        // to build its first fetch responses, and that start-up is not what this row compares.
        let markCount = expected / 20
        var mark: ContinuousClock.Instant?, atMark = 0
        let trace = ProcessInfo.processInfo.environment["BENCH_TRACE"] != nil
        var lastTrace = started
        // Indexed by partition number: a dictionary update per message cost the harness more than the consumer.
        var perPartition: [(count: Int, next: Int64)] = []
        while count < expected, let batch = try await source.next() {
            if let deadline, clock.now >= deadline { break }
            if batch.isEmpty {
                if deadline == nil && clock.now - lastProgress > .seconds(10) {
                    let detail = perPartition.enumerated().map { "\($0.offset):\($0.element.count)@\($0.element.next)" }
                    throw BenchFailure("stalled at \(count) of \(expected) messages; partition:count@next \(detail.joined(separator: " "))")
                }
                continue
            }
            if trace && clock.now - lastProgress > .milliseconds(20) {
                progress("consume-ours: \(String(format: "%.0f", (clock.now - t0).microseconds / 1000)) ms: gap of \(String(format: "%.0f", (clock.now - lastProgress).microseconds / 1000)) ms at \(count) messages")
            }
            lastProgress = clock.now
            if trace && clock.now - lastTrace > .milliseconds(250) {
                lastTrace = clock.now
                progress("consume-ours: \(String(format: "%.0f", (clock.now - t0).microseconds / 1000)) ms: \(count) messages, batch \(batch.count)")
            }
            for message in batch {
                let index = Int(message.partition)
                if index >= perPartition.count { perPartition += Array(repeating: (0, 0), count: index + 1 - perPartition.count) }
                perPartition[index] = (perPartition[index].count + 1, message.offset + 1)
            }
            if first == nil {
                first = clock.now
                firstBatch = batch.count
            }
            count += batch.count
            if mark == nil && count >= markCount && expected != .max {
                mark = clock.now
                atMark = count
            }
            for message in batch { bytes &+= message.value.count }
            source.processed(batch)
            last = clock.now
        }
        // Before the consumer closes (and frees its queues), as the C baseline measures it.
        let anonymousMB = anonymousRSSMegabytes()
        try await source.finish()  // the final commit
        let from = mark ?? first
        let span = from.map { (last - $0).microseconds / 1e6 } ?? 0
        let rate = span > 0 ? Double(count - (mark == nil ? firstBatch : atMark)) / span : 0
        print("messages=\(count)")
        print("seconds=\(String(format: "%.4f", span))")
        print("rate=\(String(format: "%.0f", rate))")
        print("first_ms=\(String(format: "%.2f", first.map { ($0 - t0).microseconds / 1000 } ?? -1))")
        print("start_ms=\(String(format: "%.2f", (started - t0).microseconds / 1000))")
        print("maxrss_kb=\(String(format: "%.0f", peakRSSMegabytes() * 1024))")
        print("anon_kb=\(String(format: "%.0f", anonymousMB * 1024))")
        print("cpu_s=\(String(format: "%.3f", cpuSeconds()))")
        print("bytes=\(bytes)")
    }
}

struct RestartOurs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart-ours",
        abstract: "Child of run: start an OffsetConsumer on stored offsets, time the first message, exit without moving them.")

    @Option var bootstrap: String
    @Option var zookeeper: String
    @Option var group: String
    @Option var topic: String
    @Option(help: "Every partition's stored offset; the first message must be there.") var expectedOffset: Int64

    func run() async throws {
        Bench.bootstrapLogging()
        let configuration = ConsumerConfiguration(
            group: group, topics: [topic], zookeeper: ZooKeeperConfiguration(connectString: zookeeper),
            kafka: KafkaConfiguration(bootstrapServers: bootstrap))
        let clock = ContinuousClock()
        let t0 = clock.now
        let consumer = try await OffsetConsumer.start(configuration, logger: Logger(label: "zkoffsets"))
        let started = clock.now
        var firstMessage: KafkaMessage?
        while firstMessage == nil, let batch = try await consumer.nextBatch() {
            firstMessage = batch.first
        }
        let first = clock.now
        consumer.stop()
        try await consumer.close()  // nothing marked processed: the stored offsets stay as they are
        guard let firstMessage, firstMessage.offset == expectedOffset else {
            throw BenchFailure("first message at offset \(firstMessage?.offset ?? -1), expected the stored \(expectedOffset)")
        }
        print("start_ms=\(String(format: "%.2f", (started - t0).microseconds / 1000))")
        print("first_ms=\(String(format: "%.2f", (first - t0).microseconds / 1000))")
    }
}
