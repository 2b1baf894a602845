import Foundation
import Synchronization

/// A blocking C call on a thread of its own (as `runOnDedicatedThread`), raced against a deadline: used for
/// `zookeeper_init`, whose name resolution must not outlast the connect deadline.
enum BlockingThread {
    /// Runs `work` on a thread named `name`; the caller waits only until `deadline`: then it gets nil, and when
    /// `work` finishes later its result goes to `abandoned` (on the work's thread) instead, to be cleaned up there.
    static func run<T: Sendable>(
        _ name: String, deadline: ContinuousClock.Instant, _ work: @escaping @Sendable () -> T,
        abandoned: @escaping @Sendable (T) -> Void
    ) async -> T? {
        let race = Race<T>()
        return await withCheckedContinuation { continuation in
            race.set(continuation)
            let thread = Thread {
                let result = work()
                if !race.finish(result) { abandoned(result) }
            }
            thread.name = name
            thread.start()
            Task {
                try? await Task.sleep(until: deadline, clock: .continuous)
                _ = race.finish(nil)
            }
        }
    }

    /// Resumes its continuation once, with whichever comes first.
    private final class Race<T: Sendable>: Sendable {
        private let continuation = Mutex<CheckedContinuation<T?, Never>?>(nil)

        func set(_ continuation: CheckedContinuation<T?, Never>) {
            self.continuation.withLock { $0 = continuation }
        }

        /// True when this call resumed the waiter.
        func finish(_ value: T?) -> Bool {
            let waiter = continuation.withLock { current in
                defer { current = nil }
                return current
            }
            waiter?.resume(returning: value)
            return waiter != nil
        }
    }
}
