/// An error from Kafka or librdkafka, with the partition it concerns when that is known.
///
/// Shaped like `ZooKeeperError`: a `Code` of static constants (codes can be added without breaking users), the
/// context that helps (topic, partition), `isRetryable`, and a `description` with the code and the message.
/// `description` contains the code, the topic/partition and librdkafka's message; it never contains
/// property values of the configuration (passwords stay out of logs). Two errors are equal when every field is.
public struct KafkaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, as a small open set of well-known codes; librdkafka codes with no name here
    /// are kept as `.librdkafka(rawValue)`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: Hashable, Sendable {
            case named(String)
            case librdkafka(Int32)
        }

        private let backing: Backing

        private init(_ name: String) { backing = .named(name) }

        /// A librdkafka error code that has no name of its own here.
        public static func librdkafka(_ rawValue: Int32) -> Code { Code(backing: .librdkafka(rawValue)) }

        private init(backing: Backing) { self.backing = backing }

        /// The requested offset is outside the partition's log (below the start or above the end).
        public static let offsetOutOfRange = Code("offsetOutOfRange")
        /// The topic or partition does not exist in the cluster.
        public static let unknownTopicOrPartition = Code("unknownTopicOrPartition")
        /// The operation did not complete within its timeout.
        public static let timedOut = Code("timedOut")
        /// Brokers could not be reached or a connection failed.
        public static let transport = Code("transport")
        /// A configuration property is unknown or has an invalid value.
        public static let invalidConfiguration = Code("invalidConfiguration")
        /// An argument passed to a method is invalid (negative offset, empty group id, ...).
        public static let invalidArgument = Code("invalidArgument")
        /// The consumer group is unknown to the cluster.
        public static let unknownGroup = Code("unknownGroup")
        /// The group coordinator is loading, moving, or not yet known.
        public static let coordinatorNotAvailable = Code("coordinatorNotAvailable")
        /// The partition's leader is unknown or moving.
        public static let leaderNotAvailable = Code("leaderNotAvailable")
        /// Authentication (SASL or TLS) failed.
        public static let authentication = Code("authentication")
        /// The principal may not perform the operation.
        public static let authorization = Code("authorization")
        /// The producer's local queue is full.
        public static let queueFull = Code("queueFull")
        /// The message is larger than the producer or the broker accepts.
        public static let messageTooLarge = Code("messageTooLarge")
        /// The broker (or librdkafka's mock cluster) does not implement the request.
        public static let unsupportedFeature = Code("unsupportedFeature")
        /// The client was closed; it cannot be used any more.
        public static let closed = Code("closed")
        /// librdkafka raised a fatal error; the client must be recreated.
        public static let fatal = Code("fatal")

        /// The code's name, or `librdkafka(<raw>)`.
        public var description: String {
            switch backing {
            case .named(let name): name
            case .librdkafka(let raw): "librdkafka(\(raw))"
            }
        }
    }

    /// What went wrong.
    public var code: Code
    /// The topic concerned, when known.
    public var topic: String?
    /// The partition concerned, when known.
    public var partition: Int32?
    /// A human-readable explanation (librdkafka's text, with context added).
    public var message: String
    /// librdkafka's raw `rd_kafka_resp_err_t` value when the error came from librdkafka.
    public var rdKafkaCode: Int32?
    /// `true` when repeating the same operation later can succeed (timeouts, transport, coordinator moves).
    public var isRetryable: Bool

    /// Creates an error; `isRetryable` defaults from the code.
    public init(
        code: Code, message: String, topic: String? = nil, partition: Int32? = nil,
        rdKafkaCode: Int32? = nil, isRetryable: Bool? = nil
    ) {
        self.code = code
        self.message = message
        self.topic = topic
        self.partition = partition
        self.rdKafkaCode = rdKafkaCode
        self.isRetryable = isRetryable ?? Self.retryableCodes.contains(code)
    }

    /// The topic/partition concerned, when both are known.
    public var topicPartition: TopicPartition? {
        guard let topic, let partition else { return nil }
        return TopicPartition(topic: topic, partition: partition)
    }

    /// `KafkaError(<code>) [topic-partition]: message`.
    public var description: String {
        var text = "KafkaError(\(code))"
        if let topicPartition {
            text += " \(topicPartition)"
        } else if let topic {
            text += " \(topic)"
        }
        return text + ": " + message
    }

    private static let retryableCodes: Set<Code> = [
        .timedOut, .transport, .coordinatorNotAvailable, .leaderNotAvailable, .queueFull,
    ]
}
