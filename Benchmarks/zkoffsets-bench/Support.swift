import Foundation

/// Progress lines go to stderr; stdout is reserved for the markdown tables.
func progress(_ message: String) {
    FileHandle.standardError.write(Data("bench: \(message)\n".utf8))
}

/// Prints markdown to stdout.
func emit(_ line: String = "") {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func median(_ values: [Double]) -> Double {
    precondition(!values.isEmpty, "median of nothing")
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

extension Duration {
    var microseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1e6 + Double(attoseconds) / 1e12
    }
}

/// Times `body` once, in microseconds.
func timeMicroseconds(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    return (ContinuousClock.now - start).microseconds
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a program to completion; returns its stdout lines. Its stderr passes through. Throws on a non-zero exit.
func runProgram(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> [String] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.standardError
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let output = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0 else {
        throw BenchFailure(
            "\(executable) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus); stdout: \(output)")
    }
    return output.split(whereSeparator: \.isNewline).map(String.init)
}

/// Runs a timing baseline that prints one elapsed-microseconds line per repetition.
func runTimings(_ executable: String, _ arguments: [String]) throws -> [Double] {
    let lines = try runProgram(executable, arguments)
    let values = lines.compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.count == lines.count else {
        throw BenchFailure("\(executable) printed no timings: \(lines)")
    }
    return values
}

/// `key=value` lines, as the Kafka baselines and child processes print them.
func keyValues(_ lines: [String]) -> [String: String] {
    var result: [String: String] = [:]
    for line in lines {
        guard let equals = line.firstIndex(of: "=") else { continue }
        result[String(line[..<equals])] = String(line[line.index(after: equals)...])
    }
    return result
}

func ms(_ microseconds: Double) -> String {
    if microseconds >= 100_000 { return String(format: "%.0f", microseconds / 1000) }
    if microseconds >= 10_000 { return String(format: "%.1f", microseconds / 1000) }
    return String(format: "%.2f", microseconds / 1000)
}

func ratio(_ value: Double) -> String {
    value >= 100 ? String(format: "%.0fx", value) : value >= 10 ? String(format: "%.1fx", value) : String(format: "%.2fx", value)
}

func rate(_ perSecond: Double) -> String {
    if perSecond >= 1_000_000 { return String(format: "%.2f M", perSecond / 1e6) }
    if perSecond >= 1_000 { return String(format: "%.1f k", perSecond / 1e3) }
    return String(format: "%.0f", perSecond)
}

func verdict(_ ok: Bool) -> String { ok ? "met" : "**missed**" }

/// Peak RSS of this process image in MB: VmHWM of /proc/self/status. (getrusage's ru_maxrss would carry the
/// parent's peak across fork and exec: a child of the bench, which holds the mock cluster, would report that.)
func peakRSSMegabytes() -> Double { statusMegabytes("VmHWM") }

/// The anonymous part of this process's RSS now, in MB (RssAnon: heap and stacks, not the pages of the program
/// and its libraries).
func anonymousRSSMegabytes() -> Double { statusMegabytes("RssAnon") }

/// A `Name:   123 kB` line of /proc/self/status, in MB.
private func statusMegabytes(_ name: String) -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }),
        let kb = Double(line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
    else { return .nan }
    return kb / 1024
}

/// User + system CPU seconds of this process so far.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

/// A baseline process in driven mode: it prints `ready` after its warmup, then runs one timed repetition per
/// line we send and answers with the elapsed microseconds. Lets the bench interleave implementations in
/// lockstep, so that a noisy moment of the machine (fsync latency varies a lot here) hits all of them alike.
final class DrivenBaseline {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var buffer: [UInt8] = []
    let name: String

    init(_ name: String, _ executable: String, _ arguments: [String]) throws {
        self.name = name
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        let first = try readLine()
        guard first == "ready" else { throw BenchFailure("\(name): expected 'ready', got '\(first)'") }
    }

    /// One timed repetition, in microseconds.
    func measure() throws -> Double {
        input.fileHandleForWriting.write(Data("go\n".utf8))
        let line = try readLine()
        guard let value = Double(line) else { throw BenchFailure("\(name): expected a timing, got '\(line)'") }
        return value
    }

    func finish() throws {
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchFailure("\(name) exited with \(process.terminationStatus)") }
    }

    private func readLine() throws -> String {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            let data = output.fileHandleForReading.availableData
            if data.isEmpty {
                process.waitUntilExit()
                throw BenchFailure("\(name) ended early (exit status \(process.terminationStatus))")
            }
            buffer += data
        }
    }
}

/// Starts a program with stdout to /dev/null and stderr passed through.
func startProcess(_ executable: String, _ arguments: [String]) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.standardError
    try process.run()
    return process
}
