/// The decisions of an `OffsetConsumer` as a state machine without I/O: what the next `nextBatch` does and
/// whether a commit may go out, given the session's events, rebalance triggers and stop requests. The consumer
/// feeds it events and performs the actions it returns; unit tests drive it without a server.
///
/// Phases: `consuming`; `rebalancing` (a trigger arrived: members or partitions changed, an owner went away, the
/// audit is due); `inDoubt` (the connection has been lost for longer than `doubtAfter`, 2/3 of the session
/// timeout: no fetching, no commits, since the partitions may be someone else's by now); `rejoining` (the session
/// expired: everything owned is forgotten, the member registers and claims again with a new session);
/// `stopping` and `closed`.
struct ConsumerStateMachine: Sendable {
    enum Phase: Sendable, Hashable {
        case consuming, rebalancing, inDoubt, rejoining, stopping, closed
    }

    /// What `nextBatch` does before it fetches.
    enum FetchAction: Sendable, Hashable {
        /// Hand out no more batches.
        case stop
        /// Forget every partition and join again with the current session.
        case rejoin
        /// Compute the assignment again; release and claim partitions.
        case rebalance
        /// Neither fetch nor commit: wait for the session to be settled.
        case wait
        /// Fetch.
        case fetch
    }

    /// Whether a commit may go out.
    enum CommitDecision: Sendable, Hashable {
        case commit
        /// The session is in doubt (suspended too long): a commit now could move offsets we no longer own.
        case refuseInDoubt
        /// The session that owned the partitions expired; they may have moved.
        case refuseSessionLost
        case refuseClosed
    }

    private(set) var phase: Phase = .rejoining
    private var rebalanceRequested = false
    private var rejoinRequested = true
    private var suspendedSince: ContinuousClock.Instant?
    private var stopRequested = false
    /// How long a lost connection is tolerated before the session counts as in doubt.
    let doubtAfter: Duration

    /// A machine that first joins (the start is a rejoin with the first session).
    init(sessionTimeout: Duration) {
        doubtAfter = sessionTimeout * 2 / 3
    }

    // MARK: Events

    mutating func requestRebalance() {
        rebalanceRequested = true
    }

    mutating func sessionSuspended(at now: ContinuousClock.Instant) {
        if suspendedSince == nil { suspendedSince = now }
    }

    mutating func sessionReconnected() {
        suspendedSince = nil
        // Watches may have missed events while disconnected; look again.
        rebalanceRequested = true
    }

    /// The session expired: nothing owned counts any more.
    mutating func sessionExpired() {
        rejoinRequested = true
        suspendedSince = nil
        if phase != .stopping && phase != .closed { phase = .rejoining }
    }

    /// A new session is there to rejoin with.
    mutating func newSession() {
        rejoinRequested = true
        suspendedSince = nil
    }

    mutating func rejoined() {
        rejoinRequested = false
        rebalanceRequested = true
    }

    /// A rejoin or rebalance failed (a request failed, the session is not ready): try again next time.
    mutating func failed(_ action: FetchAction) {
        switch action {
        case .rejoin: rejoinRequested = true
        case .rebalance: rebalanceRequested = true
        default: break
        }
    }

    mutating func stop() {
        stopRequested = true
        if phase != .closed { phase = .stopping }
    }

    mutating func close() {
        stopRequested = true
        phase = .closed
    }

    // MARK: Decisions

    /// What to do before fetching.
    mutating func beforeFetch(now: ContinuousClock.Instant) -> FetchAction {
        if stopRequested { return .stop }
        if isInDoubt(now: now) {
            phase = .inDoubt
            return .wait
        }
        if rejoinRequested {
            phase = .rejoining
            rejoinRequested = false
            return .rejoin
        }
        if rebalanceRequested {
            phase = .rebalancing
            rebalanceRequested = false
            return .rebalance
        }
        phase = .consuming
        return .fetch
    }

    /// Whether a commit may go out now.
    func commitDecision(now: ContinuousClock.Instant) -> CommitDecision {
        if phase == .closed { return .refuseClosed }
        if phase == .rejoining || rejoinRequested { return .refuseSessionLost }
        if isInDoubt(now: now) { return .refuseInDoubt }
        return .commit
    }

    private func isInDoubt(now: ContinuousClock.Instant) -> Bool {
        guard let suspendedSince else { return false }
        return now - suspendedSince >= doubtAfter
    }
}
