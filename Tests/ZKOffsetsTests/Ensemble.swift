import Foundation
import Synchronization
import Testing

/// What a finished script printed and how it exited.
struct ScriptResult: Sendable {
    var status: Int32
    var standardOutput: String
    var standardError: String
}

/// Runs a script (scripts/zk-server) to its end, with a deadline.
///
/// Foundation's `Process` on Linux learns that its child exited when a socket the child inherited is closed by
/// every process holding it, so a daemon the script leaves behind with that descriptor open makes
/// `waitUntilExit` and `terminationHandler` wait for the daemon. scripts/zk-server closes every inherited
/// descriptor for its servers; the deadline turns any regression into a failure that quotes the script's stderr
/// instead of a stuck test run.
enum Script {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        timeout: Duration = .seconds(90)
    ) async throws -> ScriptResult {
        let directory = FileManager.default.temporaryDirectory
        let stdout = directory.appendingPathComponent("script-\(UUID().uuidString).out")
        let stderr = directory.appendingPathComponent("script-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: stdout.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: stdout)
            try? FileManager.default.removeItem(at: stderr)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        // Files, not pipes: nothing here waits for an end of file that a leftover child could hold back.
        let outputHandle = try FileHandle(forWritingTo: stdout)
        let errorHandle = try FileHandle(forWritingTo: stderr)
        // Closed here, not left to deallocation: waiting for a node polls this hundreds of times, and descriptors
        // left open until then piled up (a CI run crashed inside Process.run after such a minute of polling).
        defer {
            try? outputHandle.close()
            try? errorHandle.close()
        }
        process.standardOutput = outputHandle
        process.standardError = errorHandle
        process.standardInput = FileHandle.nullDevice
        let exited = Exit()
        process.terminationHandler = { exited.signal($0.terminationStatus) }
        try process.run()
        let status = await exited.wait(timeout: timeout)
        let output = (try? String(contentsOf: stdout, encoding: .utf8)) ?? ""
        let errors = (try? String(contentsOf: stderr, encoding: .utf8)) ?? ""
        guard let status else {
            kill(process.processIdentifier, SIGKILL)
            throw Failure(
                description: "\(executable) \(arguments.joined(separator: " ")) did not exit within \(timeout); "
                    + "stderr:\n\(errors)"
            )
        }
        return ScriptResult(status: status, standardOutput: output, standardError: errors)
    }

    /// The exit status, delivered once by the termination handler.
    private final class Exit: Sendable {
        private let state = Mutex<(status: Int32?, waiter: CheckedContinuation<Int32?, Never>?)>((nil, nil))

        func signal(_ status: Int32) {
            let waiter = state.withLock { state in
                state.status = status
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: status)
        }

        func wait(timeout: Duration) async -> Int32? {
            await withTaskGroup(of: Int32?.self) { group in
                group.addTask {
                    await withCheckedContinuation { continuation in
                        let done: Int32? = self.state.withLock { state in
                            if let status = state.status { return status }
                            state.waiter = continuation
                            return nil
                        }
                        if let done { continuation.resume(returning: done) }
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    return nil
                }
                let first = await group.next() ?? nil
                if first == nil {
                    // Timed out: release the waiter (the process is killed by the caller).
                    let waiter = self.state.withLock { state in
                        defer { state.waiter = nil }
                        return state.waiter
                    }
                    waiter?.resume(returning: nil)
                }
                group.cancelAll()
                return first
            }
        }
    }
}

/// The 3-node ZooKeeper ensemble scripts/test starts (`ZK_ENSEMBLE_CONNECT`, `ZK_ENSEMBLE_DIR`), driven through
/// scripts/zk-server: which node leads, stop/start/kill a node, freeze and thaw all of them.
struct Ensemble: Sendable {
    let connectString: String
    let directory: String
    let script: String

    /// The ensemble of this run, or nil when scripts/test did not start one.
    static var fromEnvironment: Ensemble? {
        let environment = ProcessInfo.processInfo.environment
        guard let connect = environment["ZK_ENSEMBLE_CONNECT"], let directory = environment["ZK_ENSEMBLE_DIR"] else {
            return nil
        }
        let script = environment["ZK_SERVER_SCRIPT"] ?? Self.repositoryRoot + "/scripts/zk-server"
        return Ensemble(connectString: connect, directory: directory, script: script)
    }

    static var repositoryRoot: String {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) { break }
            directory.deleteLastPathComponent()
        }
        return directory.path
    }

    var nodes: [Int] { Array(1...connectString.split(separator: ",").count) }

    /// The client port of node `n`.
    func port(_ node: Int) throws -> Int {
        let text = try String(contentsOfFile: "\(directory)/node.\(node)/port", encoding: .utf8)
        guard let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw Script.Failure(description: "no port for node \(node)")
        }
        return port
    }

    /// The pid of node `n`'s JVM.
    func pid(_ node: Int) throws -> pid_t {
        let text = try String(contentsOfFile: "\(directory)/node.\(node)/pid", encoding: .utf8)
        guard let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw Script.Failure(description: "no pid for node \(node)")
        }
        return pid
    }

    @discardableResult
    func zkServer(_ arguments: [String]) async throws -> ScriptResult {
        let result = try await Script.run(script, arguments + ["--dir", directory])
        guard result.status == 0 else {
            throw Script.Failure(
                description: "zk-server \(arguments.joined(separator: " ")) exited \(result.status):\n\(result.standardError)"
            )
        }
        return result
    }

    /// Each serving node's `Mode:` (leader, follower), by node number; nodes that do not answer are absent.
    func modes() async throws -> [Int: String] {
        let result = try await Script.run(script, ["status", "--dir", directory])
        var modes: [Int: String] = [:]
        for line in result.standardError.split(separator: "\n") where line.hasPrefix("node ") {
            // "node 2 127.0.0.1:port pid 123 Mode: leader"
            let words = line.split(separator: " ")
            guard words.count >= 2, let node = Int(words[1]), let mode = line.split(separator: "Mode: ").last
            else { continue }
            if mode == "leader" || mode == "follower" { modes[node] = String(mode) }
        }
        return modes
    }

    /// The node that leads now, waiting (up to `timeout`) for an election to finish.
    func leader(timeout: Duration = .seconds(60)) async throws -> Int {
        var found: Int?
        try await eventually(timeout: timeout, "the ensemble elects a leader") {
            found = try await modes().first { $0.value == "leader" }?.key
            return found != nil
        }
        return found!
    }

    /// Waits until every node of `expected` serves (leader or follower).
    func waitUntilServing(_ expected: [Int], timeout: Duration = .seconds(60)) async throws {
        try await eventually(timeout: timeout, "nodes \(expected) serve") {
            let modes = try await modes()
            return expected.allSatisfy { modes[$0] != nil } && modes.values.contains("leader")
        }
    }

    /// SIGKILLs node `n` (a crash: no clean shutdown) and waits until its process is gone.
    func kill(_ node: Int) async throws {
        let pid = try pid(node)
        Glibc.kill(pid, SIGKILL)
        try await eventually("node \(node) (pid \(pid)) is gone") { Glibc.kill(pid, 0) != 0 }
    }

    /// Starts node `n` again and waits until it serves.
    func start(_ node: Int) async throws {
        try await zkServer(["start-node", "\(node)"])
    }

    /// SIGSTOPs (true) or SIGCONTs (false) every node: the ensemble freezes as a whole, connections stay open.
    func freeze(_ frozen: Bool) throws {
        for node in nodes {
            Glibc.kill(try pid(node), frozen ? SIGSTOP : SIGCONT)
        }
    }
}
