import ArgumentParser
import Foundation
import Logging
import ZKOffsets
import ZKOffsetsTool

/// `zkoffsets`: read, fix and move Kafka consumer-group offsets kept in ZooKeeper.
@main
struct ZKOffsetsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zkoffsets",
        abstract: "Read, fix and move Kafka consumer-group offsets kept in ZooKeeper (Kafka 0.8 layout).",
        discussion: """
            Exit codes: 0 done, 1 findings or refusal, 2 usage, connection or input error.
            Changing commands print their plan; they apply it only with --execute.
            """,
        version: "0.1.0",
        subcommands: CommandRegistry.subcommands
    )
}

/// Logging for the command: warnings and errors on stderr, more with LOG_LEVEL=info|debug.
enum CommandLogging {
    static let bootstrapped: Bool = {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel =
                ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
            return handler
        }
        return true
    }()

    static func logger(_ label: String = "zkoffsets") -> Logger {
        _ = bootstrapped
        return Logger(label: label)
    }
}
