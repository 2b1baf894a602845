/// How to reach a Kafka cluster, plus any librdkafka property, passed through as `kcat -X key=value` does.
///
/// Every key of `properties` is handed to librdkafka unchanged (`security.protocol`, `sasl.*`, `ssl.*`,
/// `queued.min.messages`, ...); an unknown key or a bad value makes the client's initializer throw
/// `KafkaError` with code `.invalidConfiguration` naming the property. `bootstrapServers` wins over a
/// `bootstrap.servers` key. Some properties are enforced per client type and cannot be overridden:
/// see `KafkaPartitionConsumer.enforcedProperties`.
public struct KafkaConfiguration: Sendable {
    /// Comma-separated `host:port` list of brokers used to discover the cluster.
    public var bootstrapServers: String
    /// librdkafka properties (see librdkafka's CONFIGURATION.md), applied after the library's defaults.
    public var properties: [String: String]

    /// Creates a configuration; nothing is validated until a client is created from it.
    public init(bootstrapServers: String, properties: [String: String] = [:]) {
        self.bootstrapServers = bootstrapServers
        self.properties = properties
    }

    /// Properties from `key=value` arguments (kcat's and our tools' `-X`); a later key wins. Throws
    /// `.invalidConfiguration` naming an argument without `=` or with an empty key.
    public static func properties(fromArguments arguments: [String]) throws -> [String: String] {
        var properties: [String: String] = [:]
        for argument in arguments {
            guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else {
                throw KafkaError(code: .invalidConfiguration, message: "-X takes key=value, not '\(argument)'")
            }
            properties[String(argument[..<equals])] = String(argument[argument.index(after: equals)...])
        }
        return properties
    }
}
