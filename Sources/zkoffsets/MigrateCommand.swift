import ArgumentParser
import ZKOffsets
import ZKOffsetsTool

/// `zkoffsets migrate`: copy groups' offsets between ZooKeeper and the brokers' group offset storage, or carry a
/// group's ZooKeeper-stored offsets to a new cluster by message time.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy offsets between ZooKeeper and Kafka's own group offsets, or carry them to a new cluster.",
        discussion: """
            Same cluster (--from/--to): both sides store the next offset to consume, values are copied unchanged \
            (no -1 shift). From Kafka, the partitions asked about are those of --topic, or of every topic on the \
            brokers; --all-groups means the groups under /consumers.

            New cluster (--to-bootstrap-server): the group's ZooKeeper offsets on the current cluster \
            (--zookeeper, --bootstrap-server) are translated by message time to the new cluster, whose topics \
            hold the same messages at other offsets: the next message to consume has a time T, the new offset \
            is the first message at or after T (at the old log end: the first after the last consumed one; \
            nothing consumed: the new log start). The new offsets go to Kafka's group offsets on the new \
            brokers, or to --to-zookeeper. A topic missing on a side, a partition count that differs or an \
            untranslatable partition is reported and refused (exit 1).

            Both refuse a group with live members in ZooKeeper or on the brokers (of either cluster).
            """)

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var apply: ApplyOptions

    @Option(help: "A group (repeatable; exactly one with --to-bootstrap-server).")
    var group: [String] = []

    @Flag(help: "Every group under /consumers (not with --to-bootstrap-server).")
    var allGroups = false

    @Option(help: "zookeeper or kafka (with --to-bootstrap-server: zookeeper, the default).")
    var from: OffsetStorage?

    @Option(help: "kafka or zookeeper (with --to-bootstrap-server: implied by --to-zookeeper).")
    var to: OffsetStorage?

    @Option(
        name: .customLong("to-bootstrap-server"),
        help: ArgumentHelp("The new cluster's brokers: carry the offsets there by message time.", valueName: "servers"))
    var toBootstrapServer: String?

    @Option(
        name: .customLong("to-zookeeper"),
        help: ArgumentHelp(
            "Store the carried offsets in this ZooKeeper (Kafka 0.8 layout) instead of the new brokers.",
            valueName: "hosts"))
    var toZookeeper: String?

    @Option(
        name: .customLong("to-property"),
        help: ArgumentHelp(
            "A librdkafka property for the new cluster (repeatable; -X is the old one's).",
            valueName: "key=value"))
    var toProperties: [String] = []

    @Option(help: "Only this topic (repeatable).")
    var topic: [String] = []

    @Flag(help: "Migrate even when a group has live members in ZooKeeper.")
    var force = false

    func validate() throws {
        if let toBootstrapServer {
            guard !toBootstrapServer.isEmpty else { throw ValidationError("--to-bootstrap-server is empty") }
            guard group.count == 1, !allGroups else {
                throw ValidationError("--to-bootstrap-server carries exactly one --group")
            }
            guard from == nil || from == .zookeeper else {
                throw ValidationError("--to-bootstrap-server carries ZooKeeper-stored offsets: --from zookeeper")
            }
            let target: OffsetStorage = toZookeeper == nil ? .kafka : .zookeeper
            guard to == nil || to == target else {
                throw ValidationError(
                    "with --to-bootstrap-server the target is kafka, or zookeeper with --to-zookeeper")
            }
            do {
                _ = try KafkaConfiguration.properties(fromArguments: toProperties)
            } catch let error as KafkaError {
                throw ValidationError(error.message)
            }
            return
        }
        guard toZookeeper == nil, toProperties.isEmpty else {
            throw ValidationError("--to-zookeeper and --to-property need --to-bootstrap-server")
        }
        guard allGroups != !group.isEmpty else { throw ValidationError("give either --group or --all-groups") }
        guard let from, let to else { throw ValidationError("give --from and --to (or --to-bootstrap-server)") }
        guard from != to else { throw ValidationError("--from and --to must differ") }
        guard from != .dual && to != .dual else {
            throw ValidationError("dual is a consumer setting, not a store: --from and --to take zookeeper or kafka")
        }
    }

    func run() async throws {
        if let toBootstrapServer {
            try await carry(to: toBootstrapServer)
            return
        }
        guard let from, let to else { throw ExitCode(2) }
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

    /// The cross-cluster migration: plan, print, and apply with --execute.
    private func carry(to newBootstrap: String) async throws {
        let groupName = group[0]
        try await connection.run("migrate", kafka: .required) { inventory, oldAdmin in
            guard let oldAdmin, let oldBootstrap = connection.kafkaBootstrap else { return 2 }
            let oldKafka = KafkaConfiguration(
                bootstrapServers: oldBootstrap,
                properties: try KafkaConfiguration.properties(fromArguments: connection.properties))
            let newKafka = KafkaConfiguration(
                bootstrapServers: newBootstrap,
                properties: try KafkaConfiguration.properties(fromArguments: toProperties))
            let newAdmin: KafkaAdminClient
            do {
                newAdmin = try KafkaAdminClient(configuration: newKafka, logger: CommandLogging.logger("kafka-new"))
            } catch {
                throw CommandFailure(code: 2, "new cluster's Kafka configuration: \(error)")
            }
            var targetClient: ZooKeeperClient?
            do {
                if let toZookeeper {
                    targetClient = try await connectTarget(toZookeeper)
                }
                let code = try await carry(
                    group: groupName, inventory: inventory, oldAdmin: oldAdmin, oldKafka: oldKafka, newAdmin: newAdmin,
                    newKafka: newKafka, target: targetClient.map { .zookeeper(GroupInventory(client: $0)) } ?? .kafka)
                await targetClient?.close()
                await newAdmin.close()
                return code
            } catch let error as KafkaError {
                await targetClient?.close()
                await newAdmin.close()
                throw CommandFailure(code: 2, "Kafka: \(error.message) (\(error.code))")
            } catch {
                await targetClient?.close()
                await newAdmin.close()
                throw error
            }
        }
    }

    private func carry(
        group: String, inventory: GroupInventory, oldAdmin: KafkaAdminClient, oldKafka: KafkaConfiguration,
        newAdmin: KafkaAdminClient, newKafka: KafkaConfiguration, target: ClusterMigrationTarget
    ) async throws -> Int32 {
        let plan = try await ClusterMigration.plan(
            group: group, source: inventory, oldAdmin: oldAdmin, oldKafka: oldKafka, newAdmin: newAdmin,
            newKafka: newKafka, target: target, topics: topic.isEmpty ? nil : topic, force: force,
            timeout: connection.timeoutDuration, logger: CommandLogging.logger("migrate"))
        printWarnings(plan.warnings)
        switch connection.output {
        case .json: output(plan.json)
        case .text: output(plan.table.text)
        }
        let where_ = toZookeeper.map { "ZooKeeper \($0)" } ?? "the brokers of \(newKafka.bootstrapServers)"
        if plan.isRefused {
            for refusal in plan.allRefusals { printError("zkoffsets: refused: \(refusal)") }
            printError("zkoffsets: refused: nothing was written")
            return 1
        }
        let pending = plan.pending.count
        guard apply.execute else {
            summaryLine(
                connection,
                "Dry run: \(counted(pending, "offset")) of group \(group) would be written to \(where_) "
                    + "(\(plan.translations.count - pending) already equal). Run again with --execute to apply.")
            return 0
        }
        let progress = ProgressLine(total: pending)
        let summary = try await ClusterMigration.apply(
            plan, newAdmin: newAdmin, timeout: connection.timeoutDuration * 3
        ) {
            done, total in progress.update(done, total)
        }
        progress.finish()
        summaryLine(
            connection,
            "Wrote \(counted(summary.written, "offset")) of group \(group) to \(where_) in "
                + "\(counted(summary.transactions, "transaction")) (\(summary.unchanged) already equal).")
        return 0
    }

    private func connectTarget(_ connect: String) async throws -> ZooKeeperClient {
        let configuration = ZooKeeperConfiguration(
            connectString: connect, sessionTimeout: .seconds(max(connection.timeout, 4)),
            connectTimeout: connection.timeoutDuration)
        do {
            return try await ZooKeeperClient.connect(configuration, logger: CommandLogging.logger("zookeeper-new"))
        } catch {
            throw CommandFailure(code: 2, "cannot connect to the new ZooKeeper at \(connect): \(error.message)")
        }
    }
}

extension OffsetStorage: ExpressibleByArgument {}
