import ZKOffsets
import Logging

/// Reads the timestamps of single messages of one cluster with a manual (groupless) consumer, many partitions per
/// fetch round, and remembers what it saw.
///
/// Meant for searches that fetch a few messages per partition (`TimestampSearch`). A round assigns every
/// partition asked about at its offset and takes the first message at or after it from each. Callers that search
/// many partitions at once announce themselves (`expectSearchers`) and `leave()` when done: a round then starts
/// only once every announced searcher waits for a message, so n partitions searched together cost O(log n)
/// rounds, not O(n log n) fetches one after another. Without announced searchers each request is a round of its
/// own. Nothing is committed or stored anywhere. Call `close()`.
public actor MessageTimestampReader {
    /// Properties that keep a single-message fetch cheap; the user's `-X` properties come after them.
    ///
    /// Small fetches, and a short broker wait. Not a small `queued.min.messages`: librdkafka 2.0.2 then stops
    /// fetching once one message is queued and looks again only on its one-second timer, which made every
    /// re-assigned fetch take about half a second (14.6 s instead of 2.6 s for the 4-partition test plan).
    public static let fetchProperties: [String: String] = [
        "max.partition.fetch.bytes": "65536",
        "fetch.wait.max.ms": "50",
    ]

    private struct Request {
        let partition: TopicPartition
        let offset: Int64
        let continuation: CheckedContinuation<TimelineSample, any Error>
    }

    private let consumer: KafkaPartitionConsumer
    private let timeout: Duration
    private var seen: [TopicPartition: [Int64: TimelineSample]] = [:]
    private var waiting: [Request] = []
    private var searchers = 0
    private var fetching = false
    /// Messages fetched so far (cache hits not counted).
    public private(set) var fetches = 0
    /// Fetch rounds so far: one assign of every partition asked about, and their first messages.
    public private(set) var rounds = 0

    /// A reader of the cluster `configuration` points at; a round fails its partitions after `timeout`.
    public init(configuration: KafkaConfiguration, timeout: Duration = .seconds(10), logger: Logger) throws {
        var tuned = configuration
        tuned.properties = Self.fetchProperties.merging(configuration.properties) { _, user in user }
        consumer = try KafkaPartitionConsumer(configuration: tuned, logger: logger)
        self.timeout = timeout
    }

    /// Announces `count` more concurrent searchers: fetch rounds wait until each of them waits for a message or
    /// has called `leave()`.
    public func expectSearchers(_ count: Int) {
        searchers += count
    }

    /// One announced searcher is done and will ask for nothing more.
    public func leave() {
        searchers = max(0, searchers - 1)
        startRoundIfReady()
    }

    /// The first message of `partition` at or after `offset` (an offset inside the log: below the log end and
    /// at or above its start, else the consumer fails with `.offsetOutOfRange`).
    ///
    /// Throws `MissingTimestamp` when the message carries no timestamp (message format before Kafka 0.10),
    /// `KafkaError(.timedOut)` naming the partition when nothing arrives within the timeout.
    public func sample(_ partition: TopicPartition, atOrAfter offset: Int64) async throws -> TimelineSample {
        if let known = seen[partition]?[offset] { return known }
        return try await withCheckedThrowingContinuation { continuation in
            waiting.append(Request(partition: partition, offset: offset, continuation: continuation))
            startRoundIfReady()
        }
    }

    /// Every message of `partition` fetched so far, in offset order.
    public func samples(of partition: TopicPartition) -> [TimelineSample] {
        (seen[partition] ?? [:]).values.reduce(into: [Int64: TimelineSample]()) { $0[$1.offset] = $1 }.values
            .sorted { $0.offset < $1.offset }
    }

    /// Releases the consumer.
    public func close() async {
        await consumer.close()
    }

    private func startRoundIfReady() {
        guard !fetching, !waiting.isEmpty, waiting.count >= searchers else { return }
        // One offset per partition and round: a second request for a partition waits for the next round.
        var round: [TopicPartition: Request] = [:]
        var later: [Request] = []
        for request in waiting {
            if round[request.partition] == nil { round[request.partition] = request } else { later.append(request) }
        }
        waiting = later
        fetching = true
        Task { await self.fetch(round) }
    }

    private func fetch(_ round: [TopicPartition: Request]) async {
        rounds += 1
        fetches += round.count
        var open = round
        do {
            try consumer.assign(round.mapValues(\.offset))
            let deadline = ContinuousClock.now + timeout
            while !open.isEmpty, ContinuousClock.now < deadline {
                let batch: [KafkaMessage]
                do {
                    batch = try await consumer.nextBatch(maxMessages: 10_000, timeout: .milliseconds(200))
                } catch let error as KafkaError {
                    // A partition's own failure (out of range, ...) fails its request only; one of a partition no
                    // longer asked about is left over from an earlier round.
                    guard let partition = error.topicPartition else { throw error }
                    open.removeValue(forKey: partition)?.continuation.resume(throwing: error)
                    continue
                }
                // Messages of an earlier round's assignment are dropped by librdkafka (fetch versions); only the
                // first message at or after the offset asked for counts.
                for message in batch {
                    guard let request = open[message.topicPartition], message.offset >= request.offset else { continue }
                    open[message.topicPartition] = nil
                    guard let millis = message.timestampMillis, millis >= 0 else {
                        request.continuation.resume(
                            throwing: MissingTimestamp(partition: request.partition, offset: message.offset))
                        continue
                    }
                    let found = TimelineSample(offset: message.offset, millis: millis)
                    seen[request.partition, default: [:]][request.offset] = found
                    seen[request.partition, default: [:]][found.offset] = found
                    request.continuation.resume(returning: found)
                }
            }
            for request in open.values {
                request.continuation.resume(
                    throwing: KafkaError(
                        code: .timedOut,
                        message: "no message of \(request.partition) at or after offset \(request.offset) "
                            + "within \(timeout)",
                        topic: request.partition.topic, partition: request.partition.partition))
            }
        } catch {
            for request in open.values { request.continuation.resume(throwing: error) }
        }
        fetching = false
        startRoundIfReady()
    }
}
