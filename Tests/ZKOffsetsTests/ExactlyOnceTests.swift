import Foundation
import Testing
import ZKOffsets
import ZKOffsetsTool

@Suite("Exactly-once: results and offsets in one transaction", .serialized, .timeLimit(.minutes(2)))
struct ExactlyOnceTests {
    @Test func applicationOperationsAndOffsetsCommitTogetherOrNotAtAll() async throws {
        let cluster = try MockKafkaCluster(logger: TestEnvironment.logger)
        defer { Task { await cluster.close() } }
        try cluster.createTopic("eos", partitions: 2)
        let group = TestEnvironment.freshGroup()
        try await TestEnvironment.produce((0..<10).map { "m\($0)" }, topic: "eos", partitions: 2, cluster: cluster)
        let consumer = try await OffsetConsumer.start(
            TestEnvironment.configuration(group: group, topics: ["eos"], cluster: cluster, commitInterval: nil),
            logger: TestEnvironment.logger
        )
        let client = try await TestEnvironment.connect()
        defer { Task { await client.close() } }
        var messages: [KafkaMessage] = []
        try await eventually("10 messages") {
            messages += try await consumer.nextBatch() ?? []
            return messages.count >= 10
        }
        consumer.markProcessed(messages)
        let results = "/exactly-once-tests/\(group)"
        try await client.ensurePath(results)

        // The application's check fails: neither its create nor the offsets are applied.
        await #expect(throws: ZooKeeperError.self) {
            try await consumer.commit(extraOperations: [
                .create("\(results)/total", data: Array("10".utf8)), .check("\(results)/missing"),
            ])
        }
        #expect(try await ExactlyOnceSupport.committed(client, group: group, topic: "eos") == 0)
        #expect(try await client.exists("\(results)/total") == nil)

        // It succeeds: both move, in one transaction (one zxid).
        let summary = try await consumer.commit(extraOperations: [.create("\(results)/total", data: Array("10".utf8))])
        #expect(summary.written == 2)
        #expect(try await ExactlyOnceSupport.committed(client, group: group, topic: "eos") == 10)
        let total = try await client.getData("\(results)/total")
        #expect(total.string == "10")
        for partition in 0..<2 {
            let offset = try await client.getData("/consumers/\(group)/offsets/eos/\(partition)")
            #expect(offset.stat.mzxid == total.stat.czxid, "offsets and result written by the same transaction")
        }
        try await consumer.close()
        try await client.deleteRecursive(results)
    }

    @Test func aCommitWithApplicationOperationsTooLargeForOneTransactionIsRefused() async throws {
        let client = try await TestEnvironment.connect()
        defer { Task { await client.close() } }
        let group = TestEnvironment.freshGroup()
        let store = try ZooKeeperOffsetStore(client: client, group: group)  // the default limit, 768 KiB
        let partition = TopicPartition(topic: "eos", partition: 0)
        try await store.commit([partition: 5])
        let results = "/exactly-once-tests/\(group)"
        try await client.ensurePath(results)
        let operations = (0..<20).map {
            ZooKeeperOperation.create("\(results)/r\($0)", data: [UInt8](repeating: 0x61, count: 64 * 1024))
        }

        let error = await #expect(throws: OffsetError.self) {
            try await store.commit([partition: 6], extraOperations: operations)
        }
        #expect(error?.code == .transactionTooLarge)
        #expect(try await client.getData(store.layout.offsetPath(partition)).string == "5", "the offset did not move")
        #expect(try await client.children(results).names.isEmpty, "no operation of the application was applied")

        // What fits is applied, offsets included.
        try await store.commit([partition: 6], extraOperations: Array(operations.prefix(2)))
        #expect(try await client.getData(store.layout.offsetPath(partition)).string == "6")
        #expect(try await client.children(results).names.sorted() == ["r0", "r1"])
        try await client.deleteRecursive(results)
    }

    @Test func aBatchWhoseTransactionFailedIsNotCommittedWhenTheServiceCloses() async throws {
        let cluster = try MockKafkaCluster(logger: TestEnvironment.logger)
        defer { Task { await cluster.close() } }
        try cluster.createTopic("eos", partitions: 1)
        let group = TestEnvironment.freshGroup()
        try await TestEnvironment.produce(["a b", "c"], topic: "eos", partitions: 1, cluster: cluster)
        let consumer = try await OffsetConsumer.start(
            TestEnvironment.configuration(group: group, topics: ["eos"], cluster: cluster, commitInterval: nil),
            logger: TestEnvironment.logger
        )
        let service = ConsumerService(consumer: consumer, stopWhenIdle: .seconds(5)) { _ in
            [.check("/exactly-once-tests/\(group)/missing")]  // the application's transaction cannot succeed
        }
        await #expect(throws: ZooKeeperError.self) { try await service.run() }
        let client = try await TestEnvironment.connect()
        defer { Task { await client.close() } }
        let committed = try await ExactlyOnceSupport.committed(client, group: group, topic: "eos")
        #expect(committed == 0, "the batch's results were not written, so its offsets must not move")
    }

    /// The short version of scripts/chaos: the real word-count, SIGKILLed while it commits, restarted each time.
    @Test func wordCountKilledWhileCountingCountsEveryWordExactlyOnce() async throws {
        let executable = try #require(
            ExactlyOnceSupport.wordCountExecutable(), "build word-count first (swift build; scripts/test does)"
        )
        let cluster = try MockKafkaCluster(logger: TestEnvironment.logger)
        defer { Task { await cluster.close() } }
        try cluster.createTopic("words", partitions: 3)
        let group = TestEnvironment.freshGroup()
        let messages = ExactlyOnceSupport.messages(count: 4000)
        try await TestEnvironment.produce(messages, topic: "words", partitions: 3, cluster: cluster)
        let client = try await TestEnvironment.connect()
        defer { Task { await client.close() } }
        let arguments = [
            "--zookeeper", TestEnvironment.zooKeeper, "--bootstrap-server", cluster.bootstrapServers,
            "--group", group, "--topic", "words", "--session-timeout-ms", "4000",
        ]
        func committed() async throws -> Int64 {
            try await ExactlyOnceSupport.committed(client, group: group, topic: "words")
        }

        var killedAt: [Int64] = []
        for _ in 0..<4 {
            let before = try await committed()
            if before >= Int64(messages.count) { break }  // a fast run got through everything already
            let run = try WordCountProcess(executable: executable, arguments: arguments)
            // Kill it as soon as it has committed something: in the middle of the stream, often mid-transaction.
            try await eventually("word-count commits beyond \(before)") {
                try await committed() > before || !run.isRunning
            }
            #expect(run.isRunning, "word-count exited by itself: \(run.stderr)")
            try await run.kill()
            killedAt.append(try await committed())
        }
        #expect(killedAt.first! < Int64(messages.count), "the first kill came before the end: \(killedAt)")
        #expect(killedAt == killedAt.sorted(), "committed offsets never move back: \(killedAt)")

        let last = try WordCountProcess(executable: executable, arguments: arguments + ["--exit-when-idle-ms", "1000"])
        #expect(try await last.exitStatus() == 0, "\(last.stderr)")
        #expect(last.stderr.contains("word-count: counted"), "a summary line: \(last.stderr)")
        #expect(try await committed() == Int64(messages.count))

        let stored = try await ExactlyOnceSupport.storedCounts(client, group: group)
        let expected = ExactlyOnceSupport.trueCounts(messages)
        let wrong = Set(stored.keys).union(expected.keys).filter { stored[$0] != expected[$0] }.sorted()
        let differences = wrong.prefix(5).map { "\($0): \(stored[$0] ?? 0) != \(expected[$0] ?? 0)" }
        #expect(wrong.isEmpty, "counts differ (killed at \(killedAt)): \(differences)")
        #expect(stored["a/b"] != nil && stored["."] != nil && stored[".."] != nil && stored["caf\u{e9}"] != nil)
        try await client.deleteRecursive("/wordcount/\(group)")
    }
}
