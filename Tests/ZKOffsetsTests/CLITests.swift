import Foundation
import Testing
import ZKOffsets
import ZKOffsetsTool

/// The built `zkoffsets` binary next to the test bundle (or in a `.build*/debug` of the package); nil when not
/// built, and the CLI tests are skipped.
enum CLIBinary {
    static let url: URL? = {
        var candidates: [URL] = []
        if let executable = Bundle.main.executableURL {
            var directory = executable.deletingLastPathComponent()
            for _ in 0..<4 {
                candidates.append(directory.appendingPathComponent("zkoffsets"))
                directory = directory.deletingLastPathComponent()
            }
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        for scratch in [".build-cli", ".build"] {
            candidates.append(root.appendingPathComponent("\(scratch)/debug/zkoffsets"))
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) && !$0.hasDirectoryPath }
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs the binary with ZK_CONNECT set and no KAFKA_BOOTSTRAP from the environment; reads both pipes fully.
    static func run(_ arguments: [String], stdin: String? = nil) async throws -> Result {
        let url = try #require(url)
        return try await Task.detached {
            let process = Process()
            process.executableURL = url
            process.arguments = arguments
            var environment = ProcessInfo.processInfo.environment
            environment["ZK_CONNECT"] = OperationsFixture.zooKeeperConnect
            environment["KAFKA_BOOTSTRAP"] = nil
            environment["LOG_LEVEL"] = nil
            process.environment = environment
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            process.standardInput = FileHandle.nullDevice
            try process.run()
            // Read both pipes concurrently so that neither can fill up and block the child.
            async let outData = Task.detached { out.fileHandleForReading.readDataToEndOfFile() }.value
            async let errData = Task.detached { err.fileHandleForReading.readDataToEndOfFile() }.value
            let (stdout, stderr) = await (outData, errData)
            process.waitUntilExit()
            return Result(
                status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                stderr: String(decoding: stderr, as: UTF8.self))
        }.value
    }
}

@Suite("CLI: the zkoffsets binary", .serialized, .enabled(if: CLIBinary.url != nil, "zkoffsets is not built"))
struct CLITests {
    @Test func usageErrorsExitTwo() async throws {
        let noTarget = try await CLIBinary.run(["reset", "--group", "g", "--all-topics"])
        #expect(noTarget.status == 2)
        #expect(noTarget.stderr.contains("give exactly one of --to-earliest"))
        let unknownOption = try await CLIBinary.run(["list", "--bogus"])
        #expect(unknownOption.status == 2)
        let both = try await CLIBinary.run(["import", "--file", "/dev/null", "--dry-run", "--execute"])
        #expect(both.status == 2)
        let help = try await CLIBinary.run(["describe", "--help"])
        #expect(help.status == 0 && help.stdout.contains("--bootstrap-server"))
    }

    @Test func unreachableZooKeeperExitsTwoNamingTheAddress() async throws {
        let start = ContinuousClock.now
        let result = try await CLIBinary.run(["list", "--zookeeper", "127.0.0.1:1", "--timeout", "2"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("cannot connect to ZooKeeper at 127.0.0.1:1"))
        #expect(ContinuousClock.now - start < .seconds(15))
    }

    @Test func unreachableKafkaExitsTwoNamingTheAddress() async throws {
        try await withOperationsFixture(topics: []) { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, 1)
            let result = try await CLIBinary.run([
                "describe", "--group", g, "--bootstrap-server", "127.0.0.1:1", "--timeout", "3",
            ])
            #expect(result.status == 2)
            #expect(result.stderr.contains("Kafka at 127.0.0.1:1"))
        }
    }

    @Test func describeAndListPrintAlignedColumns() async throws {
        try await withOperationsFixture { fx in
            let g = fx.group()
            try await fx.put(g, "clicks", 0, 20)
            let result = try await CLIBinary.run([
                "describe", "--group", g, "--bootstrap-server", fx.kafka.bootstrapServers,
            ])
            #expect(result.status == 0)
            // LAST-COMMIT is an age; normalise it.
            let lines = result.stdout.split(separator: "\n").map {
                $0.replacingOccurrences(of: #"\b\d+s\b"#, with: "Ns", options: .regularExpression)
            }
            #expect(lines == [
                "TOPIC   PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG  LAST-COMMIT  CONSUMER-ID",
                "clicks  0          20              50              30   Ns           -",
                "clicks  1          -               60              -    -            -",
            ])
            #expect(result.stderr.contains("has no active members"))
            let list = try await CLIBinary.run(["list"])
            #expect(list.status == 0)
            #expect(list.stdout.split(separator: "\n").contains { $0.hasPrefix(g) && $0.hasSuffix("  0        clicks") })
            let json = try await CLIBinary.run(["describe", "--group", g, "--output", "json"])
            let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            #expect(object?["group"] as? String == g)
        }
    }

    @Test func exportImportRoundTripThroughTheBinary() async throws {
        try await withOperationsFixture(topics: []) { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, 42)
            try await fx.put(g, "events", 1, 7)
            let export = try await CLIBinary.run(["export", "--group", g])
            #expect(export.status == 0)
            #expect(export.stdout == "/consumers/\(g)/offsets/events/0:42\n/consumers/\(g)/offsets/events/1:7\n")
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(g).txt")
            try Data(export.stdout.utf8).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            try await fx.client.deleteRecursive("/consumers/\(g)")
            let dryRun = try await CLIBinary.run(["import", "--file", file.path])
            #expect(dryRun.status == 0)
            #expect(dryRun.stdout.hasSuffix(
                "Dry run: 2 offsets of 1 group would change (0 unchanged). Run again with --execute to apply.\n"))
            #expect(try await fx.client.exists("/consumers/\(g)") == nil)
            let execute = try await CLIBinary.run(["import", "--file", file.path, "--execute"])
            #expect(execute.status == 0)
            #expect(execute.stdout.hasSuffix("Wrote 2 offsets of 1 group in 1 transaction (0 unchanged).\n"))
            let again = try await CLIBinary.run(["export", "--group", g])
            #expect(again.stdout == export.stdout)
        }
    }

    @Test func halfBadImportExitsTwoWithLineNumbersAndWritesNothing() async throws {
        try await withOperationsFixture(topics: []) { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, 5)
            let before = try await fx.snapshot(g)
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(g).csv")
            try Data("\(g),events,0,6\n\(g),events,1,x\n\(g),ev/ents,2,1\n".utf8).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            let result = try await CLIBinary.run(["import", "--file", file.path, "--execute"])
            #expect(result.status == 2)
            #expect(result.stderr.contains("line 2: 'x' is not an offset"))
            #expect(result.stderr.contains("line 3: invalid topic 'ev/ents'"))
            #expect(!result.stderr.contains("line 1"))
            #expect(try await fx.snapshot(g) == before)
        }
    }

    @Test func resetOfALiveGroupIsRefusedWithExitOne() async throws {
        try await withOperationsFixture { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, 5)
            try await fx.addMember(g, "worker-1")
            let before = try await fx.snapshot(g)
            let result = try await CLIBinary.run([
                "reset", "--group", g, "--all-topics", "--to-latest", "--execute",
                "--bootstrap-server", fx.kafka.bootstrapServers,
            ])
            #expect(result.status == 1)
            #expect(result.stderr.contains("refused: group '\(g)' has 1 live member(s)"))
            #expect(try await fx.snapshot(g) == before)
            let bad = try await CLIBinary.run([
                "reset", "--group", "a/b", "--all-topics", "--to-latest", "--bootstrap-server", fx.kafka.bootstrapServers,
            ])
            #expect(bad.status == 2 && bad.stderr.contains("invalid group id 'a/b'"))
        }
    }

    @Test func resetShiftsBackWithANegativeNumberAndClamps() async throws {
        try await withOperationsFixture { fx in
            let g = fx.group()
            try await fx.put(g, "clicks", 0, 5)
            try await fx.put(g, "clicks", 1, 30)
            let result = try await CLIBinary.run([
                "reset", "--group", g, "--topic", "clicks", "--shift-by", "-10", "--execute",
                "--bootstrap-server", fx.kafka.bootstrapServers,
            ])
            #expect(result.status == 0)
            #expect(result.stderr.contains("warning: clicks-0: target -5 is below the log start 0; clamped to 0"))
            #expect(try await fx.bytes(g, "clicks", 0) == Array("0".utf8))
            #expect(try await fx.bytes(g, "clicks", 1) == Array("20".utf8))
        }
    }

    @Test func verifyExitsOneOnFindingsAndZeroWhenClean() async throws {
        try await withOperationsFixture(topics: []) { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, Array("-3".utf8))
            let bad = try await CLIBinary.run(["verify", "--group", g])
            #expect(bad.status == 1)
            #expect(bad.stdout == """
                \(g): non-canonical: /consumers/\(g)/offsets/events/0 holds '-3': a sign
                1 finding in 1 group (1 checked).

                """)
            try await fx.put(g, "events", 0, 3)
            let clean = try await CLIBinary.run(["verify", "--group", g])
            #expect(clean.status == 0)
            #expect(clean.stdout == "OK: 1 group checked, no findings.\n")
        }
    }

    @Test func migrateToKafkaAndALibrdkafkaGroupConsumerStartsThere() async throws {
        try await withOperationsFixture(topics: [("events", 3, 20)]) { fx in
            let g = fx.group()
            let starts: [Int32: Int64] = [0: 5, 1: 17, 2: 29]
            for (partition, offset) in starts { try await fx.put(g, "events", partition, offset) }
            let dry = try await CLIBinary.run([
                "migrate", "--group", g, "--from", "zookeeper", "--to", "kafka",
                "--bootstrap-server", fx.kafka.bootstrapServers,
            ])
            #expect(dry.status == 0 && dry.stdout.contains("Dry run: 3 offsets of 1 group would be copied"))
            let tps = starts.keys.map { TopicPartition(topic: "events", partition: $0) }
            #expect(try await fx.admin.committedOffsets(group: g, partitions: tps).isEmpty)
            let run = try await CLIBinary.run([
                "migrate", "--group", g, "--from", "zookeeper", "--to", "kafka", "--execute",
                "--bootstrap-server", fx.kafka.bootstrapServers,
            ])
            #expect(run.status == 0)
            #expect(run.stdout.contains("Copied 3 offsets of 1 group from zookeeper to kafka"))
            // A plain librdkafka consumer in the group (kcat, subscribe mode) starts at the committed offsets.
            let kcat = try #require(["/usr/bin/kcat", "/usr/local/bin/kcat"].first {
                FileManager.default.isExecutableFile(atPath: $0)
            })
            let first = try await firstOffsets(kcat: kcat, bootstrap: fx.kafka.bootstrapServers, group: g, topic: "events")
            #expect(first == [0: 5, 1: 17, 2: 29])
        }
    }

    /// The first offset a kcat group consumer reads per partition (until end of all partitions).
    private func firstOffsets(kcat: String, bootstrap: String, group: String, topic: String) async throws -> [Int32: Int64] {
        try await Task.detached {
            let process = Process()
            // Bounded: `timeout` ends kcat if the group never reaches the end of every partition.
            process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            process.arguments = [
                "60", kcat,
                "-C", "-b", bootstrap, "-G", group, "-X", "auto.offset.reset=error", "-X", "enable.auto.commit=false",
                "-f", "%p %o\\n", "-e", "-q", topic,
            ]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            var first: [Int32: Int64] = [:]
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                let parts = line.split(separator: " ")
                guard parts.count == 2, let p = Int32(parts[0]), let o = Int64(parts[1]) else { continue }
                if first[p] == nil { first[p] = o }
            }
            return first
        }.value
    }
}
