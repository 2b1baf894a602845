import ArgumentParser
import ZKOffsets
import ZKOffsetsTool

/// `zkoffsets list`: the groups under /consumers and their topics.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the consumer groups under /consumers, their members and topics.")

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await connection.run("list") { inventory, _ in
            let groups = try await inventory.groups()
            switch connection.output {
            case .json:
                output(
                    JSONText.array(
                        groups.map {
                            JSONText.object([
                                ("group", JSONText.string($0.group)),
                                ("members", JSONText.array($0.members.map(JSONText.string))),
                                ("topics", JSONText.array($0.topics.map(JSONText.string))),
                            ])
                        }))
            case .text:
                let table = TextTable(
                    header: ["GROUP", "MEMBERS", "TOPICS"],
                    rows: groups.map {
                        [$0.group, String($0.members.count), $0.topics.isEmpty ? "-" : $0.topics.joined(separator: ",")]
                    })
                output(table.text)
            }
            return 0
        }
    }
}
