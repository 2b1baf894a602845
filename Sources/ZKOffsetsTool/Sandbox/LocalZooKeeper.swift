import BlockingCalls
import Foundation
import ZKOffsets
import Logging

/// A throw-away ZooKeeper server from Debian's `zookeeper` package, on 127.0.0.1 with a free port and a temporary
/// data directory: for `zkoffsets sandbox`, the demo and trying things out. Not for production.
public final class LocalZooKeeper: Sendable {
    /// `127.0.0.1:<port>`.
    public let connectString: String
    /// The server's log.
    public let logFile: URL
    private let process: UnsafeSendable<Process>
    private let directory: URL

    /// The jar of Debian's package and the logging jars its server needs.
    static let classPath = ["/usr/share/java/zookeeper.jar", "/usr/share/java/slf4j-log4j12.jar", "/usr/share/java/log4j-1.2.jar"]

    /// Starts the server and waits until it serves (`srvr` answers with a `Mode:` line), at most `timeout`.
    public static func start(timeout: Duration = .seconds(30), logger: Logger) async throws -> LocalZooKeeper {
        guard FileManager.default.fileExists(atPath: classPath[0]) else {
            throw OffsetError(.invalidInput, "\(classPath[0]) not found: install Debian's zookeeper package (scripts/bootstrap)")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("zkoffsets-sandbox-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("data"), withIntermediateDirectories: true)
        let port = try FreePort.find()
        try """
            tickTime=2000
            dataDir=\(directory.appendingPathComponent("data").path)
            clientPort=\(port)
            clientPortAddress=127.0.0.1
            admin.enableServer=false
            4lw.commands.whitelist=*
            maxClientCnxns=0
            """.write(to: directory.appendingPathComponent("zoo.cfg"), atomically: true, encoding: .utf8)
        try """
            log4j.rootLogger=INFO, FILE
            log4j.appender.FILE=org.apache.log4j.FileAppender
            log4j.appender.FILE.File=\(directory.appendingPathComponent("zookeeper.log").path)
            log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
            log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} %-5p %m%n
            """.write(to: directory.appendingPathComponent("log4j.properties"), atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "java", "-Xmx256m", "-cp", classPath.joined(separator: ":"),
            "-Dlog4j.configuration=file:\(directory.appendingPathComponent("log4j.properties").path)",
            "org.apache.zookeeper.server.ZooKeeperServerMain", directory.appendingPathComponent("zoo.cfg").path,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let server = LocalZooKeeper(
            connectString: "127.0.0.1:\(port)", process: process, directory: directory,
            logFile: directory.appendingPathComponent("zookeeper.log")
        )
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !process.isRunning { break }
            if let answer = try? await FourLetterWord.ask("srvr", port: port), answer.contains("Mode:") {
                logger.info("local ZooKeeper ready", metadata: [LogKey.connect: "\(server.connectString)"])
                return server
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let tail = (try? String(contentsOf: server.logFile, encoding: .utf8))?.split(separator: "\n").suffix(20)
            .joined(separator: "\n") ?? ""
        server.stop()
        throw OffsetError(.invalidInput, "the local ZooKeeper did not start within \(timeout); its log ends:\n\(tail)")
    }

    private init(connectString: String, process: Process, directory: URL, logFile: URL) {
        self.connectString = connectString
        self.process = UnsafeSendable(process)
        self.directory = directory
        self.logFile = logFile
    }

    /// Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its data.
    public func stop() {
        let process = self.process.value
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning && Date() < deadline { usleep(50_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        try? FileManager.default.removeItem(at: directory)
    }
}
