import ArgumentParser
import ZKOffsets
import ZKOffsetsTool

/// `zkoffsets describe`: offsets, log ends, lag, age of the last commit and owners of one group.
struct DescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Show a group's offsets next to the log ends (lag, age of the last commit, owner) and its members.",
        discussion: "Works on stopped groups too. Without brokers LOG-END-OFFSET and LAG are '-'.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "The group.")
    var group: String

    @Option(help: "Only this topic (repeatable).")
    var topic: [String] = []

    func run() async throws {
        try await connection.run("describe") { inventory, admin in
            let description = try await GroupDescription.read(
                inventory: inventory, admin: admin, group: group, topics: topic.isEmpty ? nil : topic,
                timeout: connection.timeoutDuration)
            printWarnings(description.warnings)
            let now = nowMillis()
            switch connection.output {
            case .json:
                output(description.json(nowMillis: now))
            case .text:
                if description.members.isEmpty { printError("note: consumer group '\(group)' has no active members") }
                output(description.table(nowMillis: now).text)
                if !description.memberDetails.isEmpty {
                    output("")
                    output(description.membersTable(nowMillis: now).text)
                }
            }
            return 0
        }
    }
}
