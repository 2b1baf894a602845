import ArgumentParser
import ZKOffsets
import ZKOffsetsTool

/// `zkoffsets reset`: move a ZooKeeper group's offsets (to a time, an offset, the log start or end ...).
struct ResetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset", abstract: "Plan a reset of a group's offsets; apply it with --execute.",
        discussion: """
            Targets outside [log start, log end] are clamped with a warning. Refuses while the group has live
            members (children of /consumers/<group>/ids) unless --force. A znode with malformed data is replaced only
            when its partition is named (--topic T:P, or a line of --from-file); otherwise the reset is refused.
            """)

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var apply: ApplyOptions

    @Option(help: "The group.")
    var group: String

    @Flag(help: "Every topic the group has offsets for.")
    var allTopics = false

    @Option(help: ArgumentHelp("A topic, or some of its partitions (repeatable).", valueName: "topic[:p,p...]"))
    var topic: [String] = []

    @Flag(help: "To the log start.") var toEarliest = false
    @Flag(help: "To the log end.") var toLatest = false
    @Option(help: "To this offset.") var toOffset: Int64?
    @Option(parsing: .unconditional, help: "By this many offsets (negative: back).") var shiftBy: Int64?
    @Option(help: ArgumentHelp("To the first message at or after this time.", valueName: "ISO-8601"))
    var toDatetime: String?
    @Option(help: ArgumentHelp("To the first message at or after now minus this.", valueName: "PnDTnHnMnS"))
    var byDuration: String?
    @Flag(help: "To the stored offset (rewrites non-canonical data, clamps out-of-range offsets).")
    var toCurrent = false
    @Option(help: "To the offsets of this file (export formats, or topic,partition,offset lines).")
    var fromFile: String?

    @Flag(help: "Reset even when the group has live members.")
    var force = false

    func validate() throws {
        let targets = [toEarliest, toLatest, toOffset != nil, shiftBy != nil, toDatetime != nil, byDuration != nil,
            toCurrent, fromFile != nil].filter { $0 }.count
        guard targets == 1 else {
            throw ValidationError(
                "give exactly one of --to-earliest, --to-latest, --to-offset, --shift-by, --to-datetime, "
                    + "--by-duration, --to-current, --from-file")
        }
        guard allTopics != !topic.isEmpty else { throw ValidationError("give either --all-topics or --topic") }
        if let toOffset, toOffset < 0 { throw ValidationError("--to-offset must be >= 0") }
    }

    func run() async throws {
        try await connection.run("reset", kafka: .required) { inventory, admin in
            guard let admin else { return 2 }
            let target = try resetTarget()
            let scope: ResetScope =
                allTopics ? .allTopics : .topics(try topic.map { try TopicSelection(parsing: $0) })
            try OffsetLayout.validateGroup(group)
            try await inventory.refuseIfActive(group: group, force: force)  // the planner checks the group exists
            let plan = try await ResetPlanner.plan(
                inventory: inventory, admin: admin, group: group, scope: scope, target: target,
                timeout: connection.timeoutDuration)
            return try await applyPlan(plan, connection: connection, execute: apply.execute, client: inventory.client)
        }
    }

    private func resetTarget() throws -> ResetTarget {
        if toEarliest { return .earliest }
        if toLatest { return .latest }
        if let toOffset { return .offset(toOffset) }
        if let shiftBy { return .shiftBy(shiftBy) }
        if let toDatetime { return .datetime(millis: try ResetTarget.parseDatetime(toDatetime)) }
        if let byDuration { return .duration(millis: try ResetTarget.parseDuration(byDuration)) }
        if let fromFile {
            return .file(try OffsetFile.parse(readInputFile(fromFile), defaultGroup: group))
        }
        return .current
    }
}
