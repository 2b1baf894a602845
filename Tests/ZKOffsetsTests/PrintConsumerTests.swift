import Foundation
import Synchronization
import Testing
import ZKOffsets
import ZKOffsetsTool

/// A running print-consumer whose stdout lines are collected as they come.
final class RunningConsumer: Sendable {
    let process: UnsafeProcess
    private let lines = Mutex<[String]>([])
    private let partial = Mutex<String>("")

    struct UnsafeProcess: @unchecked Sendable { let value: Process }

    /// Where the consumer's stderr goes, for failure messages.
    let errorLog: URL

    init(executable: URL, arguments: [String]) throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["LOG_LEVEL": "info"]) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        errorLog = FileManager.default.temporaryDirectory.appendingPathComponent("print-consumer-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: errorLog.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: errorLog)
        self.process = UnsafeProcess(value: process)
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            let text = self.partial.withLock { partial -> String in
                partial += String(decoding: data, as: UTF8.self)
                guard let end = partial.lastIndex(of: "\n") else { return "" }
                let complete = String(partial[..<end])
                partial = String(partial[partial.index(after: end)...])
                return complete
            }
            if !text.isEmpty { self.lines.withLock { $0 += text.split(separator: "\n").map(String.init) } }
        }
        try process.run()
    }

    deinit {
        try? FileManager.default.removeItem(at: errorLog)
    }

    var output: [String] { lines.withLock { $0 } }

    /// The last lines the consumer logged.
    var errors: String {
        ((try? String(contentsOf: errorLog, encoding: .utf8)) ?? "").split(separator: "\n").suffix(15).joined(separator: "\n")
    }

    func kill() {
        Glibc.kill(process.value.processIdentifier, SIGKILL)
        process.value.waitUntilExit()
    }

    func wait() async throws -> Int32 {
        try await eventually(timeout: .seconds(60), "print-consumer exits") { !process.value.isRunning }
        // Let the pipe drain: the handler runs until end of file.
        try await eventually("stdout drained") { partial.withLock { $0.isEmpty } }
        return process.value.terminationStatus
    }
}


/// A printed line `topic partition offset value`.
struct PrintedLine: Hashable {
    var partition: Int32
    var offset: Int64
    var value: String

    init?(_ line: String) {
        let parts = line.split(separator: " ", maxSplits: 3)
        guard parts.count == 4, let partition = Int32(parts[1]), let offset = Int64(parts[2]) else { return nil }
        self.partition = partition
        self.offset = offset
        self.value = String(parts[3])
    }
}

@Suite("print-consumer executable", .serialized, .timeLimit(.minutes(3)))
struct PrintConsumerTests {
    let executable = TestEnvironment.executable("print-consumer")

    func arguments(_ cluster: MockKafkaCluster, group: String, _ extra: [String] = []) -> [String] {
        ["--zookeeper", TestEnvironment.zooKeeper, "--bootstrap-server", cluster.bootstrapServers, "--group", group,
         "--topic", "events", "--session-timeout-ms", "4000"] + extra
    }

    @Test func theSeedsTestRestartResumesExactly() async throws {
        let executable = try #require(executable, "build print-consumer first (scripts/test does)")
        let cluster = try MockKafkaCluster(logger: TestEnvironment.logger)
        defer { Task { await cluster.close() } }
        try cluster.createTopic("events", partitions: 3)
        let group = TestEnvironment.freshGroup()

        try await TestEnvironment.produce(["one", "two", "three"], topic: "events", partitions: 3, cluster: cluster)
        let first = try RunningConsumer(executable: executable, arguments: arguments(cluster, group: group, ["--exit-when-idle-ms", "500"]))
        #expect(try await first.wait() == 0)
        #expect(first.output.sorted() == ["events 0 0 one", "events 1 0 two", "events 2 0 three"])

        try await TestEnvironment.produce(["four", "five", "six"], topic: "events", partitions: 3, cluster: cluster)
        let second = try RunningConsumer(executable: executable, arguments: arguments(cluster, group: group, ["--exit-when-idle-ms", "500"]))
        #expect(try await second.wait() == 0)
        #expect(second.output.sorted() == ["events 0 1 four", "events 1 1 five", "events 2 1 six"])
    }

    @Test func badArgumentsAndUnreachableServersExitNonZeroWithAMessage() async throws {
        let executable = try #require(executable)
        let cluster = try MockKafkaCluster(logger: TestEnvironment.logger)
        defer { Task { await cluster.close() } }
        try cluster.createTopic("events", partitions: 1)
        let badReset = try RunningConsumer(executable: executable, arguments: arguments(cluster, group: "g", ["--reset", "sideways"]))
        #expect(try await badReset.wait() != 0)
        let badGroup = try RunningConsumer(executable: executable, arguments: arguments(cluster, group: "a/b"))
        #expect(try await badGroup.wait() == 1)
        let noZooKeeper = try RunningConsumer(
            executable: executable,
            arguments: ["--zookeeper", "127.0.0.1:1", "--bootstrap-server", cluster.bootstrapServers, "--group", "g", "--topic", "events"]
        )
        #expect(try await noZooKeeper.wait() == 1)
    }

    /// word-count too: both start their consumer inside the service group.
    @Test(arguments: ["print-consumer", "word-count"])
    func aSigtermWhileStartingStopsCleanly(program: String) async throws {
        let executable = try #require(TestEnvironment.executable(program), "build \(program) first (scripts/test does)")
        let cluster = try MockKafkaCluster(logger: TestEnvironment.logger)
        defer { Task { await cluster.close() } }
        try cluster.createTopic("events", partitions: 1)
        // A "ZooKeeper" that accepts the connection and never answers: the start waits in its connect.
        let silent = try SilentListener()
        defer { silent.close() }
        let run = try RunningConsumer(
            executable: executable,
            arguments: ["--zookeeper", "127.0.0.1:\(silent.port)", "--bootstrap-server", cluster.bootstrapServers,
                        "--group", "g", "--topic", "events"])
        try await eventually("\(program) connects and waits") { silent.acceptedConnection() }
        run.terminate()
        // Before the consumer was started inside the service group, the signal killed it mid-start (or, once
        // trapped, it waited for the connect timeout and exited 1).
        #expect(try await run.wait() == 0, "\(run.errors)")
    }

    @Test func killedTenTimesItLosesNothingAndRepeatsOnlyWhatWasNotCommitted() async throws {
        let executable = try #require(executable)
        let cluster = try MockKafkaCluster(logger: TestEnvironment.logger)
        defer { Task { await cluster.close() } }
        try cluster.createTopic("events", partitions: 4)
        let group = TestEnvironment.freshGroup()
        let client = try await TestEnvironment.connect()
        defer { Task { await client.close() } }
        var produced = 0
        var printed: [PrintedLine] = []
        var duplicates = 0
        var generator = SystemRandomNumberGenerator()

        for round in 0..<10 {
            let values = (0..<300).map { "r\(round)-m\(produced + $0)" }
            try await TestEnvironment.produce(Array(values.prefix(150)), topic: "events", partitions: 4, cluster: cluster)
            let committedBefore = try await committed(client, group: group)
            let run = try RunningConsumer(executable: executable, arguments: arguments(cluster, group: group))
            // The other half flows in while the consumer runs.
            try await TestEnvironment.produce(Array(values.suffix(150)), topic: "events", partitions: 4, cluster: cluster)
            produced += values.count
            let target = Int.random(in: 1...300, using: &generator)
            try await eventually(
                "print-consumer printed \(target) lines (it printed \(run.output.count)); its log:\n\(run.errors)"
            ) { run.output.count >= target }
            run.kill()
            let lines = run.output.compactMap(PrintedLine.init)
            // A restart starts each partition exactly at its committed offset: no gap, nothing older again.
            for partition in Set(lines.map(\.partition)) {
                let firstOffset = lines.filter { $0.partition == partition }.map(\.offset).min()
                #expect(firstOffset == committedBefore[partition] ?? 0, "round \(round) partition \(partition)")
            }
            duplicates += Set(lines).intersection(Set(printed)).count
            printed += lines
        }
        let drain = try RunningConsumer(executable: executable, arguments: arguments(cluster, group: group, ["--exit-when-idle-ms", "1000"]))
        #expect(try await drain.wait() == 0)
        let drained = drain.output.compactMap(PrintedLine.init)
        duplicates += Set(drained).intersection(Set(printed)).count
        printed += drained

        let unique = Set(printed)
        #expect(unique.count == produced, "every message printed at least once")
        #expect(Set(unique.map(\.value)).count == produced)
        #expect(printed.count - unique.count == duplicates)
        let final = try await committed(client, group: group)
        #expect(final.values.reduce(0, +) == Int64(produced), "the committed offsets cover every message")
    }

    private func committed(_ client: ZooKeeperClient, group: String) async throws -> [Int32: Int64] {
        var offsets: [Int32: Int64] = [:]
        for partition in Int32(0)..<4 {
            if let node = try? await client.getData("/consumers/\(group)/offsets/events/\(partition)") {
                offsets[partition] = Int64(node.string ?? "")
            }
        }
        return offsets
    }
}

/// A TCP listener on a free loopback port that accepts connections and never says anything.
final class SilentListener: Sendable {
    let port: UInt16
    private let socket: Int32

    init() throws {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(socket, generic, length) == 0 && listen(socket, 4) == 0
                    && getsockname(socket, generic, &length) == 0
            }
        }
        guard bound else {
            _ = Glibc.close(socket)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        _ = fcntl(socket, F_SETFL, fcntl(socket, F_GETFL) | O_NONBLOCK)
        self.socket = socket
        port = UInt16(bigEndian: address.sin_port)
    }

    /// True once a client connected (the connection is kept open, unanswered, until `close()`).
    func acceptedConnection() -> Bool {
        accept(socket, nil, nil) >= 0
    }

    func close() {
        _ = Glibc.close(socket)
    }
}
