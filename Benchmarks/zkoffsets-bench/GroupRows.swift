import Foundation
import Logging
import Synchronization
import ZKOffsets

/// Row 5, groups: how long a partition is without a consumer when its owner leaves gracefully or crashes, and
/// how many ZooKeeper transactions a rebalance costs. Member A is a real print-consumer process (SIGTERM,
/// SIGKILL); member B runs in this process with the library defaults and timestamps the messages it receives,
/// while a producer writes to every partition every 5 ms.
struct GroupRows {
    let context: BenchContext
    let printConsumer: String
    let logger = Logger(label: "bench")
    static let topic = "bench-group"
    static let partitions: Int32 = 6

    func run() async throws {
        let cluster = try MockKafkaCluster(brokers: 1, logger: logger)
        try cluster.createTopic(Self.topic, partitions: Self.partitions)
        let rounds = context.quick ? 2 : 5
        var leaves: [Double] = [], crashes: [Double] = [], joinWrites: [Int64] = [], leaveWrites: [Int64] = []
        var sessionMillis = 0.0
        for round in 1...rounds {
            let result = try await measureRound(cluster: cluster, round: round)
            leaves.append(result.leaveMillis)
            crashes.append(result.crashMillis)
            joinWrites.append(result.joinWrites)
            leaveWrites.append(result.leaveWrites)
            sessionMillis = result.sessionMillis
            progress(
                "groups round \(round): graceful leave -> first message at the new owner "
                    + "\(String(format: "%.0f", result.leaveMillis)) ms; SIGKILL -> first message "
                    + "\(String(format: "%.0f", result.crashMillis)) ms (session \(Int(result.sessionMillis)) ms); "
                    + "transactions: join \(result.joinWrites), leave \(result.leaveWrites)")
        }
        await cluster.close()
        func list(_ values: [Double]) -> String { values.map { String(format: "%.0f", $0) }.joined(separator: ", ") }
        emit("### Row 5: groups (\(Self.partitions) partitions, 2 members, a message per partition every 5 ms)")
        emit()
        emit("| | zkoffsets, median (every round) | Kafka 0.8's consumer (its defaults, not measured here) |")
        emit("| --- | ---: | --- |")
        emit("| graceful leave -> first message of a moved partition at its new owner | "
            + "\(String(format: "%.0f", median(leaves))) ms (\(list(leaves))) | >= 2,000 ms: a member that finds a "
            + "partition still owned sleeps `rebalance.backoff.ms` (2 s) and retries |")
        emit("| SIGKILL -> first message of a moved partition at its new owner | "
            + "\(String(format: "%.0f", median(crashes))) ms (\(list(crashes))), session timeout \(Int(sessionMillis)) ms"
            + ", so \(String(format: "%.0f", median(crashes) - sessionMillis)) ms beyond it | session timeout + "
            + "the same backoff |")
        emit("| ZooKeeper transactions of a join (both members) | \(joinWrites.map(String.init).joined(separator: ", ")) "
            + "| one write per partition and member (owner creates and deletes, offset commits one by one) |")
        emit("| ZooKeeper transactions of a graceful leave | \(leaveWrites.map(String.init).joined(separator: ", ")) | |")
        emit()
    }

    struct RoundResult {
        var leaveMillis: Double
        var crashMillis: Double
        var sessionMillis: Double
        var joinWrites: Int64
        var leaveWrites: Int64
    }

    private func measureRound(cluster: MockKafkaCluster, round: Int) async throws -> RoundResult {
        let group = "bench-group-\(round)-\(UUID().uuidString.prefix(8))"
        let layout = try OffsetLayout(group: group)
        let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: context.zookeeper))
        defer { Task { await client.close() } }
        let arguments = [
            "--zookeeper", context.zookeeper, "--bootstrap-server", cluster.bootstrapServers, "--group", group,
            "--topic", Self.topic, "--session-timeout-ms", "4000",
        ]

        // Transactions of a join, without traffic: A alone, then B joins.
        var memberA = try startProcess(printConsumer, arguments)
        try await waitUntil("A owns every partition") { try await owners(client, layout).count == Int(Self.partitions) }
        try await quiesce(client)
        let beforeJoin = try serverZxid(context.zookeeper)
        let received = Mutex<[(partition: Int32, at: ContinuousClock.Instant)]>([])
        let memberB = try await OffsetConsumer.start(
            ConsumerConfiguration(
                group: group, topics: [Self.topic],
                zookeeper: ZooKeeperConfiguration(connectString: context.zookeeper, sessionTimeout: .seconds(4)),
                kafka: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers)),
            logger: logger)
        let bID = memberB.membership!.consumerID
        let consuming = Task {
            while let batch = try await memberB.nextBatch() {
                guard !batch.isEmpty else { continue }
                let now = ContinuousClock.now
                var firsts: Set<Int32> = []
                for message in batch where firsts.insert(message.partition).inserted {
                    received.withLock { $0.append((message.partition, now)) }
                }
                memberB.markProcessed(batch)
                try await memberB.commit()
            }
        }
        try await waitUntil("the partitions split") {
            let owners = try await owners(client, layout)
            return owners.count == Int(Self.partitions) && owners.values.filter { $0.hasPrefix(bID) }.count == 3
        }
        try await quiesce(client)
        let joinWrites = try serverZxid(context.zookeeper) - beforeJoin

        // Graceful leave under traffic.
        let producing = Task { try await produceSteadily(cluster) }
        try await Task.sleep(for: .milliseconds(500))
        let movedOnLeave = Set(try await owners(client, layout).filter { !$0.value.hasPrefix(bID) }.keys)
        let leaveStart = ContinuousClock.now
        kill(memberA.processIdentifier, SIGTERM)
        let leaveMillis = try await firstMessage(of: movedOnLeave, after: leaveStart, received: received)
        memberA.waitUntilExit()

        // Transactions of a graceful leave, without traffic.
        producing.cancel()
        _ = try? await producing.value
        memberA = try startProcess(printConsumer, arguments)
        try await waitUntil("A is back") {
            try await owners(client, layout).values.filter { !$0.hasPrefix(bID) }.count == 3
        }
        try await quiesce(client)
        let beforeLeave = try serverZxid(context.zookeeper)
        kill(memberA.processIdentifier, SIGTERM)
        memberA.waitUntilExit()
        try await waitUntil("B owns every partition") {
            try await owners(client, layout).values.filter { $0.hasPrefix(bID) }.count == Int(Self.partitions)
        }
        try await quiesce(client)
        let leaveWrites = try serverZxid(context.zookeeper) - beforeLeave

        // SIGKILL under traffic: the partitions move when A's session expires.
        memberA = try startProcess(printConsumer, arguments)
        try await waitUntil("A is back") {
            try await owners(client, layout).values.filter { !$0.hasPrefix(bID) }.count == 3
        }
        let crashTraffic = Task { try await produceSteadily(cluster) }
        try await Task.sleep(for: .milliseconds(500))
        let movedOnCrash = Set(try await owners(client, layout).filter { !$0.value.hasPrefix(bID) }.keys)
        let crashStart = ContinuousClock.now
        kill(memberA.processIdentifier, SIGKILL)
        let crashMillis = try await firstMessage(of: movedOnCrash, after: crashStart, received: received)
        memberA.waitUntilExit()
        crashTraffic.cancel()
        _ = try? await crashTraffic.value

        memberB.stop()
        _ = try? await consuming.value
        try await memberB.close()
        return RoundResult(
            leaveMillis: leaveMillis, crashMillis: crashMillis,
            sessionMillis: Double(memberB.zooKeeperClient.negotiatedSessionTimeout.components.seconds * 1000),
            joinWrites: joinWrites, leaveWrites: leaveWrites)
    }

    /// Milliseconds from `start` to the first message of one of `partitions` that B received after `start`.
    private func firstMessage(
        of partitions: Set<Int32>, after start: ContinuousClock.Instant,
        received: borrowing Mutex<[(partition: Int32, at: ContinuousClock.Instant)]>
    ) async throws -> Double {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let first = received.withLock { $0.filter { $0.at > start && partitions.contains($0.partition) }.map(\.at).min() }
            if let first { return (first - start).microseconds / 1000 }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw BenchFailure("no message of a moved partition within 30 s")
    }

    private func owners(_ client: ZooKeeperClient, _ layout: OffsetLayout) async throws -> [Int32: String] {
        let partitions = (0..<Self.partitions).map { TopicPartition(topic: Self.topic, partition: $0) }
        var owners: [Int32: String] = [:]
        for (partition, result) in zip(partitions, await client.getData(partitions.map { layout.ownerPath($0) })) {
            if case .success(let node) = result, let owner = node.string { owners[partition.partition] = owner }
        }
        return owners
    }

    /// Waits until no transaction happened for 500 ms (the members are idle).
    private func quiesce(_ client: ZooKeeperClient) async throws {
        var last = try serverZxid(context.zookeeper)
        while true {
            try await Task.sleep(for: .milliseconds(500))
            let now = try serverZxid(context.zookeeper)
            if now == last { return }
            last = now
        }
    }

    private func waitUntil(_ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw BenchFailure("timed out waiting until \(what)")
    }

    private func produceSteadily(_ cluster: MockKafkaCluster) async throws {
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, properties: ["linger.ms": "0"]),
            logger: logger)
        defer { Task { await producer.close() } }
        while !Task.isCancelled {
            for partition in 0..<Self.partitions {
                try producer.send(topic: Self.topic, partition: partition, value: Array("tick".utf8))
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
