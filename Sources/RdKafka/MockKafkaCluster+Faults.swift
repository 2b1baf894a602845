/// Faults a test injects into the mock cluster with librdkafka's own controls (`rdkafka_mock.h`, librdkafka 2.0.2):
/// brokers going down and up, partition leaders moving, requests answered with errors, a topic that looks deleted.
///
/// The brokers have the ids 1 to `brokerCount`. Every control is cluster state, not a script: it holds until it is
/// undone (a broker brought up again) or used up (pushed errors answer one request each).
extension MockKafkaCluster {
    /// A kind of Kafka protocol request, by its ApiKey, whose answers can be made to fail.
    public struct Request: Hashable, Sendable, CustomStringConvertible {
        /// The Kafka protocol ApiKey.
        public let apiKey: Int16

        /// A request kind by its Kafka protocol ApiKey.
        public init(apiKey: Int16) { self.apiKey = apiKey }

        /// Produce (0): what producers send.
        public static let produce = Request(apiKey: 0)
        /// Fetch (1): what consumers read messages with.
        public static let fetch = Request(apiKey: 1)
        /// ListOffsets (2): log start and end offsets (watermarks), offsets for times.
        public static let listOffsets = Request(apiKey: 2)
        /// Metadata (3): topics, partitions and their leaders.
        public static let metadata = Request(apiKey: 3)
        /// OffsetCommit (8): Kafka-stored group offsets (`dual` and `kafka` offset storage).
        public static let offsetCommit = Request(apiKey: 8)
        /// OffsetFetch (9): reading Kafka-stored group offsets.
        public static let offsetFetch = Request(apiKey: 9)

        /// The request's name where this type has one, else `ApiKey <n>`.
        public var description: String {
            let names: [Int16: String] = [
                0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 8: "OffsetCommit", 9: "OffsetFetch",
            ]
            return names[apiKey] ?? "ApiKey \(apiKey)"
        }
    }

    /// An answer a mock broker gives instead of the real one: a Kafka protocol error code, or a disconnect.
    public struct InjectedError: Hashable, Sendable, CustomStringConvertible {
        /// The Kafka protocol error code (librdkafka's `rd_kafka_resp_err_t` value; negative ones are local).
        public let rawValue: Int32

        /// A Kafka protocol error code as brokers send it (see the protocol's error table).
        public static func broker(_ code: Int16) -> InjectedError { InjectedError(rawValue: Int32(code)) }

        private init(rawValue: Int32) { self.rawValue = rawValue }

        /// UNKNOWN_TOPIC_OR_PARTITION (3): what brokers answer for a topic that was deleted.
        public static let unknownTopicOrPartition = broker(3)
        /// LEADER_NOT_AVAILABLE (5): an election is in progress.
        public static let leaderNotAvailable = broker(5)
        /// NOT_LEADER_FOR_PARTITION (6): the leader moved; clients refresh their metadata.
        public static let notLeaderForPartition = broker(6)
        /// REQUEST_TIMED_OUT (7).
        public static let requestTimedOut = broker(7)
        /// COORDINATOR_NOT_AVAILABLE (15).
        public static let coordinatorNotAvailable = broker(15)
        /// NOT_COORDINATOR (16): the group coordinator moved.
        public static let notCoordinator = broker(16)
        /// The broker closes the connection instead of answering (librdkafka's `__TRANSPORT`, -195).
        public static let disconnect = InjectedError(rawValue: -195)

        /// `disconnect`, or `error <code>`.
        public var description: String { self == .disconnect ? "disconnect" : "error \(rawValue)" }
    }

    /// Takes broker `id` down: its connections are closed and new ones refused until `setBrokerUp`. Its partitions
    /// keep it as their leader (the mock elects no one else), so they cannot be read or written meanwhile.
    /// Throws when the broker does not exist or the cluster is closed.
    public func setBrokerDown(_ id: Int32) throws {
        try cluster.setBrokerDown(id)
    }

    /// Lets broker `id` accept connections again (after `setBrokerDown`).
    public func setBrokerUp(_ id: Int32) throws {
        try cluster.setBrokerUp(id)
    }

    /// Makes broker `id` the leader of `partition`, keeping the partition's data: clients still asking the old
    /// leader are answered NOT_LEADER_FOR_PARTITION and find the new one through Metadata. Any broker of the cluster
    /// can lead any partition (the mock keeps one log per partition, whatever the replication factor).
    public func setLeader(of partition: TopicPartition, to id: Int32) throws {
        try cluster.setLeader(topic: partition.topic, partition: partition.partition, broker: id)
    }

    /// The next `errors.count` requests of kind `request`, to whichever broker, are answered with `errors` in
    /// order, one each, for every partition the request names. Errors still pushed stay until used or cleared.
    public func failNextRequests(_ request: Request, with errors: [InjectedError]) throws {
        try cluster.pushRequestErrors(apiKey: request.apiKey, errors: errors.map(\.rawValue))
    }

    /// Forgets the errors still pushed for `request`.
    public func clearRequestErrors(_ request: Request) throws {
        try cluster.clearRequestErrors(apiKey: request.apiKey)
    }

    /// Makes `topic` look deleted, as far as librdkafka 2.0.2's mock allows: the mock cannot delete a topic, so
    /// from now on every Metadata request answers the topic UNKNOWN_TOPIC_OR_PARTITION (what brokers say of a deleted
    /// topic), and the next `fetchErrors` Fetch requests (of any topic: pushed errors are cluster-wide) answer it
    /// too, as the leader of a deleted partition does, which makes a consumer look at the metadata at once. The
    /// topic's data stays in the mock, and Produce and ListOffsets still serve it.
    public func makeTopicLookDeleted(_ topic: String, fetchErrors: Int = 100) throws {
        try cluster.setTopicError(topic, error: InjectedError.unknownTopicOrPartition.rawValue)
        try failNextRequests(.fetch, with: Array(repeating: .unknownTopicOrPartition, count: max(0, fetchErrors)))
    }
}
