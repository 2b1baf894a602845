import CRdKafka

extension RDKafkaClient {
    /// An error for a failed call, naming the last broker error when the call timed out or lost its connection:
    /// "timed out" alone does not tell an operator that the broker address was wrong.
    func failure(
        _ error: rd_kafka_resp_err_t, context: String, topic: String? = nil, partition: Int32? = nil,
        detail: String? = nil
    ) -> KafkaError {
        var made = KafkaError(rdKafka: error, context: context, topic: topic, partition: partition, detail: detail)
        if made.code == .timedOut || made.code == .transport {
            // Error events wait on the main queue until someone polls it; serving them fills lastBrokerError.
            serveEvents()
            if let broker = self.context.lastBrokerError {
                made.message += " (last broker error: \(broker))"
            }
        }
        return made
    }
}
