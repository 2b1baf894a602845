import ZKOffsets
import Foundation
import Logging
import Synchronization

/// Collects `LagSnapshot`s for the exporter, keeping one ZooKeeper session and one Kafka client between
/// collections.
///
/// Neither source going away is an error: a collection that cannot read one reports it down (`zooKeeperUp` or
/// `kafkaUp` false) and the next collection tries again. The Kafka client reconnects by itself (librdkafka); the
/// ZooKeeper client does too within its session, and a session that expired or never started is replaced by a new
/// one at the next collection. Each source's reads are bounded by `timeout`, so a collection always ends.
public final class LagCollector: Sendable {
    private let zooKeeper: ZooKeeperConfiguration
    private let admin: KafkaAdminClient
    private let groups: [String]?
    private let timeout: Duration
    private let logger: Logger

    private struct State {
        var client: ZooKeeperClient?
        var closed = false
    }

    private let state = Mutex(State())

    /// A collector of `groups` (every group when nil). Throws `invalidConfiguration` for a Kafka property librdkafka
    /// rejects; connects to nothing yet.
    public init(
        zooKeeper: ZooKeeperConfiguration, kafka: KafkaConfiguration, groups: [String]? = nil,
        timeout: Duration = .seconds(10), logger: Logger = Logger(label: "zkoffsets.exporter")
    ) throws {
        for group in groups ?? [] { try OffsetLayout.validateGroup(group) }
        self.zooKeeper = zooKeeper
        self.admin = try KafkaAdminClient(configuration: kafka, logger: logger)
        self.groups = groups
        self.timeout = timeout
        self.logger = logger
    }

    /// Reads both sources, concurrently, each within the timeout.
    public func collect() async -> LagSnapshot {
        async let scanned = scanZooKeeper()
        async let marks = readKafka()
        let (groups, watermarks) = await (scanned, marks)
        return LagSnapshot(
            zooKeeperUp: groups != nil, kafkaUp: watermarks != nil, groups: groups ?? [], watermarks: watermarks ?? [:],
            takenAtMillis: Int64(Date().timeIntervalSince1970 * 1000))
    }

    /// Closes both clients; later collections report both sources down. Call it when no `collect()` is running: the
    /// Kafka client must not be destroyed under a call in flight.
    public func close() async {
        let client = state.withLock { state in
            state.closed = true
            defer { state.client = nil }
            return state.client
        }
        await client?.close()
        await admin.close()
    }

    private func scanZooKeeper() async -> [GroupOffsetScan.Group]? {
        guard let client = await session() else { return nil }
        let groups = self.groups
        do {
            let scan = try await Self.within(timeout) {
                try await GroupOffsetScan.read(client: client, groups: groups)
            }
            guard let scan else {
                if !Task.isCancelled { logger.warning("ZooKeeper did not answer the scan within \(timeout)") }
                return nil
            }
            return scan.groups
        } catch {
            logger.warning("reading ZooKeeper failed: \(error)")
            return nil
        }
    }

    /// The session to read with: the current one unless it ended (expired, closed), else a new one; nil while no
    /// server answers.
    private func session() async -> ZooKeeperClient? {
        let (current, closed) = state.withLock { ($0.client, $0.closed) }
        if closed { return nil }
        if let current, !current.state.isTerminal { return current }
        if let current {
            state.withLock { if $0.client === current { $0.client = nil } }
            await current.close()
        }
        var configuration = zooKeeper
        configuration.connectTimeout = min(configuration.connectTimeout, timeout)
        do {
            let client = try await ZooKeeperClient.connect(configuration, logger: logger)
            let kept = state.withLock { state -> Bool in
                guard !state.closed, state.client == nil else { return false }
                state.client = client
                return true
            }
            if !kept {
                await client.close()
                return state.withLock { $0.client }
            }
            return client
        } catch {
            logger.warning("cannot connect to ZooKeeper at \(zooKeeper.connectString): \(error)")
            return nil
        }
    }

    private func readKafka() async -> [TopicPartition: Watermarks]? {
        if state.withLock({ $0.closed }) { return nil }
        do {
            // Not abandoned past a deadline like the ZooKeeper scan: librdkafka bounds its calls by the timeout, and
            // the handle must not be destroyed (close) while a call is still using it.
            let deadline = ContinuousClock.now + timeout
            let topics = try await admin.topics(timeout: timeout)
            let partitions = topics.flatMap { topic in
                topic.partitions.map { TopicPartition(topic: topic.name, partition: $0) }
            }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { return nil }
            return try await admin.watermarks(for: partitions, timeout: remaining)
        } catch {
            logger.warning("reading Kafka failed: \(error)")
            return nil
        }
    }

    /// `body`'s result, or nil when it takes longer than `timeout` or the calling task is cancelled. The body is not
    /// awaited past that: a ZooKeeper read waiting for a lost server ends by itself (connection loss, expiry, or
    /// `closing` when the client is closed) and its result is dropped.
    static func within<T: Sendable>(
        _ timeout: Duration, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T? {
        let outcome = FirstOutcome<T?>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T?, any Error>) in
                outcome.set(continuation)
                let work = Task {
                    do {
                        outcome.resume(with: .success(try await body()))
                    } catch {
                        outcome.resume(with: .failure(error))
                    }
                }
                Task {
                    try? await Task.sleep(for: timeout)
                    if outcome.resume(with: .success(nil)) { work.cancel() }
                }
            }
        } onCancel: {
            outcome.resume(with: .success(nil))
        }
    }
}

/// A continuation resumed by whichever of the racing parties finishes first (the work, the timer, cancellation);
/// the others' outcomes are dropped. An outcome that arrives before the continuation is set is kept for it.
private final class FirstOutcome<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var early: Result<T, any Error>?
        var resumed = false
    }

    private let state = Mutex(State())

    func set(_ continuation: CheckedContinuation<T, any Error>) {
        let early = state.withLock { state -> Result<T, any Error>? in
            guard let early = state.early else {
                state.continuation = continuation
                return nil
            }
            return early
        }
        if let early { continuation.resume(with: early) }
    }

    /// Resumes with `result` unless an outcome was already taken; true when this call's outcome is the one.
    @discardableResult
    func resume(with result: Result<T, any Error>) -> Bool {
        let (taken, continuation) = state.withLock { state -> (Bool, CheckedContinuation<T, any Error>?) in
            guard !state.resumed else { return (false, nil) }
            state.resumed = true
            guard let continuation = state.continuation else {
                state.early = result
                return (true, nil)
            }
            state.continuation = nil
            return (true, continuation)
        }
        continuation?.resume(with: result)
        return taken
    }
}
