import BlockingCalls
import Logging
import ServiceLifecycle

/// Runs an `OffsetConsumer` as a swift-service-lifecycle `Service`: hands each batch to `process`, marks it
/// processed and commits it with the operations `process` returns (one transaction), and on graceful shutdown
/// (SIGTERM, SIGINT in a `ServiceGroup`) finishes the batch in hand, commits and leaves the group.
///
/// Rebalances need nothing from the application: partitions given up are released at the next batch, after the
/// one in hand was committed. A commit refused because the batch's partitions moved (`fenced`: an expired
/// session) or because the session is in doubt is logged and consumption goes on: the batch is not counted as
/// processed, and whoever owns its partitions delivers it again. A Kafka offset commit (`dual`, `kafka` storage)
/// that failed for a reason that may pass (the coordinator moving, a timeout) is logged too: the next commit sends
/// the offsets again.
public struct ConsumerService: Service {
    /// Handles one batch; returns ZooKeeper operations to commit atomically with the batch's offsets
    /// (empty for plain at-least-once processing).
    public typealias Process = @Sendable ([KafkaMessage]) async throws -> [ZooKeeperOperation]

    /// Makes the `Process` once the consumer has started (inside `run`), for processing that reads ZooKeeper
    /// through the consumer's own client.
    public typealias MakeProcess = @Sendable (OffsetConsumer) async throws -> Process

    /// The consumer, or how to start it: started inside `run`, a SIGTERM during a long start (waiting for a
    /// crashed member's session to expire) is a graceful shutdown instead of the signal's default, death.
    private enum Source: Sendable {
        case started(OffsetConsumer)
        case starting(ConsumerConfiguration)
    }

    private let source: Source
    private let commitEachBatch: Bool
    private let stopWhenIdle: Duration?
    private let maxMessages: Int?
    private let makeProcess: MakeProcess
    private let logger: Logger

    /// - Parameters:
    ///   - consumer: a started consumer; the service owns it from now on and closes it when `run` ends.
    ///   - commitEachBatch: commit after every batch, while the next one is fetched and processed (otherwise the
    ///     consumer's commit interval applies, plus a commit for every batch that returned operations, which
    ///     always completes before the next batch).
    ///   - stopWhenIdle: stop after this long without a message, once every partition is read to its log end.
    ///   - maxMessages: stop after this many messages.
    ///   - logger: where refused commits and conflicts are logged (at info).
    ///   - process: handles a batch and returns the operations to commit with it. It is called again for the same
    ///     batch when those operations conflict with another writer's (a version-conditional write lost a race)
    ///     or when it or the commit failed on ZooKeeper trouble (connection lost, session replaced): read what it
    ///     depends on afresh each time, through `consumer.zooKeeperClient`.
    public init(
        consumer: OffsetConsumer, commitEachBatch: Bool = true, stopWhenIdle: Duration? = nil,
        maxMessages: Int? = nil, logger: Logger = Logger(label: "zkoffsets"), process: @escaping Process
    ) {
        self.init(
            source: .started(consumer), commitEachBatch: commitEachBatch, stopWhenIdle: stopWhenIdle,
            maxMessages: maxMessages, logger: logger, makeProcess: { _ in process })
    }

    /// A service that starts its consumer from `configuration` when it runs, inside the `ServiceGroup`: a SIGTERM
    /// or SIGINT during the start (which can wait for a ZooKeeper connection or for a crashed member's
    /// registration to expire) cancels the start, which closes its session, instead of the signal's default death
    /// with partitions claimed for a whole session timeout. The other
    /// parameters are those of `init(consumer:...)`; `process` cannot reach the consumer, so this suits
    /// processing that needs no ZooKeeper reads of its own (otherwise see `init(starting:...:processWith:)`).
    public init(
        starting configuration: ConsumerConfiguration, commitEachBatch: Bool = true, stopWhenIdle: Duration? = nil,
        maxMessages: Int? = nil, logger: Logger = Logger(label: "zkoffsets"), process: @escaping Process
    ) {
        self.init(
            source: .starting(configuration), commitEachBatch: commitEachBatch, stopWhenIdle: stopWhenIdle,
            maxMessages: maxMessages, logger: logger, makeProcess: { _ in process })
    }

    /// A service that starts its consumer inside the `ServiceGroup`, like `init(starting:...:process:)`, then
    /// calls `makeProcess` with it once: for processing that reads ZooKeeper through `consumer.zooKeeperClient`
    /// (its conditional writes then see the session's own commits). An error of `makeProcess` closes the consumer
    /// (committing nothing, nothing was consumed) and is thrown by `run`.
    public init(
        starting configuration: ConsumerConfiguration, commitEachBatch: Bool = true, stopWhenIdle: Duration? = nil,
        maxMessages: Int? = nil, logger: Logger = Logger(label: "zkoffsets"),
        processWith makeProcess: @escaping MakeProcess
    ) {
        self.init(
            source: .starting(configuration), commitEachBatch: commitEachBatch, stopWhenIdle: stopWhenIdle,
            maxMessages: maxMessages, logger: logger, makeProcess: makeProcess)
    }

    private init(
        source: Source, commitEachBatch: Bool, stopWhenIdle: Duration?, maxMessages: Int?, logger: Logger,
        makeProcess: @escaping MakeProcess
    ) {
        self.logger = logger
        self.source = source
        self.commitEachBatch = commitEachBatch
        self.stopWhenIdle = stopWhenIdle
        self.maxMessages = maxMessages
        self.makeProcess = makeProcess
    }

    /// Failures of the application's conditional operations that a new `process` of the batch can resolve.
    static let applicationConflicts: Set<ZooKeeperError.Code> = [.badVersion, .nodeExists, .noNode]
    static let maxAttempts = 20

    /// Consumes until the consumer is stopped (graceful shutdown calls `stop()`), `maxMessages` were handled, or
    /// `stopWhenIdle` passed with every partition read to its log end; then closes the consumer: a last commit of what
    /// was processed, and the member leaves the group. When `process` or the consumer throws, the consumer is closed
    /// all the same (what was processed is still committed) and the error is rethrown.
    public func run() async throws {
        let consumer: OffsetConsumer
        switch source {
        case .started(let started): consumer = started
        case .starting(let configuration):
            do {
                // A shutdown during the start cancels it: the start's own error path closes the session, which
                // removes whatever it registered or claimed, and nothing was consumed yet.
                consumer = try await cancelWhenGracefulShutdown {
                    try await OffsetConsumer.start(configuration, logger: logger)
                }
            } catch where Task.isShuttingDownGracefully {
                // Cancelled: a CancellationError, or the ZooKeeper connect's own `closing`.
                logger.info("stopped while starting", metadata: [LogKey.error: "\(error)"])
                return
            }
        }
        do {
            // A shutdown requested during the start calls the handler at once: the consumer stops and leaves.
            let process = try await makeProcess(consumer)
            try await withGracefulShutdownHandler {
                try await consume(consumer, process: process)
            } onGracefulShutdown: {
                consumer.stop()
            }
        } catch {
            // Keep what was processed: the last commit is attempted even when processing failed.
            try? await consumer.close()
            throw error
        }
        try await consumer.close()
    }

    private func consume(_ consumer: OffsetConsumer, process: Process) async throws {
        var lastMessage = ContinuousClock.now
        var remaining = maxMessages ?? Int.max
        // The commit of the previous batch runs while the next one is fetched and processed: the batch's lines
        // are out before its commit starts (nothing processed is lost to a crash), and the consumer does not wait
        // for ZooKeeper's disk between batches. At most one is in flight; `close()` commits the rest.
        var commitBehind: Task<Void, any Error>?
        defer { commitBehind?.cancel() }
        while remaining > 0, var batch = try await consumer.nextBatch() {
            if batch.isEmpty {
                if let stopWhenIdle, ContinuousClock.now - lastMessage >= stopWhenIdle {
                    // Idle is not enough: the first fetches may still be on their way.
                    if try await consumer.isCaughtUp() { break }
                    lastMessage = .now
                }
                continue
            }
            lastMessage = .now
            if batch.count > remaining { batch = Array(batch.prefix(remaining)) }
            remaining -= batch.count
            try await tolerateRefusals { try await handle(batch, consumer: consumer, process: process) }
            if commitEachBatch {
                if let previous = commitBehind { try await tolerateRefusals { try await previous.value } }
                commitBehind = Task { [consumer] in try await consumer.commit() }
            }
        }
        if let previous = commitBehind { try await tolerateRefusals { try await previous.value } }
        commitBehind = nil
    }

    /// Runs a commit (or a batch with its commit); a commit refused because the partitions moved or the session
    /// is in doubt, or failed on ZooKeeper trouble, is logged and consumption goes on.
    private func tolerateRefusals(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as OffsetError where error.code == .fenced || error.code == .sessionInDoubt {
            logger.info("commit refused; consuming on", metadata: [LogKey.reason: "\(error.message)"])
        } catch let error as ZooKeeperError where Self.isSessionTrouble(error) {
            // The offsets stay marked; the interval commit (or, after a new session, the new owner) goes on.
            logger.info("commit failed; consuming on", metadata: [LogKey.error: "\(error)"])
        } catch let error as KafkaOffsetStoreError where error.isRetryable {
            // `dual` or `kafka` storage, the group coordinator moving or unreachable: the offsets stay marked
            // (and in ZooKeeper, with `dual`); the next commit sends them to Kafka again.
            logger.info("Kafka offset commit failed; consuming on", metadata: [LogKey.error: "\(error)"])
        }
    }

    /// Processes and commits one batch. Results and offsets go in one transaction, and the batch counts as
    /// processed only if it applied. `process` runs again for the same batch when its ZooKeeper work failed for a
    /// reason a new attempt can get past: its conditional operations lost a race to another writer (another
    /// member), or the session was in trouble (connection lost, a new session replacing an expired one).
    private func handle(_ batch: [KafkaMessage], consumer: OffsetConsumer, process: Process) async throws {
        var attempt = 1
        while true {
            do {
                let operations = try await process(batch)
                if operations.isEmpty { break }
                try await consumer.commit(processing: batch, extraOperations: operations)
                return
            } catch let error as ZooKeeperError where attempt < Self.maxAttempts {
                let conflict = Self.applicationConflicts.contains(error.code)
                guard conflict || Self.isSessionTrouble(error) else { throw error }
                logger.info(
                    conflict ? "the batch's operations conflicted; processing it again"
                        : "ZooKeeper trouble while processing the batch; processing it again",
                    metadata: [LogKey.error: "\(error)", LogKey.attempt: "\(attempt)"])
                if !conflict { try await Task.sleep(for: RetryPolicy.default.delay(afterAttempt: attempt)) }
                attempt += 1
            }
        }
        // Plain processing: the batch is marked and committed behind the next one (`consume`); a failed commit
        // leaves it marked (the next commit tries again), it is not processed twice for it.
        consumer.markProcessed(batch)
    }

    private static func isSessionTrouble(_ error: ZooKeeperError) -> Bool {
        error.isRetryable || error.code == .sessionExpired || error.code == .closing
    }
}
