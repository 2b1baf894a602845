import CRdKafka

extension KafkaError {
    /// Builds an error from a librdkafka response code, keeping the raw code.
    init(
        rdKafka error: rd_kafka_resp_err_t, context: String, topic: String? = nil, partition: Int32? = nil,
        detail: String? = nil
    ) {
        // rd_kafka_err2str returns a static string: no ownership to manage.
        let text = detail ?? String(cString: rd_kafka_err2str(error))
        self.init(
            code: Self.code(for: error), message: "\(context): \(text)", topic: topic, partition: partition,
            rdKafkaCode: error.rawValue)
    }

    /// Builds an error from an `rd_kafka_error_t`, without taking ownership of it.
    init(rdKafkaError error: OpaquePointer, context: String, topic: String? = nil, partition: Int32? = nil) {
        let code = rd_kafka_error_code(error)
        var made = KafkaError(
            rdKafka: code, context: context, topic: topic, partition: partition,
            detail: String(cString: rd_kafka_error_string(error)))
        if rd_kafka_error_is_fatal(error) != 0 {
            made.code = .fatal
            made.isRetryable = false
        } else if rd_kafka_error_is_retriable(error) != 0 {
            made.isRetryable = true
        }
        self = made
    }

    /// Maps librdkafka's codes (broker codes >= 0, local codes < 0) onto the named codes.
    static func code(for error: rd_kafka_resp_err_t) -> Code {
        switch error {
        case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE, RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
            // With auto.offset.reset=error librdkafka reports an out-of-range fetch as __AUTO_OFFSET_RESET.
            return .offsetOutOfRange
        case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC,
            RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
            return .unknownTopicOrPartition
        case RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE,
            RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
            return .timedOut
        case RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__RESOLVE,
            RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
            return .transport
        case RD_KAFKA_RESP_ERR__INVALID_ARG, RD_KAFKA_RESP_ERR_INVALID_REQUEST:
            return .invalidArgument
        case RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND, RD_KAFKA_RESP_ERR_INVALID_GROUP_ID, RD_KAFKA_RESP_ERR__UNKNOWN_GROUP:
            return .unknownGroup
        case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
            RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, RD_KAFKA_RESP_ERR__WAIT_COORD:
            return .coordinatorNotAvailable
        case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
            return .leaderNotAvailable
        case RD_KAFKA_RESP_ERR__AUTHENTICATION, RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED, RD_KAFKA_RESP_ERR__SSL:
            return .authentication
        case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED,
            RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
            return .authorization
        case RD_KAFKA_RESP_ERR__QUEUE_FULL:
            return .queueFull
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
            return .messageTooLarge
        case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE, RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
            return .unsupportedFeature
        case RD_KAFKA_RESP_ERR__FATAL:
            return .fatal
        case RD_KAFKA_RESP_ERR__DESTROY:
            return .closed
        default:
            return .librdkafka(error.rawValue)
        }
    }
}
