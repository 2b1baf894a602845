import ArgumentParser
import Foundation
import ZKOffsets
import ZKOffsetsTool

/// `zkoffsets export`: offsets of one, several or all groups, as a file `import` reads back.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write groups' offsets in zk (ExportZkOffsets), csv or json format.",
        discussion: """
            zk:   /consumers/<group>/offsets/<topic>/<partition>:<offset>
            csv:  group,topic,partition,offset
            json: one object per line and group: {"groupid":"<group>","offsets":{"<topic>":{"<partition>":<offset>}}}
            Sorted by group, topic and partition. A malformed znode is reported and left out (exit 1).
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "A group to export (repeatable; default: every group).")
    var group: [String] = []

    @Option(help: "zk, csv or json.")
    var format: OffsetFileFormat = .zk

    @Option(help: "Write to this file instead of stdout.")
    var file: String?

    func run() async throws {
        try await connection.run("export") { inventory, _ in
            let result = try await OffsetExport.read(inventory: inventory, groups: group.isEmpty ? nil : group)
            let text = OffsetFile.render(result.entries, format: format)
            if let file {
                do {
                    try Data(text.utf8).write(to: URL(fileURLWithPath: file))
                } catch {
                    throw CommandFailure(code: 2, "cannot write \(file): \(error.localizedDescription)")
                }
            } else if !text.isEmpty {
                FileHandle.standardOutput.write(Data(text.utf8))
            }
            for skipped in result.skipped { printError("error: \(skipped.message)") }
            return result.skipped.isEmpty ? 0 : 1
        }
    }
}

extension OffsetFileFormat: ExpressibleByArgument {}
