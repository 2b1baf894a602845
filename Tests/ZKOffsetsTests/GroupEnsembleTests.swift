import Foundation
import Testing
import ZKOffsets

/// A group of print-consumer processes on the 3-node ensemble while the whole ensemble freezes (SIGSTOP) for
/// longer than the members' session timeout: they stop, their sessions expire, and they rejoin with new sessions
/// (waiting out their own stale registrations, KAFKA-1387) instead of exiting; nothing is lost and no offset
/// moves backwards.
@Suite("Groups on a frozen ensemble", .serialized, .timeLimit(.minutes(4)))
struct GroupEnsembleTests {
    @Test func membersRejoinAfterTheEnsembleWasFrozenPastTheirSessions() async throws {
        let executable = try #require(TestEnvironment.executable("print-consumer"), "build print-consumer first")
        let ensemble = try EnsembleTests.ensemble()
        try await ensemble.waitUntilServing(ensemble.nodes)
        let fixture = try await GroupFixture(executable: executable, zooKeeper: ensemble.connectString)
        defer { Task { await fixture.close() } }

        let members = try (0..<2).map { _ in try fixture.startMember() }
        try await fixture.waitForRangeSplit(members: 2, timeout: .seconds(30))
        try await fixture.produce(0..<120)
        try await fixture.waitUntilPrinted(120, by: members)

        try ensemble.freeze(true)
        do {
            // The fault: no server answers for well over the members' 4 s sessions.
            try await Task.sleep(for: .seconds(10))
        } catch {
            try ensemble.freeze(false)
            throw error
        }
        try ensemble.freeze(false)
        try await ensemble.waitUntilServing(ensemble.nodes)
        try await fixture.waitForRangeSplit(members: 2, timeout: .seconds(60))
        try await fixture.produce(120..<240)
        try await fixture.waitUntilPrinted(240, by: members)

        for member in members {
            #expect(member.process.value.isRunning, "the member rejoined instead of exiting: \(member.errors)")
        }
        let printed = members.flatMap { $0.output.compactMap(PrintedLine.init) }
        #expect(Set(printed.map(\.value)) == Set((0..<240).map { "m\($0)" }), "every message delivered")
        #expect(fixture.backwards.isEmpty, "no offset moved backwards: \(fixture.backwards)")
        for member in members { member.terminate() }
        for member in members { #expect(try await member.wait() == 0, "\(member.errors)") }
    }
}
