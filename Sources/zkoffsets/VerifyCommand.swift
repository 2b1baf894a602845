import ArgumentParser
import ZKOffsets
import ZKOffsetsTool

/// `zkoffsets verify`: check groups against the layout contract; exit 1 on any finding.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check groups against the contract; exit 1 if anything is found.",
        discussion: """
            Finds: offset data that is not a plain decimal (whitespace, sign, leading zeros, Java-serialized bytes,
            empty), gaps in partition numbers, stray znodes, owners without ids, and with brokers: partitions the
            brokers have and ZooKeeper lacks, topics the brokers lack, offsets above the log end or below the start.
            With --zk-auth (or --check-acls): znodes of the group that anyone may change (world-writable).
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "A group (repeatable).")
    var group: [String] = []

    @Flag(help: "Every group under /consumers.")
    var allGroups = false

    @Flag(help: "Report znodes anyone may change (world-writable ACLs); on by default with --zk-auth.")
    var checkAcls = false

    func validate() throws {
        guard allGroups != !group.isEmpty else { throw ValidationError("give either --group or --all-groups") }
    }

    func run() async throws {
        try await connection.run("verify") { inventory, admin in
            for name in group { try OffsetLayout.validateGroup(name) }
            let groups = allGroups ? try await inventory.groups().map(\.group) : group
            var findings: [VerifyFinding] = []
            for name in groups {
                findings += try await OffsetVerifier.verify(
                    inventory: inventory, admin: admin, group: name, timeout: connection.timeoutDuration,
                    checkACLs: checkAcls || connection.zkAuth != nil)
            }
            if admin == nil {
                printError("note: no --bootstrap-server: log ranges and partitions on the brokers were not checked")
            }
            let summary =
                findings.isEmpty
                ? "OK: \(counted(groups.count, "group")) checked, no findings."
                : "\(counted(findings.count, "finding")) in \(counted(Set(findings.map(\.group)).count, "group")) "
                    + "(\(groups.count) checked)."
            switch connection.output {
            case .json:
                output(JSONText.array(findings.map(\.json)))
                printError(summary)
            case .text:
                for finding in findings { output("\(finding.group): \(finding.line)") }
                output(summary)
            }
            return findings.isEmpty ? 0 : 1
        }
    }
}
