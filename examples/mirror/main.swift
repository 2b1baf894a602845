// mirror: copies topics from one cluster to another as MirrorMaker does for a migration: same partition, same
// key, value and timestamp (CreateTime), in offset order. Copies what each partition holds when it starts (log
// start to log end) and exits; offsets in the target are whatever the target gives, which is why a group's
// offsets must be carried by time (`zkoffsets migrate --to-bootstrap-server`).
import ArgumentParser
import Foundation
import Logging
import ZKOffsets

@main
struct Mirror: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mirror",
        abstract: "Copy topics to another cluster, keeping partitions, keys, values and timestamps.")

    @Option(name: .customLong("from-bootstrap-server"), help: "The source cluster's brokers.")
    var fromBootstrapServer: String
    @Option(name: .customLong("to-bootstrap-server"), help: "The target cluster's brokers.")
    var toBootstrapServer: String
    @Option(help: "A topic to copy (repeatable); it must exist on both sides with the same partition count.")
    var topic: [String]

    func run() async throws {
        var logger = Logger(label: "mirror")
        logger.logLevel = .warning
        let source = KafkaConfiguration(bootstrapServers: fromBootstrapServer)
        let target = KafkaConfiguration(bootstrapServers: toBootstrapServer)
        let admin = try KafkaAdminClient(configuration: source, logger: logger)
        let targetAdmin = try KafkaAdminClient(configuration: target, logger: logger)
        let producer = try KafkaProducer(configuration: target, logger: logger)
        let consumer = try KafkaPartitionConsumer(configuration: source, logger: logger)
        do {
            let sourceTopics = try await admin.topics(topic)
            let targetTopics = try await targetAdmin.topics(topic)
            for (from, to) in zip(sourceTopics, targetTopics) where from.partitions.count != to.partitions.count {
                throw ValidationError(
                    "\(from.name) has \(from.partitions.count) partitions in the source, \(to.partitions.count) in the target")
            }
            let partitions = sourceTopics.flatMap { metadata in
                metadata.partitions.map { TopicPartition(topic: metadata.name, partition: $0) }
            }
            let marks = try await admin.watermarks(for: partitions)
            let copying = partitions.filter { marks[$0]!.count > 0 }
            try consumer.assign(Dictionary(uniqueKeysWithValues: copying.map { ($0, marks[$0]!.low) }))
            var remaining = Set(copying)
            var copied: [TopicPartition: Int] = [:]
            let deadline = ContinuousClock.now + .seconds(60)
            while !remaining.isEmpty, ContinuousClock.now < deadline {
                for message in try await consumer.nextBatch() where remaining.contains(message.topicPartition) {
                    try producer.send(
                        topic: message.topic, partition: message.partition, key: message.key.map(Array.init),
                        value: Array(message.value),
                        timestampMillis: message.timestampMillis)
                    copied[message.topicPartition, default: 0] += 1
                    if message.offset + 1 >= marks[message.topicPartition]!.high {
                        remaining.remove(message.topicPartition)
                    }
                }
            }
            try await producer.flush()
            guard remaining.isEmpty else { throw ValidationError("timed out copying \(remaining.sorted())") }
            for partition in partitions {
                print("mirrored \(partition): \(copied[partition, default: 0]) message(s)")
            }
        } catch {
            await consumer.close()
            await producer.close()
            await admin.close()
            await targetAdmin.close()
            throw error
        }
        await consumer.close()
        await producer.close()
        await admin.close()
        await targetAdmin.close()
    }
}
