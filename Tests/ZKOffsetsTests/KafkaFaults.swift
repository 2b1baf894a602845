import Foundation
import Synchronization
import Testing
import ZKOffsets

/// The Kafka faults of `KafkaFaultTests`, injected with the mock cluster's own controls one after the other while
/// messages flow. Each is held until the consumers have read on (`consumed` counts what they have read so far), so
/// that it lands mid-stream and reading goes on through it; `injected` lists what was done, for the test's report.
struct KafkaFaults {
    let cluster: MockKafkaCluster
    let partitions: [TopicPartition]
    /// How many more messages the consumers must read while a fault holds.
    var readOn = 200
    /// What to show of the consumers when they do not read on (their last log lines).
    var consumerState: () -> String = { "" }
    private(set) var injected: [String] = []

    init(cluster: MockKafkaCluster, topic: String, partitions: Int32) {
        self.cluster = cluster
        self.partitions = (0..<partitions).map { TopicPartition(topic: topic, partition: $0) }
    }

    /// Partition p is led by broker p % brokers + 1, so that every broker leads some partitions.
    mutating func spreadLeaders() throws {
        for partition in partitions {
            try cluster.setLeader(of: partition, to: partition.partition % cluster.brokerCount + 1)
        }
    }

    /// Takes `broker` down until the consumers have read on from the other brokers' partitions, then up again.
    mutating func brokerDownAndUp(_ broker: Int32, consumed: () -> Int) async throws {
        let before = consumed()
        try cluster.setBrokerDown(broker)
        do {
            try await eventually("reading goes on from the other brokers while broker \(broker) is down; consumers: \(consumerState())") {
                consumed() >= before + readOn
            }
        } catch {
            try cluster.setBrokerUp(broker)
            throw error
        }
        try cluster.setBrokerUp(broker)
        injected.append("broker \(broker) down and up")
    }

    /// Moves the leader of every partition to the next broker, mid-stream.
    mutating func moveEveryLeader(consumed: () -> Int) async throws {
        let before = consumed()
        for partition in partitions {
            try cluster.setLeader(of: partition, to: (partition.partition + 1) % cluster.brokerCount + 1)
        }
        try await eventually("reading goes on after every leader moved; consumers: \(consumerState())") { consumed() >= before + readOn }
        injected.append("\(partitions.count) leader moves")
    }

    /// The next Fetch requests fail: not leader, disconnect, leader not available, timed out, three times over.
    mutating func fetchErrors(consumed: () -> Int) async throws {
        let before = consumed()
        let errors = Array(
            repeating: [MockKafkaCluster.InjectedError.notLeaderForPartition, .disconnect, .leaderNotAvailable,
                .requestTimedOut], count: 3
        ).flatMap { $0 }
        try cluster.failNextRequests(.fetch, with: errors)
        try await eventually("reading goes on through failing Fetch requests; consumers: \(consumerState())") { consumed() >= before + readOn }
        injected.append("\(errors.count) Fetch errors")
    }

    /// The next OffsetCommit requests (Kafka-stored group offsets, as `dual` and `kafka` storage commit them) fail:
    /// not coordinator, coordinator not available, timed out, disconnect.
    mutating func offsetCommitErrors(consumed: () -> Int) async throws {
        let before = consumed()
        let errors: [MockKafkaCluster.InjectedError] = [
            .notCoordinator, .coordinatorNotAvailable, .requestTimedOut, .disconnect,
        ]
        try cluster.failNextRequests(.offsetCommit, with: errors)
        try await eventually("reading goes on through failing OffsetCommit requests; consumers: \(consumerState())") { consumed() >= before + readOn }
        injected.append("\(errors.count) OffsetCommit errors")
    }

    /// The next ListOffsets requests (log start and end lookups, as a consumer starting a partition makes) fail:
    /// not leader, disconnect, timed out. Call it right before a consumer starts.
    mutating func listOffsetsErrors() throws {
        let errors: [MockKafkaCluster.InjectedError] = [.notLeaderForPartition, .disconnect, .requestTimedOut]
        try cluster.failNextRequests(.listOffsets, with: errors)
        injected.append("\(errors.count) ListOffsets errors")
    }
}

/// Messages `m<i>` produced round-robin over a topic's partitions, about 1,000 a second, until `stop()`. The one
/// producer never waits for a broker (a send only enqueues), so the partitions of a broker that is down queue up
/// and are delivered when it is back, while the others keep flowing.
final class Traffic: Sendable {
    private let task: Task<Int, any Error>

    init(cluster: MockKafkaCluster, topic: String, partitions: Int32) throws {
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: TestEnvironment.logger)
        task = Task {
            var next = 0
            // `stop()` cancels the task: the loop ends, and the flush below still runs.
            while !Task.isCancelled {
                for _ in 0..<20 {
                    try producer.send(topic: topic, partition: Int32(next % Int(partitions)), value: Array("m\(next)".utf8))
                    next += 1
                }
                try? await Task.sleep(for: .milliseconds(20))  // the rate of the traffic, not synchronisation
            }
            try await producer.flush(timeout: .seconds(60))
            await producer.close()
            return next
        }
    }

    /// Stops producing and waits until every message sent is acknowledged; returns how many were sent (`m0` to
    /// `m<n-1>`).
    func stop() async throws -> Int {
        task.cancel()
        return try await task.value
    }
}

/// What consumers read, checked against the partitions' logs.
struct DeliveryCheck {
    /// Messages read that were read before (the same partition and offset).
    let duplicates: Int
    let read: Int

    /// Expects every offset below each partition's log end read at least once, nothing else read, and every value
    /// `m0` to `m<sent-1>` among them (the producer may have written a message twice after a lost acknowledgement;
    /// that is the log's business, not the consumer's, hence offsets are compared with the log, not with `sent`).
    init(_ lines: [PrintedLine], ends: [Int32: Int64], sent: Int) {
        let expected = Set(ends.flatMap { partition, end in (0..<end).map { PrintedPosition(partition, $0) } })
        let seen = Set(lines.map { PrintedPosition($0.partition, $0.offset) })
        let missing = expected.subtracting(seen)
        #expect(missing.isEmpty, "\(missing.count) messages lost, first: \(missing.sorted().prefix(5))")
        #expect(seen.subtracting(expected).isEmpty, "messages read beyond the log ends")
        let values = Set(lines.map(\.value))
        let lost = (0..<sent).filter { !values.contains("m\($0)") }
        #expect(lost.isEmpty, "\(lost.count) produced values never read, first: \(lost.prefix(5))")
        read = lines.count
        duplicates = lines.count - seen.count
    }
}

extension PrintedLine {
    /// A message read by a library consumer, as print-consumer would have printed it.
    init(_ message: KafkaMessage) {
        self.init("\(message.topic) \(message.partition) \(message.offset) \(message.text)")!
    }
}

struct PrintedPosition: Hashable, Comparable, CustomStringConvertible {
    let partition: Int32
    let offset: Int64
    init(_ partition: Int32, _ offset: Int64) {
        self.partition = partition
        self.offset = offset
    }
    static func < (a: Self, b: Self) -> Bool { (a.partition, a.offset) < (b.partition, b.offset) }
    var description: String { "\(partition)@\(offset)" }
}
