import Synchronization

/// Runs async bodies one at a time, in the order they arrived: an async mutex.
///
/// The group's commits come from several places (the application's commits, which `ConsumerService` runs behind
/// the next batch, the interval commit, a rebalance's release, the last commit on close). Each is a conditional
/// write of the same offset znodes from the versions the store last saw: two at once would make one of them fail
/// on a version the other just moved.
final class SerialGate: Sendable {
    private struct State {
        var busy = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Runs `body` once every body that entered before it has finished.
    func run<Result: Sendable>(_ body: () async throws -> Result) async throws -> Result {
        await enter()
        defer { leave() }
        return try await body()
    }

    private func enter() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admitted = state.withLock { state in
                if state.busy {
                    state.waiting.append(continuation)
                    return false
                }
                state.busy = true
                return true
            }
            if admitted { continuation.resume() }
        }
    }

    private func leave() {
        // The next waiter inherits `busy`; only an empty queue frees the gate.
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty {
                state.busy = false
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}
