import ArgumentParser
import ZKOffsets
import ZKOffsetsTool

/// `zkoffsets copy`: give another group the same offsets, byte for byte (kafka-utils' `copy_group`).
struct CopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy", abstract: "Plan copying a group's offsets to another group; apply it with --execute.",
        discussion: """
            The destination gets every offset znode of the source with its exact bytes. Refuses when the destination
            already has offsets or registered members, unless --force (then the source's partitions are overwritten
            and the destination's other offsets kept). Writes are version-conditional, in one transaction where it
            fits; a source offset changed since the plan was read fails the copy (exit 1).
            """)

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var apply: ApplyOptions

    @Option(help: "The group to copy from.")
    var group: String

    @Option(help: "The group to copy to.")
    var toGroup: String

    @Flag(help: "Write over the destination's offsets.")
    var force = false

    func run() async throws {
        try await connection.run("copy") { inventory, _ in
            let plan = try await GroupCopyPlan.read(
                inventory: inventory, source: group, destination: toGroup, rename: false, force: force)
            return try await applyCopy(plan, connection: connection, execute: apply.execute, client: inventory.client)
        }
    }
}

/// Prints a copy or rename plan and, with `execute`, applies it.
func applyCopy(_ plan: GroupCopyPlan, connection: ConnectionOptions, execute: Bool, client: ZooKeeperClient)
    async throws -> Int32
{
    switch connection.output {
    case .json: output(plan.json)
    case .text: output(plan.table.text)
    }
    let offsets = counted(plan.offsets.count, "offset")
    let verb = plan.isRename ? "rename" : "copy"
    let what = "\(offsets) of '\(plan.source)' to '\(plan.destination)'"
        + (plan.isRename ? " and delete '\(plan.source)'" : "")
    guard execute else {
        summaryLine(connection, "Dry run: would \(verb) \(what). Run again with --execute to apply.")
        return 0
    }
    let transactions = try await plan.apply(client: client)
    summaryLine(
        connection,
        (plan.isRename ? "Renamed: copied " : "Copied ")
            + what.replacingOccurrences(of: " and delete", with: ", deleted")
            + " in \(counted(transactions, "transaction")).")
    return 0
}
