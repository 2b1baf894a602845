import Testing

@testable import ZKOffsets

@Suite("The consumer's state machine")
struct ConsumerStateMachineTests {
    let start = ContinuousClock.now

    @Test func aNewConsumerJoinsThenRebalancesThenFetches() {
        var machine = ConsumerStateMachine(sessionTimeout: .seconds(6))
        #expect(machine.commitDecision(now: start) == .refuseSessionLost)
        #expect(machine.beforeFetch(now: start) == .rejoin)
        machine.rejoined()
        #expect(machine.beforeFetch(now: start) == .rebalance)
        #expect(machine.beforeFetch(now: start) == .fetch)
        #expect(machine.phase == .consuming)
        #expect(machine.commitDecision(now: start) == .commit)
    }

    private func consuming() -> ConsumerStateMachine {
        var machine = ConsumerStateMachine(sessionTimeout: .seconds(6))
        _ = machine.beforeFetch(now: start)
        machine.rejoined()
        _ = machine.beforeFetch(now: start)
        _ = machine.beforeFetch(now: start)
        return machine
    }

    @Test func aShortSuspensionKeepsFetchingAndALongOneStopsFetchingAndCommits() {
        var machine = consuming()
        machine.sessionSuspended(at: start)
        #expect(machine.beforeFetch(now: start + .seconds(3)) == .fetch, "under 2/3 of 6 s")
        #expect(machine.commitDecision(now: start + .seconds(3)) == .commit)
        #expect(machine.beforeFetch(now: start + .seconds(4)) == .wait, "2/3 of 6 s")
        #expect(machine.phase == .inDoubt)
        #expect(machine.commitDecision(now: start + .seconds(4)) == .refuseInDoubt)
        machine.sessionReconnected()
        #expect(machine.commitDecision(now: start + .seconds(5)) == .commit)
        #expect(machine.beforeFetch(now: start + .seconds(5)) == .rebalance, "events may have been missed")
    }

    @Test func anExpiredSessionForgetsEverythingAndRejoins() {
        var machine = consuming()
        machine.sessionSuspended(at: start)
        machine.sessionExpired()
        #expect(machine.phase == .rejoining)
        #expect(machine.commitDecision(now: start) == .refuseSessionLost, "a zombie's commit is refused")
        machine.newSession()
        #expect(machine.beforeFetch(now: start) == .rejoin)
        #expect(machine.commitDecision(now: start) == .refuseSessionLost, "still refused until rejoined")
        machine.rejoined()
        #expect(machine.beforeFetch(now: start) == .rebalance)
        #expect(machine.commitDecision(now: start) == .commit)
    }

    @Test func aFailedRejoinOrRebalanceIsTriedAgain() {
        var machine = ConsumerStateMachine(sessionTimeout: .seconds(6))
        #expect(machine.beforeFetch(now: start) == .rejoin)
        machine.failed(.rejoin)
        #expect(machine.beforeFetch(now: start) == .rejoin)
        machine.rejoined()
        #expect(machine.beforeFetch(now: start) == .rebalance)
        machine.failed(.rebalance)
        #expect(machine.beforeFetch(now: start) == .rebalance)
        #expect(machine.beforeFetch(now: start) == .fetch)
    }

    @Test func rebalanceRequestsCoalesce() {
        var machine = consuming()
        machine.requestRebalance()
        machine.requestRebalance()
        #expect(machine.beforeFetch(now: start) == .rebalance)
        #expect(machine.beforeFetch(now: start) == .fetch)
    }

    @Test func stopWinsAndCloseRefusesCommits() {
        var machine = consuming()
        machine.requestRebalance()
        machine.stop()
        #expect(machine.beforeFetch(now: start) == .stop)
        #expect(machine.commitDecision(now: start) == .commit, "the last commit of a graceful stop")
        machine.close()
        #expect(machine.commitDecision(now: start) == .refuseClosed)
    }
}
