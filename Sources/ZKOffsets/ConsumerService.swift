import Logging
import ServiceLifecycle

/// Runs an `OffsetConsumer` as a swift-service-lifecycle `Service`: hands each batch to `process`, marks it
/// processed and commits it with the operations `process` returns (one transaction), and on graceful shutdown
/// (SIGTERM, SIGINT in a `ServiceGroup`) finishes the batch in hand, commits and closes.
public struct ConsumerService: Service {
    /// Handles one batch; returns ZooKeeper operations to commit atomically with the batch's offsets
    /// (empty for plain at-least-once processing).
    public typealias Process = @Sendable ([KafkaMessage]) async throws -> [ZooKeeperOperation]

    private let consumer: OffsetConsumer
    private let commitEachBatch: Bool
    private let stopWhenIdle: Duration?
    private let maxMessages: Int?
    private let process: Process

    /// - Parameters:
    ///   - commitEachBatch: commit after every batch (otherwise the consumer's commit interval applies, plus
    ///     a commit for every batch that returned operations).
    ///   - stopWhenIdle: stop after this long without a message, once every partition is read to its log end.
    ///   - maxMessages: stop after this many messages.
    public init(
        consumer: OffsetConsumer, commitEachBatch: Bool = true, stopWhenIdle: Duration? = nil,
        maxMessages: Int? = nil, process: @escaping Process
    ) {
        self.consumer = consumer
        self.commitEachBatch = commitEachBatch
        self.stopWhenIdle = stopWhenIdle
        self.maxMessages = maxMessages
        self.process = process
    }

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
            let operations = try await process(batch)
            if !operations.isEmpty {
                // Results and offsets in one transaction; the batch is processed only if it applied.
                try await consumer.commit(processing: batch, extraOperations: operations)
            } else {
                consumer.markProcessed(batch)
                if commitEachBatch { try await consumer.commit() }
            }
        }
    }
}
