import ArgumentParser

/// The subcommands, in the order `--help` lists them.
enum CommandRegistry {
    static let subcommands: [any ParsableCommand.Type] = [
        SandboxCommand.self,
    ]
}
