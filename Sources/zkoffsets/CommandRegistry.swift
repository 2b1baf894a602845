import ArgumentParser

/// The subcommands, in the order `--help` lists them.
enum CommandRegistry {
    static let subcommands: [any ParsableCommand.Type] = [
        ListCommand.self,
        DescribeCommand.self,
        ExportCommand.self,
        ImportCommand.self,
        ResetCommand.self,
        MigrateCommand.self,
        VerifyCommand.self,
        DeleteCommand.self,
        CopyCommand.self,
        RenameCommand.self,
        PruneCommand.self,
        ExporterCommand.self,
        SandboxCommand.self,
    ]
}
