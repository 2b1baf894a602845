import Foundation
import Logging
import Testing
import ZooKeeper

/// The ZooKeeper server the tests use: `ZK_CONNECT` (set by scripts/test), or a local default.
enum TestServer {
    static let connectString = ProcessInfo.processInfo.environment["ZK_CONNECT"] ?? "127.0.0.1:2181"

    static func connect(
        sessionTimeout: Duration = .seconds(10), session: SessionCredentials? = nil,
        authentication: [(scheme: String, credentials: String)] = []
    ) async throws -> ZooKeeperClient {
        try await ZooKeeperClient.connect(
            ZooKeeperConfiguration(
                connectString: connectString, sessionTimeout: sessionTimeout, connectTimeout: .seconds(15),
                session: session, authentication: authentication
            ),
            logger: Logger(label: "test")
        )
    }

    /// A fresh root path for one test, created, and deleted afterwards by `cleanUp`.
    static func freshRoot(_ client: ZooKeeperClient, _ name: String = #function) async throws -> String {
        let clean = name.filter { $0.isLetter || $0.isNumber }
        let root = "/zkoffsets-tests/zookeeper/\(clean)-\(UUID().uuidString.prefix(8))"
        try await client.ensurePath(root)
        return root
    }
}

/// Waits until `condition` holds, polling, failing the test after `timeout`. For conditions that have no
/// event to wait on; never used as a fixed sleep.
func eventually(
    timeout: Duration = .seconds(20), _ what: String, _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out waiting for: \(what)")
    throw CancellationError()
}

