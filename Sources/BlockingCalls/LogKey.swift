/// The metadata keys of the libraries' log messages, in one place: log queries and dashboards rely on them, so a key
/// is named once here instead of as a string literal at each call.
package enum LogKey {
    /// How many times an operation has been tried.
    package static let attempt = "attempt"
    /// Which client a message is about (a consumer, an admin client).
    package static let client = "client"
    /// A time limit.
    package static let deadline = "deadline"
    /// The Kafka bootstrap servers.
    package static let bootstrap = "bootstrap"
    /// A ZooKeeper connect string.
    package static let connect = "connect"
    /// A consumer (member) id.
    package static let consumer = "consumer"
    /// A number of things, when the message says what.
    package static let count = "count"
    /// More text from the C library.
    package static let detail = "detail"
    /// The value a library kept for a property it enforces.
    package static let enforced = "enforced"
    /// The error, as its description.
    package static let error = "error"
    /// The first few items of a long list.
    package static let first = "first"
    /// Single-message fetches from the new cluster (a migration by message time).
    package static let fetchesNew = "fetches.new"
    /// Single-message fetches from the old cluster (a migration by message time).
    package static let fetchesOld = "fetches.old"
    /// A consumer group id.
    package static let group = "group"
    /// The offset Kafka holds.
    package static let kafka = "kafka"
    /// One topic-partition.
    package static let partition = "partition"
    /// A number or list of topic-partitions.
    package static let partitions = "partitions"
    /// A configuration property name.
    package static let property = "property"
    /// Messages still queued.
    package static let queued = "queued"
    /// librdkafka's log facility.
    package static let rdkafkaFacility = "rdkafka.facility"
    /// librdkafka's syslog level.
    package static let rdkafkaLevel = "rdkafka.level"
    /// Why something was refused.
    package static let reason = "reason"
    /// Rounds of fetches from the new cluster (a migration by message time).
    package static let roundsNew = "rounds.new"
    /// Rounds of fetches from the old cluster (a migration by message time).
    package static let roundsOld = "rounds.old"
    /// A ZooKeeper session id.
    package static let session = "session"
    /// A number of offsets written.
    package static let written = "written"
    /// The offset ZooKeeper holds.
    package static let zookeeper = "zookeeper"
}
