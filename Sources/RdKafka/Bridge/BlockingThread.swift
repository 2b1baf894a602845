import Foundation

/// Runs a blocking librdkafka call on a new thread of its own and suspends the caller until it returns.
///
/// librdkafka's synchronous calls (metadata, offsets_for_times, flush, destroy, ...) block for up to their
/// timeout: on Swift's cooperative pool (two threads on these machines) that would stall every task.
/// A thread per call costs tens of microseconds, nothing next to a broker round trip, and lets
/// independent calls run in parallel.
func runOnDedicatedThread<Result: Sendable>(
    name: String, _ body: @escaping @Sendable () throws -> Result
) async throws -> Result {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Swift.Result { try body() })
        }
        thread.name = name
        thread.start()
    }
}

/// Like `runOnDedicatedThread`, for calls that cannot fail.
func runOnDedicatedThread(name: String, _ body: @escaping @Sendable () -> Void) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let thread = Thread {
            body()
            continuation.resume()
        }
        thread.name = name
        thread.start()
    }
}

/// One long-lived thread that runs submitted jobs in order.
///
/// The consumer polls many times a second; a fresh thread per poll would cost more than the poll.
/// Jobs run strictly one after another, which also serialises all use of the consumer's poll buffer.
final class BlockingWorker: @unchecked Sendable {
    // `jobs` and `stopping` are guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var stopping = false

    init(name: String) {
        let thread = Thread { [self] in self.loop() }
        thread.name = name
        thread.start()
    }

    /// Runs `body` on the worker thread after every job submitted before it; throws `.closed` after `stop()`.
    func run<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = submit {
                continuation.resume(with: Swift.Result { try body() })
            }
            if !accepted {
                continuation.resume(throwing: KafkaError(code: .closed, message: "the client is closed"))
            }
        }
    }

    /// Lets the jobs already submitted finish, then ends the thread; later submissions are refused.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping {
                condition.wait()
            }
            if jobs.isEmpty {  // stopping and drained
                condition.unlock()
                return
            }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            condition.unlock()
            for job in batch {
                job()
            }
        }
    }
}
