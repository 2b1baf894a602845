import RdKafka
import Testing

@Suite("Value types")
struct ValueTypeTests {
    @Test("TopicPartition sorts by topic then partition and prints like Kafka")
    func topicPartition() {
        let items = [
            TopicPartition(topic: "b", partition: 0), TopicPartition(topic: "a", partition: 10),
            TopicPartition(topic: "a", partition: 2),
        ]
        #expect(items.sorted().map(\.description) == ["a-2", "a-10", "b-0"])
    }

    @Test("KafkaError codes are comparable, retryability follows the code, raw codes are kept")
    func kafkaError() {
        let error = KafkaError(code: .timedOut, message: "slow", topic: "t", partition: 3, rdKafkaCode: -185)
        #expect(error.isRetryable)
        #expect(error.topicPartition == TopicPartition(topic: "t", partition: 3))
        #expect(error.description == "KafkaError(timedOut) t-3: slow")
        #expect(!KafkaError(code: .offsetOutOfRange, message: "").isRetryable)
        #expect(KafkaError.Code.librdkafka(-1) == .librdkafka(-1))
        #expect(KafkaError.Code.librdkafka(-1) != .transport)
        // Equatable like ZooKeeperError and OffsetError: every field counts.
        #expect(error == KafkaError(code: .timedOut, message: "slow", topic: "t", partition: 3, rdKafkaCode: -185))
        #expect(error != KafkaError(code: .timedOut, message: "slow", topic: "t", partition: 4, rdKafkaCode: -185))
    }

    @Test("Watermarks know their range")
    func watermarks() {
        let marks = Watermarks(low: 5, high: 10)
        #expect(marks.contains(5) && marks.contains(10) && !marks.contains(4) && !marks.contains(11))
        #expect(marks.count == 5)
    }
}
