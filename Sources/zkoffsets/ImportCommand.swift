import ArgumentParser
import Foundation
import ZKOffsets
import ZKOffsetsTool

/// `zkoffsets import`: offsets from a file `export` wrote (or Kafka's ExportZkOffsets), planned, then applied.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Read offsets from a file, print the plan, and write it with --execute.",
        discussion: """
            Parsing is strict: every bad line is reported with its number and nothing is written if there is one.
            A partition named in the file is written even if its znode holds malformed data (the plan shows it).
            Refuses groups with live members unless --force. Writes go in version-conditional transactions.
            """)

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var apply: ApplyOptions

    @Option(help: "The file to read ('-' for stdin).")
    var file: String

    @Option(help: "auto, zk, csv or json.")
    var format: ImportFormat = .auto

    @Flag(help: "Write even when a group has live members.")
    var force = false

    enum ImportFormat: String, ExpressibleByArgument, CaseIterable { case auto, zk, csv, json }

    func run() async throws {
        try await connection.run("import") { inventory, _ in
            let text = try readInputFile(file)
            let entries = try OffsetFile.parse(text, format: OffsetFileFormat(rawValue: format.rawValue))
            for group in Set(entries.map(\.group)).sorted() {
                try await inventory.refuseIfActive(group: group, force: force)
            }
            let plan = try await OffsetPlan.read(entries, inventory: inventory, overwriteMalformed: true)
            return try await applyPlan(plan, connection: connection, execute: apply.execute, client: inventory.client)
        }
    }
}

/// Reads a whole input file or stdin (`-`).
func readInputFile(_ path: String) throws -> String {
    let data: Data
    if path == "-" {
        data = FileHandle.standardInput.readDataToEndOfFile()
    } else {
        guard let contents = FileManager.default.contents(atPath: path) else {
            throw CommandFailure(code: 2, "cannot read \(path)")
        }
        data = contents
    }
    return String(decoding: data, as: UTF8.self)
}

/// Prints the plan and, with `execute`, applies it and prints the summary.
func applyPlan(_ plan: OffsetPlan, connection: ConnectionOptions, execute: Bool, client: ZooKeeperClient) async throws
    -> Int32
{
    printWarnings(plan.warnings)
    let pending = plan.pending.count
    let groups = Set(plan.pending.map(\.group)).count
    let unchanged = plan.changes.count - pending
    switch connection.output {
    case .json: output(plan.json)
    case .text: output(plan.table.text)
    }
    guard execute else {
        summaryLine(
            connection, "Dry run: \(counted(pending, "offset")) of \(counted(groups, "group")) would change"
                + " (\(unchanged) unchanged). Run again with --execute to apply.")
        return 0
    }
    let progress = ProgressLine(total: pending)
    let summary = try await plan.apply(client: client) { done, total in progress.update(done, total) }
    progress.finish()
    summaryLine(
        connection, "Wrote \(counted(summary.written, "offset")) of \(counted(summary.groups, "group")) in "
            + "\(counted(summary.transactions, "transaction")) (\(summary.unchanged) unchanged).")
    return 0
}

/// A closing sentence: on stdout with text output, on stderr with json (so stdout stays one JSON document).
func summaryLine(_ connection: ConnectionOptions, _ line: String) {
    if connection.output == .json { printError(line) } else { output(line) }
}
