import Foundation
import Testing
import ZKOffsets

@Suite("ZooKeeper ensemble faults", .serialized, .timeLimit(.minutes(5)))
struct EnsembleTests {
    /// scripts/zk-server run from this process used to never "exit": the restarted JVM inherited the socket
    /// Foundation's Process watches to learn that its child ended.
    @Test func aNodeRestartedFromTheTestProcessReturns() async throws {
        let ensemble = try #require(Ensemble.fromEnvironment, "scripts/test starts the ensemble (ZK_ENSEMBLE_CONNECT)")
        let node = 3
        try await ensemble.zkServer(["stop-node", "\(node)"])
        try await ensemble.start(node)
        let modes = try await ensemble.modes()
        #expect(modes[node] == "leader" || modes[node] == "follower", "modes: \(modes)")
    }
}
