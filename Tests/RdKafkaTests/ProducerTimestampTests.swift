import RdKafka
import Testing

/// Messages produced with an explicit CreateTime come back with exactly that timestamp.
@Suite struct ProducerTimestampTests {
    @Test func explicitTimestampsSurviveTheRoundTrip() async throws {
        let fixture = try await MockClusterFixture.start(partitions: 1, perPartition: 0)
        let producer = try KafkaProducer(configuration: fixture.configuration, logger: fixture.logger)
        let times: [Int64] = [1_600_000_000_000, 5, 1_600_000_000_000, 1_599_999_999_999]
        for (index, time) in times.enumerated() {
            try producer.send(topic: fixture.topic, partition: 0, value: Array("m\(index)".utf8), timestampMillis: time)
        }
        #expect(throws: KafkaError.self) {
            try producer.send(topic: fixture.topic, partition: 0, value: [1], timestampMillis: -2)
        }
        try await producer.flush()
        await producer.close()

        let consumer = try KafkaPartitionConsumer(configuration: fixture.configuration, logger: fixture.logger)
        try consumer.assign([fixture.partition(0): 0])
        var messages: [KafkaMessage] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while messages.count < times.count, ContinuousClock.now < deadline {
            messages += try await consumer.nextBatch()
        }
        await consumer.close()
        await fixture.close()
        #expect(messages.map(\.timestampMillis) == times.map { Optional($0) })
        #expect(messages.map(\.offset) == [0, 1, 2, 3])
    }
}
