import ArgumentParser
import ZKOffsets
import ZKOffsetsTool

/// `zkoffsets rename`: move a group's offsets to a new group id and remove the old group.
struct RenameCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rename", abstract: "Plan renaming a group (copy, then delete); apply it with --execute.",
        discussion: """
            Copies every offset znode of the group to --to-group byte for byte and deletes /consumers/<group>, in one
            transaction where it fits (when it does not, the copy is written first). Refuses while the group has
            registered members, and when the destination has offsets or members unless --force.
            """)

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var apply: ApplyOptions

    @Option(help: "The group to rename.")
    var group: String

    @Option(help: "Its new id.")
    var toGroup: String

    @Flag(help: "Write over the destination's offsets.")
    var force = false

    func run() async throws {
        try await connection.run("rename") { inventory, _ in
            let plan = try await GroupCopyPlan.read(
                inventory: inventory, source: group, destination: toGroup, rename: true, force: force)
            return try await applyCopy(plan, connection: connection, execute: apply.execute, client: inventory.client)
        }
    }
}
