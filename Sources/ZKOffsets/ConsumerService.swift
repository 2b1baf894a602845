import Logging
import ServiceLifecycle

/// Runs an `OffsetConsumer` as a swift-service-lifecycle `Service`: hands each batch to `process`, marks it
/// processed and commits it with the operations `process` returns (one transaction), and on graceful shutdown
/// (SIGTERM, SIGINT in a `ServiceGroup`) finishes the batch in hand, commits and leaves the group.
///
/// Rebalances need nothing from the application: partitions given up are released at the next batch, after the
/// one in hand was committed. A commit refused because the batch's partitions moved (`fenced`: an expired
/// session) or because the session is in doubt is logged and consumption goes on: the batch is not counted as
/// processed, and whoever owns its partitions delivers it again.
public struct ConsumerService: Service {
    /// Handles one batch; returns ZooKeeper operations to commit atomically with the batch's offsets
    /// (empty for plain at-least-once processing).
    public typealias Process = @Sendable ([KafkaMessage]) async throws -> [ZooKeeperOperation]

    private let consumer: OffsetConsumer
    private let commitEachBatch: Bool
    private let stopWhenIdle: Duration?
    private let maxMessages: Int?
    private let process: Process
    private let logger: Logger

    /// - Parameters:
    ///   - commitEachBatch: commit after every batch (otherwise the consumer's commit interval applies, plus
    ///     a commit for every batch that returned operations).
    ///   - stopWhenIdle: stop after this long without a message, once every partition is read to its log end.
    ///   - maxMessages: stop after this many messages.
    ///   - logger: where refused commits and conflicts are logged (at info).
    ///   - process: handles a batch and returns the operations to commit with it. It is called again for the same
    ///     batch when those operations conflict with another writer's (a version-conditional write lost a race):
    ///     read what it depends on afresh each time.
    public init(
        consumer: OffsetConsumer, commitEachBatch: Bool = true, stopWhenIdle: Duration? = nil,
        maxMessages: Int? = nil, logger: Logger = Logger(label: "zkoffsets"), process: @escaping Process
    ) {
        self.logger = logger
        self.consumer = consumer
        self.commitEachBatch = commitEachBatch
        self.stopWhenIdle = stopWhenIdle
        self.maxMessages = maxMessages
        self.process = process
    }

    /// Failures of the application's conditional operations that a new `process` of the batch can resolve.
    static let applicationConflicts: Set<ZooKeeperError.Code> = [.badVersion, .nodeExists, .noNode]
    static let maxConflictRetries = 20

    public func run() async throws {
        let consumer = self.consumer
        do {
            try await withGracefulShutdownHandler {
                try await consume()
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

    private func consume() async throws {
        var lastMessage = ContinuousClock.now
        var remaining = maxMessages ?? Int.max
        while remaining > 0, var batch = try await consumer.nextBatch() {
            if batch.isEmpty {
                if let stopWhenIdle, ContinuousClock.now - lastMessage >= stopWhenIdle {
                    // Idle is not enough: the first fetches may still be on their way.
                    if try await consumer.isCaughtUp() { return }
                    lastMessage = .now
                }
                continue
            }
            lastMessage = .now
            if batch.count > remaining { batch = Array(batch.prefix(remaining)) }
            remaining -= batch.count
            var operations = try await process(batch)
            do {
                if !operations.isEmpty {
                    // Results and offsets in one transaction; the batch is processed only if it applied. When the
                    // application's own conditional operations lost a race (another member wrote the same znodes),
                    // the batch is processed again on what is there now.
                    var attempt = 1
                    while true {
                        do {
                            try await consumer.commit(processing: batch, extraOperations: operations)
                            break
                        } catch let error as ZooKeeperError
                            where Self.applicationConflicts.contains(error.code) && attempt < Self.maxConflictRetries
                        {
                            attempt += 1
                            logger.info("the batch's operations conflicted; processing it again",
                                metadata: ["error": "\(error)"])
                            operations = try await process(batch)
                        }
                    }
                } else {
                    consumer.markProcessed(batch)
                    if commitEachBatch { try await consumer.commit() }
                }
            } catch let error as OffsetError where error.code == .fenced || error.code == .sessionInDoubt {
                logger.info("commit refused; consuming on", metadata: ["reason": "\(error.message)"])
            }
        }
    }
}
