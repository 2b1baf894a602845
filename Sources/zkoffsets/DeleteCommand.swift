import ArgumentParser
import ZKOffsets
import ZKOffsetsTool

/// `zkoffsets delete`: remove a whole group, or some of its topics' offsets (kafka-utils' `unsubscribe_topics`).
struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Plan removing a group (or some topics of it); apply it with --execute.",
        discussion: """
            Without --topic the whole of /consumers/<group> goes: offsets, owners, ids. With --topic T the topic's
            offsets and owner znodes go; with --topic T:P,P only those partitions'. Refuses while the group has
            registered members (children of /consumers/<group>/ids) unless --force. Deletes are version-conditional,
            in one transaction where it fits: a znode changed since the plan was read fails the command (exit 1).
            """)

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var apply: ApplyOptions

    @Option(help: "The group.")
    var group: String

    @Option(help: ArgumentHelp("Only this topic, or some of its partitions (repeatable).", valueName: "topic[:p,p...]"))
    var topic: [String] = []

    @Flag(help: "Delete even when the group has registered members.")
    var force = false

    func run() async throws {
        try await connection.run("delete") { inventory, _ in
            let scope: RemovalScope =
                topic.isEmpty ? .wholeGroup : .topics(try topic.map { try TopicSelection(parsing: $0) })
            let plan = try await GroupRemovalPlan.read(inventory: inventory, group: group, scope: scope, force: force)
            if !plan.members.isEmpty {
                printWarnings(["group '\(group)' has registered members (\(plan.members.joined(separator: ", "))); "
                    + "deleting anyway (--force)"])
            }
            switch connection.output {
            case .json: output(plan.json)
            case .text: output(plan.table.text)
            }
            let what =
                topic.isEmpty
                ? "group '\(group)' (\(counted(plan.offsets.count, "offset")), \(counted(plan.nodes.count, "znode")))"
                : "\(counted(plan.offsets.count, "offset")) of group '\(group)' (\(counted(plan.nodes.count, "znode")))"
            guard apply.execute else {
                summaryLine(connection, "Dry run: would delete \(what). Run again with --execute to apply.")
                return 0
            }
            let transactions = try await plan.apply(client: inventory.client)
            summaryLine(connection, "Deleted \(what) in \(counted(transactions, "transaction")).")
            return 0
        }
    }
}
