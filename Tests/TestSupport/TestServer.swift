import Foundation
import Logging
import ZooKeeper

/// The ZooKeeper server every test target uses: `ZK_CONNECT` (set by scripts/test), read once here, or a local
/// default.
public enum TestServer {
    /// The connect string of the tests' server.
    public static let connectString = ProcessInfo.processInfo.environment["ZK_CONNECT"] ?? "127.0.0.1:2181"

    /// A client of the tests' server (15 s to connect: the machines are shared).
    public static func connect(
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
    public static func freshRoot(_ client: ZooKeeperClient, _ name: String = #function) async throws -> String {
        let clean = name.filter { $0.isLetter || $0.isNumber }
        let root = "/zkoffsets-tests/zookeeper/\(clean)-\(UUID().uuidString.prefix(8))"
        try await client.ensurePath(root)
        return root
    }
}
