import ArgumentParser
import ZKOffsets

/// `zkoffsets migrate`: copy groups' offsets between ZooKeeper and the brokers' group offset storage.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Copy offsets between ZooKeeper and Kafka's own group offsets.",
        discussion: """
            Both sides store the next offset to consume: values are copied unchanged (no -1 shift). Refuses a group
            with live members in ZooKeeper or on the brokers. From Kafka, the partitions asked about are those of
            --topic, or of every topic on the brokers; --all-groups means the groups under /consumers.
            """)

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var apply: ApplyOptions

    @Option(help: "A group (repeatable).")
    var group: [String] = []

    @Flag(help: "Every group under /consumers.")
    var allGroups = false

    @Option(help: "zookeeper or kafka.")
    var from: OffsetStorage

    @Option(help: "kafka or zookeeper.")
    var to: OffsetStorage

    @Option(help: "Only this topic (repeatable).")
    var topic: [String] = []

    @Flag(help: "Migrate even when a group has live members in ZooKeeper.")
    var force = false

    func validate() throws {
        guard allGroups != !group.isEmpty else { throw ValidationError("give either --group or --all-groups") }
        guard from != to else { throw ValidationError("--from and --to must differ") }
    }

    func run() async throws {
        try await connection.run("migrate", kafka: .required) { inventory, admin in
            guard let admin else { return 2 }
            let groups = allGroups ? try await inventory.groups().map(\.group) : group
            let plan = try await Migration.plan(
                inventory: inventory, admin: admin, groups: groups, from: from, to: to,
                topics: topic.isEmpty ? nil : topic, force: force, timeout: connection.timeoutDuration)
            printWarnings(plan.warnings)
            let pending = plan.pending.count
            switch connection.output {
            case .json: output(plan.json)
            case .text: output(plan.table.text)
            }
            guard apply.execute else {
                summaryLine(
                    connection,
                    "Dry run: \(counted(pending, "offset")) of \(counted(Set(plan.pending.map(\.group)).count, "group")) "
                        + "would be copied from \(from.rawValue) to \(to.rawValue) "
                        + "(\(plan.changes.count - pending) already equal). Run again with --execute to apply.")
                return 0
            }
            let progress = ProgressLine(total: pending)
            let summary = try await Migration.apply(
                plan, inventory: inventory, admin: admin, timeout: connection.timeoutDuration * 3
            ) { done, total in progress.update(done, total) }
            progress.finish()
            summaryLine(
                connection,
                "Copied \(counted(summary.written, "offset")) of \(counted(summary.groups, "group")) from "
                    + "\(from.rawValue) to \(to.rawValue) in \(counted(summary.transactions, "transaction")) "
                    + "(\(summary.unchanged) already equal).")
            return 0
        }
    }
}

extension OffsetStorage: ExpressibleByArgument {}
