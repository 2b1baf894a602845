import ArgumentParser
import Foundation
import ZKOffsets
import ZKOffsetsTool

/// `--output text|json`.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// The options every operator command shares: where ZooKeeper and Kafka are, how to authenticate, how to print.
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .customLong("zookeeper"),
        help: ArgumentHelp("ZooKeeper connect string HOST:PORT[,HOST:PORT...][/chroot] (default: $ZK_CONNECT).",
            valueName: "hosts"))
    var zookeeper: String?

    @Option(
        name: .customLong("bootstrap-server"),
        help: ArgumentHelp("Kafka brokers HOST:PORT[,...] (default: $KAFKA_BOOTSTRAP).", valueName: "servers"))
    var bootstrapServer: String?

    @Option(
        name: .customShort("X"),
        help: ArgumentHelp("A librdkafka property, as kcat takes it (repeatable).", valueName: "key=value"))
    var properties: [String] = []

    @Option(
        name: .customLong("zk-auth"),
        help: ArgumentHelp("ZooKeeper digest credentials.", valueName: "digest:user:password"))
    var zkAuth: String?

    @Option(help: "Output format: text or json.")
    var output: OutputFormat = .text

    @Option(help: ArgumentHelp("Seconds to wait for ZooKeeper and Kafka before giving up.", valueName: "seconds"))
    var timeout: Int = 10

    var timeoutDuration: Duration { .seconds(timeout) }

    /// The ZooKeeper connect string from the option or `$ZK_CONNECT`.
    var zooKeeperConnect: String? {
        zookeeper ?? ProcessInfo.processInfo.environment["ZK_CONNECT"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The brokers from the option or `$KAFKA_BOOTSTRAP`.
    var kafkaBootstrap: String? {
        bootstrapServer ?? ProcessInfo.processInfo.environment["KAFKA_BOOTSTRAP"].flatMap { $0.isEmpty ? nil : $0 }
    }

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be at least 1 second") }
        do {
            _ = try KafkaConfiguration.properties(fromArguments: properties)
        } catch let error as KafkaError {
            throw ValidationError(error.message)
        }
        if let zkAuth {
            let parts = zkAuth.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0] == "digest", parts[1].contains(":") else {
                throw ValidationError("--zk-auth takes digest:USER:PASSWORD")
            }
        }
    }

    /// Connects to ZooKeeper within `--timeout`; the failure names the servers.
    func connectZooKeeper() async throws -> ZooKeeperClient {
        guard let connect = zooKeeperConnect else {
            throw ValidationError("no ZooKeeper given: pass --zookeeper HOST:PORT or set ZK_CONNECT")
        }
        let configuration = zooKeeperConfiguration(connect: connect)
        do {
            return try await ZooKeeperClient.connect(configuration, logger: CommandLogging.logger("zookeeper"))
        } catch {
            throw CommandFailure(code: 2, "cannot connect to ZooKeeper at \(connect): \(error.message)")
        }
    }

    /// How to connect to ZooKeeper at `connect`: the session and connect timeouts from `--timeout`, `--zk-auth`.
    func zooKeeperConfiguration(connect: String) -> ZooKeeperConfiguration {
        var authentication: [(scheme: String, credentials: String)] = []
        if let zkAuth, let colon = zkAuth.firstIndex(of: ":") {
            authentication.append((String(zkAuth[..<colon]), String(zkAuth[zkAuth.index(after: colon)...])))
        }
        return ZooKeeperConfiguration(
            connectString: connect, sessionTimeout: .seconds(max(timeout, 4)), connectTimeout: timeoutDuration,
            authentication: authentication)
    }

    /// A Kafka admin client, or nil when no brokers were given and `required` is false.
    func kafkaAdmin(required: Bool, for command: String) throws -> KafkaAdminClient? {
        guard let bootstrap = kafkaBootstrap else {
            if required {
                throw ValidationError("\(command) needs the brokers: pass --bootstrap-server HOST:PORT or set KAFKA_BOOTSTRAP")
            }
            return nil
        }
        let values = try KafkaConfiguration.properties(fromArguments: properties)
        do {
            return try KafkaAdminClient(
                configuration: KafkaConfiguration(bootstrapServers: bootstrap, properties: values),
                logger: CommandLogging.logger("kafka"))
        } catch {
            throw CommandFailure(code: 2, "Kafka configuration: \(error)")
        }
    }

    /// Runs `body` with a ZooKeeper client (and a Kafka admin client when brokers are given or `kafka` is
    /// `.required`), closes both, and turns every error into its message on stderr and the exit code:
    /// 1 for refusals, 2 for usage, input and connection errors.
    func run(
        _ command: String, kafka: KafkaNeed = .optional,
        _ body: (GroupInventory, KafkaAdminClient?) async throws -> Int32
    ) async throws {
        let code: Int32
        do {
            let admin = try kafkaAdmin(required: kafka == .required, for: command)
            let client: ZooKeeperClient
            do {
                client = try await connectZooKeeper()
            } catch {
                await admin?.close()
                throw error
            }
            do {
                code = try await body(GroupInventory(client: client), admin)
            } catch {
                await admin?.close()
                await client.close()
                throw error
            }
            await admin?.close()
            await client.close()
        } catch {
            code = report(error)
        }
        if code != 0 { throw ExitCode(code) }
    }

    enum KafkaNeed { case optional, required }

    /// Prints the error and returns its exit code.
    func report(_ error: any Error) -> Int32 {
        switch error {
        case let failure as CommandFailure:
            printError("zkoffsets: \(failure.message)")
            return failure.code
        case let refusal as OperationRefusal:
            printError("zkoffsets: refused: \(refusal.message)")
            return 1
        case let error as OffsetError:
            printError("zkoffsets: \(error.message)")
            return 2
        case let error as OffsetFileError:
            printError("zkoffsets: bad input, nothing was written:\n\(error.description)")
            return 2
        case let error as ZooKeeperError:
            printError("zkoffsets: ZooKeeper at \(zooKeeperConnect ?? "?"): \(error)")
            return 2
        case let error as KafkaError:
            printError("zkoffsets: Kafka at \(kafkaBootstrap ?? "?"): \(error.message) (\(error.code))")
            return 2
        case let error as ValidationError:
            printError("zkoffsets: \(error.message)")
            return 2
        case let exit as ExitCode:
            return exit.rawValue
        default:
            printError("zkoffsets: \(error)")
            return 2
        }
    }
}

/// An error the command reports as it is, with its exit code.
struct CommandFailure: Error {
    var code: Int32
    var message: String
    init(code: Int32, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// `--dry-run` (default) / `--execute`.
struct ApplyOptions: ParsableArguments {
    @Flag(help: "Only print the plan (the default).")
    var dryRun = false

    @Flag(help: "Apply the plan.")
    var execute = false

    func validate() throws {
        if dryRun && execute { throw ValidationError("--dry-run and --execute exclude each other") }
    }
}

/// Prints warnings on stderr.
func printWarnings(_ warnings: [String]) {
    for warning in warnings { printError("warning: \(warning)") }
}

/// `N thing(s)`.
func counted(_ count: Int, _ noun: String) -> String {
    "\(count) \(noun)\(count == 1 ? "" : "s")"
}

/// Milliseconds since the epoch.
func nowMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

extension ZKOffsetsCommand {
    /// Like ArgumentParser's main, but usage errors exit 2 (the tool's contract) instead of 64.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                printError(fullMessage(for: error))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
