import ArgumentParser
import ZKOffsets
import ZKOffsetsTool

/// `zkoffsets prune`: delete groups nobody has committed for since a while (ZooKeeper offsets never expire).
struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "List groups with no members and no commit for a while; delete with --execute.",
        discussion: """
            A group is listed when it has no registered member and its newest offset write (the greatest offset znode
            mtime, or the group's creation when it has no offsets) is older than --older-than. Each listed group is
            deleted whole, version-conditionally: a group that got a commit or a member since the plan is kept and
            reported (exit 1).
            """)

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var apply: ApplyOptions

    @Option(help: ArgumentHelp("Age of the newest commit, ISO-8601 (P30D, PT12H ...).", valueName: "PnDTnHnMnS"))
    var olderThan: String

    @Option(help: "Only this group (repeatable).")
    var group: [String] = []

    func validate() throws {
        do {
            _ = try ResetTarget.parseDuration(olderThan)
        } catch {
            throw ValidationError(error.message)
        }
    }

    func run() async throws {
        try await connection.run("prune") { inventory, _ in
            let millis = try ResetTarget.parseDuration(olderThan)
            let now = nowMillis()
            let plan = try await PrunePlan.read(
                inventory: inventory, olderThanMillis: millis, groups: group.isEmpty ? nil : group, nowMillis: now)
            switch connection.output {
            case .json: output(plan.json)
            case .text: output(plan.table(nowMillis: now).text)
            }
            let found = "\(counted(plan.candidates.count, "group")) of \(plan.scanned) with no members and no commit "
                + "for \(olderThan)"
            guard apply.execute else {
                summaryLine(connection, "Dry run: \(found) would be deleted. Run again with --execute to apply.")
                return 0
            }
            let outcome = try await plan.apply(client: inventory.client)
            summaryLine(connection, "Deleted \(counted(outcome.deleted.count, "group")) (\(found)).")
            for kept in outcome.kept { printError("zkoffsets: kept '\(kept.group)': \(kept.reason)") }
            return outcome.kept.isEmpty ? 0 : 1
        }
    }
}
