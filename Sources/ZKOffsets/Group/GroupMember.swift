import Foundation

/// A member of a group as its `ids` znode describes it (Kafka 0.8's registration JSON):
/// `{"version":1,"subscription":{"<topic>":<threads>},"pattern":"static","timestamp":"<epoch ms>"}`.
///
/// Java members may run several threads per topic and may subscribe by pattern (`white_list`, `black_list`,
/// whose single subscription key is a regular expression); zkoffsets members always register one static thread
/// per topic.
public struct GroupMember: Sendable, Hashable {
    /// The member's consumer id (the `ids` child's name).
    public var consumerID: String
    /// Topic (or, for a pattern subscription, the pattern) -> number of consumer threads.
    public var subscription: [String: Int]
    /// `static`, `white_list` or `black_list`.
    public var pattern: String
    /// When the member registered, if the JSON says.
    public var timestampMillis: Int64?

    /// A member as given, nothing checked; parse an `ids` znode's data with `init(consumerID:registration:)`.
    public init(consumerID: String, subscription: [String: Int], pattern: String = "static", timestampMillis: Int64? = nil) {
        self.consumerID = consumerID
        self.subscription = subscription
        self.pattern = pattern
        self.timestampMillis = timestampMillis
    }

    /// Parses an `ids` znode's data; throws `malformedRegistration` naming the member and showing the data.
    public init(consumerID: String, registration data: [UInt8]) throws(OffsetError) {
        func malformed(_ why: String) -> OffsetError {
            OffsetError(
                .malformedRegistration,
                "registration of consumer \(consumerID) is not Kafka 0.8's JSON (\(why)): "
                    + "'\(String(decoding: data.prefix(200), as: UTF8.self).escapedForDisplay)'")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any] else {
            throw malformed("not a JSON object")
        }
        guard let subscription = object["subscription"] as? [String: Any] else {
            throw malformed("no subscription object")
        }
        var counts: [String: Int] = [:]
        for (topic, count) in subscription {
            guard let number = count as? NSNumber, number.intValue > 0, number.intValue <= 10_000 else {
                throw malformed("thread count of '\(topic)' is not a positive number")
            }
            counts[topic] = number.intValue
        }
        let pattern = object["pattern"] as? String ?? "static"
        guard ["static", "white_list", "black_list"].contains(pattern) else {
            throw malformed("unknown pattern '\(pattern)'")
        }
        let timestamp: Int64? =
            switch object["timestamp"] {
            case let text as String: Int64(text)
            case let number as NSNumber: number.int64Value
            default: nil
            }
        self.init(consumerID: consumerID, subscription: counts, pattern: pattern, timestampMillis: timestamp)
    }

    /// The registration JSON of a zkoffsets member: one thread per topic, static pattern.
    public static func registration(topics: [String], timestampMillis: Int64) -> [UInt8] {
        let subscription = topics.sorted().map { "\"\($0)\":1" }.joined(separator: ",")
        let json = "{\"version\":1,\"subscription\":{\(subscription)},\"pattern\":\"static\","
            + "\"timestamp\":\"\(timestampMillis)\"}"
        return Array(json.utf8)
    }

    /// The member's thread count for `topic` (0 when it does not subscribe to it). Pattern subscriptions are
    /// matched as Kafka 0.8's `TopicFilter` does: commas mean `|`, the whole topic name must match.
    public func threads(for topic: String) -> Int {
        if pattern == "static" { return subscription[topic] ?? 0 }
        guard let (expression, count) = subscription.first else { return 0 }
        let regex = expression.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ",", with: "|")
            .replacingOccurrences(of: " ", with: "").trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
        let matches = (try? NSRegularExpression(pattern: "^(?:\(regex))$"))
            .map { $0.firstMatch(in: topic, range: NSRange(topic.startIndex..., in: topic)) != nil } ?? false
        return (pattern == "white_list") == matches ? count : 0
    }

    /// The member's consumer thread ids for `topic`: `<consumerId>-0` ... `<consumerId>-(n-1)`.
    public func threadIDs(for topic: String) -> [String] {
        (0..<threads(for: topic)).map { "\(consumerID)-\($0)" }
    }
}
