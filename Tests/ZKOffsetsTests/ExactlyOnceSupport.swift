import Foundation
import Synchronization
import Testing
import ZKOffsets
import ZKOffsetsTool

/// Helpers of the exactly-once tests: the word-count executable, a deterministic text and its true counts,
/// and reading what ZooKeeper holds.
enum ExactlyOnceSupport {
    /// The built `word-count` next to the test bundle (swift test builds it), or in the package's build dirs.
    static func wordCountExecutable() -> URL? {
        var candidates: [URL] = []
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        // The bundle is .../debug/zkoffsetsPackageTests.xctest (a file on Linux, a directory on macOS).
        for _ in 0..<4 {
            candidates.append(directory.appendingPathComponent("word-count"))
            directory.deleteLastPathComponent()
        }
        candidates.append(Bundle.main.bundleURL.appendingPathComponent("word-count"))
        if let fallback = TestEnvironment.executable("word-count") { candidates.append(fallback) }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// `count` messages of 1 to 12 words drawn from a small vocabulary (with words that must be escaped as znode
    /// names), the same for every run.
    static func messages(count: Int) -> [String] {
        let vocabulary = (0..<150).map { "w\($0)" } + ["a/b", ".", "..", "100%", "caf\u{e9}", "zookeeper"]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {  // xorshift: deterministic and good enough to spread words
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(bound))
        }
        return (0..<count).map { _ in
            (0...next(12)).map { _ in vocabulary[next(vocabulary.count)] }.joined(separator: next(4) == 0 ? "\t" : " ")
        }
    }

    /// The true counts of `messages` split on ASCII whitespace, by word.
    static func trueCounts(_ messages: [String]) -> [String: Int64] {
        var counts: [String: Int64] = [:]
        for message in messages {
            for word in message.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
                counts[String(word), default: 0] += 1
            }
        }
        return counts
    }

    /// The counts under /wordcount/<group>, by word (znode names percent-decoded).
    static func storedCounts(_ client: ZooKeeperClient, group: String) async throws -> [String: Int64] {
        let root = "/wordcount/\(group)"
        let names: [String]
        do {
            names = try await client.children(root).names
        } catch {
            if error.code == .noNode { return [:] }
            throw error
        }
        var counts: [String: Int64] = [:]
        for (name, result) in zip(names, await client.getData(names.map { "\(root)/\($0)" })) {
            let node = try result.get()
            let value = try #require(node.string.flatMap { Int64($0) }, "\(root)/\(name) holds \(node.bytes)")
            counts[percentDecoded(name)] = value
        }
        return counts
    }

    static func percentDecoded(_ name: String) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(name.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
                let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The sum of the group's committed offsets of `topic` (the number of messages committed).
    static func committed(_ client: ZooKeeperClient, group: String, topic: String) async throws -> Int64 {
        let store = try ZooKeeperOffsetStore(client: client, group: group)
        return try await store.read(topics: [topic]).values.reduce(0) { $0 + ($1.offset ?? 0) }
    }
}

/// A word-count subprocess; its stderr goes to a file that failures quote.
final class WordCountProcess: Sendable {
    private struct UncheckedProcess: @unchecked Sendable { let value: Process }
    private let process: UncheckedProcess
    let stderrPath: String

    init(executable: URL, arguments: [String]) throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        stderrPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("word-count-\(UUID().uuidString).err").path
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        self.process = UncheckedProcess(value: process)
        try process.run()
    }

    var isRunning: Bool { process.value.isRunning }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// SIGKILL: no graceful shutdown, no last commit.
    func kill() async throws {
        Glibc.kill(process.value.processIdentifier, SIGKILL)
        try await eventually("word-count is gone after SIGKILL") { !isRunning }
    }

    /// The exit status once the process ended by itself.
    func exitStatus(timeout: Duration = .seconds(30)) async throws -> Int32 {
        try await eventually(timeout: timeout, "word-count exits") { !isRunning }
        return process.value.terminationStatus
    }

    deinit {
        if process.value.isRunning { Glibc.kill(process.value.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: stderrPath)
    }
}
