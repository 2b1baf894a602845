/// When and how often a ZooKeeper request is retried: only errors that may succeed on retry (Curator's set:
/// connection loss, operation timeout, session moved), with exponential backoff up to a bound.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts after the first one.
    public var maxRetries: Int
    /// The wait before the first retry; doubled for each further one.
    public var baseDelay: Duration
    /// The longest wait between two attempts.
    public var maxDelay: Duration

    /// A policy of `maxRetries` retries after the first attempt, waiting `baseDelay`, doubled each time, at most
    /// `maxDelay`.
    public init(maxRetries: Int, baseDelay: Duration, maxDelay: Duration) {
        self.maxRetries = maxRetries
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// 5 retries, 100 ms doubling up to 2 s (about 5 s in all: a server failover fits).
    public static let `default` = RetryPolicy(maxRetries: 5, baseDelay: .milliseconds(100), maxDelay: .seconds(2))

    /// Whether `error` is worth another attempt.
    public func isRetryable(_ error: ZooKeeperError) -> Bool { error.isRetryable }

    /// The wait after attempt `attempt` (1-based) failed.
    public func delay(afterAttempt attempt: Int) -> Duration {
        let factor = 1 << min(max(attempt - 1, 0), 20)
        return min(baseDelay * factor, maxDelay)
    }

    /// Runs `body`, retrying retryable failures. `beforeRetry` runs before each retry and may end the call
    /// with a result (for a write whose answer was lost: read back whether it was applied).
    public func run<T>(
        _ body: () async throws(ZooKeeperError) -> T,
        beforeRetry: (ZooKeeperError, Int) async throws -> T? = { _, _ in nil }
    ) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch {
                guard isRetryable(error), attempt < maxRetries else { throw error }
                attempt += 1
                try await Task.sleep(for: delay(afterAttempt: attempt))
                if let result = try await beforeRetry(error, attempt) { return result }
            }
        }
    }
}
