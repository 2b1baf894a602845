import Foundation
import Synchronization
import Testing
import ZKOffsets
import ZKOffsetsTool

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A `zkoffsets` process that keeps running (the exporter): its stdout collected line by line, stopped by SIGTERM.
final class RunningBinary: Sendable {
    private let process: Process
    private let output = CollectedText()

    init(_ arguments: [String], environment extra: [String: String] = [:]) throws {
        let url = try #require(CLIBinary.url)
        process = Process()
        process.executableURL = url
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["ZK_CONNECT"] = OperationsFixture.zooKeeperConnect
        environment["KAFKA_BOOTSTRAP"] = nil
        environment.merge(extra) { _, new in new }
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let output = self.output
        out.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
            } else {
                output.append(String(decoding: data, as: UTF8.self))
            }
        }
        try process.run()
    }

    var stdout: String { output.text }

    /// Sends SIGTERM and waits for the exit status.
    func stop() async -> Int32 {
        process.terminate()
        let process = self.process
        return await Task.detached {
            process.waitUntilExit()
            return process.terminationStatus
        }.value
    }

    /// The `http://host:port` the exporter printed it serves on.
    func servingURL() async throws -> String {
        var url: String?
        try await eventually("the exporter to print its address") {
            url = self.stdout.split(separator: "\n").first { $0.hasPrefix("Serving http://") }
                .flatMap { $0.split(separator: " ").dropFirst().first.map(String.init) }
            return url != nil
        }
        return try #require(url).replacingOccurrences(of: "/metrics", with: "")
    }
}

/// Text appended from another thread.
final class CollectedText: Sendable {
    private let value = Mutex("")
    func append(_ text: String) { value.withLock { $0 += text } }
    var text: String { value.withLock { $0 } }
}

/// GET `url`: status and body.
func httpGet(_ url: String) async throws -> (status: Int, body: String) {
    let (data, response) = try await URLSession.shared.data(from: try #require(URL(string: url)))
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
}

/// A TCP port on 127.0.0.1 that was free a moment ago (the system's choice for port 0).
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    try #require(fd >= 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
        }
    }
    try #require(bound)
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Prometheus text format -> `name{label="value",...}` with labels sorted by name -> value.
func parseExposition(_ text: String) -> [String: Double] {
    var samples: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
            continue
        }
        let series = line[..<space]
        guard let brace = series.firstIndex(of: "{") else {
            samples[String(series)] = value
            continue
        }
        let labels = series[series.index(after: brace)..<series.index(before: series.endIndex)]
            .split(separator: ",").map(String.init).sorted()
        samples["\(series[..<brace]){\(labels.joined(separator: ","))}"] = value
    }
    return samples
}

@Suite(
    "CLI: delete, copy, rename, prune, exporter", .serialized,
    .enabled(if: CLIBinary.url != nil, "zkoffsets is not built"))
struct ToolboxCLITests {
    @Test func deleteDryRunRefusalForceAndJSON() async throws {
        try await withOperationsFixture(topics: []) { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, 40)
            try await fx.put(g, "clicks", 0, 7)
            let before = try await fx.tree(g)
            let dryRun = try await CLIBinary.run(["delete", "--group", g])
            #expect(dryRun.status == 0)
            #expect(dryRun.stdout.hasSuffix(
                "Dry run: would delete group '\(g)' (2 offsets, 6 znodes). Run again with --execute to apply.\n"))
            #expect(try await fx.tree(g) == before)
            let topic = try await CLIBinary.run(["delete", "--group", g, "--topic", "events", "--output", "json"])
            let object = try JSONSerialization.jsonObject(with: Data(topic.stdout.utf8)) as? [String: Any]
            #expect((object?["offsets"] as? [[String: Any]])?.count == 1)
            #expect(object?["scope"] as? String == "topics")
            try await fx.addMember(g, "consumer-1")
            let withMember = try await fx.tree(g)
            let refused = try await CLIBinary.run(["delete", "--group", g, "--execute"])
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("refused") && refused.stderr.contains("consumer-1"))
            #expect(try await fx.tree(g) == withMember)
            let forced = try await CLIBinary.run(["delete", "--group", g, "--execute", "--force"])
            #expect(forced.status == 0)
            #expect(forced.stdout.contains("Deleted group '\(g)'"))
            #expect(try await fx.client.exists("/consumers/\(g)") == nil)
            let unknown = try await CLIBinary.run(["delete", "--group", g])
            #expect(unknown.status == 2)
        }
    }

    @Test func copyAndRenameThroughTheBinary() async throws {
        try await withOperationsFixture(topics: []) { fx in
            let (a, b, c) = (fx.group("clia"), fx.group("clib"), fx.group("clic"))
            try await fx.put(a, "events", 0, 40)
            try await fx.put(a, "events", 1, Array("41 ".utf8))
            let dryRun = try await CLIBinary.run(["copy", "--group", a, "--to-group", b])
            #expect(dryRun.status == 0)
            #expect(try await fx.client.exists("/consumers/\(b)") == nil)
            let copy = try await CLIBinary.run(["copy", "--group", a, "--to-group", b, "--execute"])
            #expect(copy.status == 0)
            #expect(copy.stdout.contains("Copied 2 offsets of '\(a)' to '\(b)' in 1 transaction."))
            #expect(try await fx.offsetBytes(b) == fx.offsetBytes(a))
            let again = try await CLIBinary.run(["copy", "--group", a, "--to-group", b, "--execute"])
            #expect(again.status == 1 && again.stderr.contains("already has 2 offset(s)"))
            let expected = try await fx.offsetBytes(b)
            let before = try await fx.tree(b)
            let renameDryRun = try await CLIBinary.run(["rename", "--group", b, "--to-group", c])
            #expect(renameDryRun.status == 0 && renameDryRun.stdout.contains("Dry run: would rename 2 offsets"))
            #expect(try await fx.tree(b) == before)
            #expect(try await fx.client.exists("/consumers/\(c)") == nil)
            let rename = try await CLIBinary.run(["rename", "--group", b, "--to-group", c, "--execute"])
            #expect(rename.status == 0)
            #expect(try await fx.client.exists("/consumers/\(b)") == nil)
            #expect(try await fx.offsetBytes(c) == expected)
        }
    }

    @Test func pruneListsOldGroupsAndDeletesThemWithExecute() async throws {
        try await withOperationsFixture(topics: []) { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, 40)
            let bad = try await CLIBinary.run(["prune", "--older-than", "30 days"])
            #expect(bad.status == 2)
            let recent = try await CLIBinary.run(["prune", "--older-than", "P1D", "--group", g])
            #expect(recent.status == 0 && !recent.stdout.contains(g))
            try await eventually("the group's commit to be older than 1 second") {
                try await CLIBinary.run(["prune", "--older-than", "PT1S", "--group", g]).stdout.contains(g)
            }
            let execute = try await CLIBinary.run(["prune", "--older-than", "PT1S", "--group", g, "--execute"])
            #expect(execute.status == 0)
            #expect(execute.stdout.contains("Deleted 1 group"))
            #expect(try await fx.client.exists("/consumers/\(g)") == nil)
        }
    }

    @Test func theExporterServesLagOverHTTPAndFollowsNewCommits() async throws {
        try await withOperationsFixture { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, 40)
            try await fx.put(g, "events", 2, 120)
            try await fx.addMember(g, "consumer-1")
            let exporter = try RunningBinary([
                "exporter", "--listen", "127.0.0.1:0", "--bootstrap-server", fx.kafka.bootstrapServers,
                "--interval", "1", "--group", g,
            ])
            let base = try await exporter.servingURL()
            var samples: [String: Double] = [:]
            try await eventually("a first collection") {
                let response = try await httpGet(base + "/metrics")
                samples = parseExposition(response.body)
                return response.status == 200
            }
            let p0 = "{consumergroup=\"\(g)\",partition=\"0\",topic=\"events\"}"
            #expect(samples["kafka_consumergroup_current_offset" + p0] == 40)
            #expect(samples["kafka_consumergroup_lag" + p0] == 60)
            #expect(samples["kafka_consumergroupzookeeper_lag_zookeeper" + p0] == 60)
            #expect(samples["kafka_consumergroup_lag{consumergroup=\"\(g)\",partition=\"2\",topic=\"events\"}"] == 0)
            #expect(samples["kafka_consumergroup_members{consumergroup=\"\(g)\"}"] == 1)
            #expect(samples["kafka_topic_partition_current_offset{partition=\"1\",topic=\"events\"}"] == 110)
            #expect(samples["zkoffsets_consumergroup_last_commit_age_seconds" + p0] != nil)
            #expect(samples["zkoffsets_up{source=\"zookeeper\"}"] == 1)
            #expect(samples["zkoffsets_up{source=\"kafka\"}"] == 1)
            #expect(try await httpGet(base + "/nothing").status == 404)
            try await fx.put(g, "events", 0, 90)
            try await eventually("the next collection to see the new commit") {
                parseExposition(try await httpGet(base + "/metrics").body)["kafka_consumergroup_lag" + p0] == 10
            }
            #expect(await exporter.stop() == 0)
        }
    }

    @Test func printConsumerServesItsCommitMetrics() async throws {
        let executable = try #require(TestEnvironment.executable("print-consumer"))
        try await withOperationsFixture(topics: [("metered", 2, 10)]) { fx in
            let g = fx.group()
            let port = try freeLoopbackPort()
            let consumer = try RunningConsumer(
                executable: executable,
                arguments: [
                    "--zookeeper", OperationsFixture.zooKeeperConnect, "--bootstrap-server", fx.kafka.bootstrapServers,
                    "--group", g, "--topic", "metered", "--exit-when-idle-ms", "3000",
                    "--metrics-listen", "127.0.0.1:\(port)",
                ])
            var samples: [String: Double] = [:]
            try await eventually("print-consumer to print the 30 messages and serve its commit metrics") {
                guard consumer.output.count == 30,
                    let response = try? await httpGet("http://127.0.0.1:\(port)/metrics"), response.status == 200
                else { return false }
                samples = parseExposition(response.body)
                return (samples["zkoffsets_commits_total{group=\"\(g)\"}"] ?? 0) >= 1
            }
            // The start positions (2 partitions) and at least one commit of each partition's progress.
            #expect((samples["zkoffsets_offsets_written_total{group=\"\(g)\"}"] ?? 0) >= 4)
            #expect(samples["zkoffsets_commits_fenced_total{group=\"\(g)\"}"] == 0)
            #expect(samples["zkoffsets_commit_duration_seconds_count{group=\"\(g)\"}"] != nil)
            // The first claim is a rebalance; both partitions started by the reset policy (no stored offset).
            #expect((samples["zkoffsets_rebalances_total{group=\"\(g)\"}"] ?? 0) >= 1)
            let resets = samples.filter { $0.key.hasPrefix("zkoffsets_offset_resets_total{") }.values.reduce(0, +)
            #expect(resets == 2, "\(samples.keys.filter { $0.contains("reset") })")
            #expect(try await consumer.wait() == 0)
        }
    }

    @Test func theExporterReportsZooKeeperDownAndKeepsServing() async throws {
        try await withOperationsFixture(topics: [("events", 1, 5)]) { fx in
            let exporter = try RunningBinary([
                "exporter", "--listen", "127.0.0.1:0", "--bootstrap-server", fx.kafka.bootstrapServers,
                "--zookeeper", "127.0.0.1:1", "--timeout", "2", "--interval", "1",
            ])
            let base = try await exporter.servingURL()
            var samples: [String: Double] = [:]
            try await eventually("a collection") {
                let response = try await httpGet(base + "/metrics")
                samples = parseExposition(response.body)
                return response.status == 200
            }
            #expect(samples["zkoffsets_up{source=\"zookeeper\"}"] == 0)
            #expect(samples["zkoffsets_up{source=\"kafka\"}"] == 1)
            #expect(samples["kafka_topic_partition_current_offset{partition=\"0\",topic=\"events\"}"] == 5)
            // Still collecting and serving after the failed collection.
            let first = try #require(samples["zkoffsets_collection_timestamp_seconds"])
            try await eventually("a later collection") {
                let later = parseExposition(try await httpGet(base + "/metrics").body)
                return (later["zkoffsets_collection_timestamp_seconds"] ?? 0) > first
                    && later["zkoffsets_up{source=\"zookeeper\"}"] == 0
            }
            #expect(await exporter.stop() == 0)
        }
    }
}
