import BlockingCalls
import Logging
import Synchronization

/// How long closing a librdkafka handle may take before the caller goes on without it.
///
/// librdkafka 2.0.2's `rd_kafka_destroy` can wait forever for a broker thread that never ends: seen every time
/// on the mock cluster when a consumer closes after its topic disappeared (Metadata and Fetch answering
/// UNKNOWN_TOPIC_OR_PART), the main thread joining a broker thread that keeps serving (librdkafka issues #3007,
/// #4362 describe the same). A library must not hang its application's shutdown for that: after the deadline
/// the close goes on in the background, holding its thread and the handle's memory, and the caller is released.
enum BoundedClose {
    static let deadline: Duration = .seconds(10)

    /// Runs `close` and returns when it finished or `deadline` passed, whichever comes first; true if it finished.
    static func run(
        _ what: String, logger: Logger, deadline: Duration = Self.deadline, _ close: @escaping @Sendable () async -> Void
    ) async -> Bool {
        let settled = Settled()
        let finished = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let timer = Task.detached {
                try? await Task.sleep(for: deadline)
                if settled.first() { continuation.resume(returning: false) }
            }
            Task.detached {
                await close()
                timer.cancel()
                if settled.first() { continuation.resume(returning: true) }
            }
        }
        if !finished {
            logger.info(
                "librdkafka did not finish closing in time; going on without it (its threads stay until exit)",
                metadata: [LogKey.client: "\(what)", LogKey.deadline: "\(deadline)"])
        }
        return finished
    }

    /// Which of the two outcomes came first.
    private final class Settled: Sendable {
        private let done = Mutex(false)

        /// True for the first caller only.
        func first() -> Bool {
            done.withLock { done in
                defer { done = true }
                return !done
            }
        }
    }
}
