import ZKOffsets
import Foundation

/// Where `reset` moves offsets to.
public enum ResetTarget: Sendable, Equatable {
    /// The log start.
    case earliest
    /// The log end.
    case latest
    /// An absolute next offset.
    case offset(Int64)
    /// The stored offset plus `n` (negative: back).
    case shiftBy(Int64)
    /// The first offset whose message timestamp is at or after this time (ms since the epoch).
    case datetime(millis: Int64)
    /// The first offset whose timestamp is at or after now minus this many milliseconds.
    case duration(millis: Int64)
    /// The stored offset again (rewrites non-canonical data; clamps offsets that fell out of the log).
    case current
    /// Offsets from a file (`OffsetFile` formats, or `topic,partition,offset` lines).
    case file([OffsetEntry])

    /// Parses `--to-datetime`: ISO-8601 such as `2024-05-01T12:00:00Z`, `2024-05-01T12:00:00.123+02:00`, or without
    /// a zone (then local time, as kafka-consumer-groups reads it).
    public static func parseDatetime(_ text: String) throws(OffsetError) -> Int64 {
        let withZone = ISO8601DateFormatter()
        withZone.formatOptions = [.withInternetDateTime]
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = withZone.date(from: text) ?? fractional.date(from: text) {
            return Int64((date.timeIntervalSince1970 * 1000).rounded())
        }
        for pattern in ["yyyy-MM-dd'T'HH:mm:ss.SSS", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone.current
            formatter.dateFormat = pattern
            if let date = formatter.date(from: text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        }
        throw OffsetError(
            .invalidInput, "'\(text.escapedForDisplay)' is not an ISO-8601 date-time (e.g. 2024-05-01T12:00:00Z)")
    }

    /// Parses `--by-duration`: ISO-8601 `PnDTnHnMnS` (any part may be left out; seconds may have a fraction),
    /// in milliseconds.
    public static func parseDuration(_ text: String) throws(OffsetError) -> Int64 {
        let invalid = OffsetError(
            .invalidInput, "'\(text.escapedForDisplay)' is not a duration PnDTnHnMnS (e.g. PT1H30M, P2D)")
        var rest = Substring(text.uppercased())
        guard rest.hasPrefix("P"), rest.count > 1 else { throw invalid }
        rest = rest.dropFirst()
        var millis: Double = 0
        var inTime = false
        var number = ""
        var sawUnit = false
        for character in rest {
            if character.isASCII && (character.isNumber || character == ".") {
                number.append(character)
                continue
            }
            if character == "T" {
                guard !inTime, number.isEmpty else { throw invalid }
                inTime = true
                continue
            }
            guard let value = Double(number), !number.isEmpty else { throw invalid }
            let unit: Double
            switch (character, inTime) {
            case ("D", false): unit = 86_400_000
            case ("H", true): unit = 3_600_000
            case ("M", true): unit = 60_000
            case ("S", true): unit = 1_000
            default: throw invalid
            }
            millis += value * unit
            number = ""
            sawUnit = true
        }
        guard number.isEmpty, sawUnit, millis < 9e15 else { throw invalid }
        return Int64(millis.rounded())
    }
}

/// The partitions `reset` works on.
public enum ResetScope: Sendable, Equatable {
    /// Every partition (on the brokers) of every topic the group has offsets for.
    case allTopics
    /// The named topics, each all partitions (on the brokers) or the listed ones.
    case topics([TopicSelection])
}

/// `--topic T` or `--topic T:P,P...`.
public struct TopicSelection: Sendable, Equatable {
    /// The topic; `init(parsing:)` validates its name, `init(topic:partitions:)` does not.
    public var topic: String
    /// nil: every partition of the topic.
    public var partitions: [Int32]?

    /// A selection as given, every partition of `topic` when `partitions` is nil; nothing is checked.
    public init(topic: String, partitions: [Int32]? = nil) {
        self.topic = topic
        self.partitions = partitions
    }

    /// Parses `T` or `T:P,P...`, validating the topic name.
    public init(parsing text: String) throws(OffsetError) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        topic = String(parts[0])
        try OffsetLayout.validateTopic(topic)
        if parts.count == 2 {
            var numbers: [Int32] = []
            for item in parts[1].split(separator: ",", omittingEmptySubsequences: false) {
                guard OffsetValue.isCanonical(Array(item.utf8)), let number = Int32(item) else {
                    throw OffsetError(.invalidInput, "'\(item)' is not a partition number in --topic '\(text)'")
                }
                numbers.append(number)
            }
            partitions = numbers
        }
    }
}

/// Plans a reset of one ZooKeeper group: resolves the target of each partition through the brokers, clamps it to
/// [log start, log end] with a warning, and reads the current znodes so the plan shows both.
public enum ResetPlanner {
    /// Plans resetting `group`'s offsets in `scope` to `target`; reads only (apply the plan to write).
    ///
    /// Targets outside [log start, log end] are clamped, with a warning each; `shiftBy` and `current` leave a partition
    /// without a usable stored offset alone, with a warning. A targeted znode with malformed data is refused
    /// (`OperationRefusal`) unless every partition was named (`--topic T:P`, a file). Throws
    /// `invalidGroup`/`invalidTopic` for bad names, and `invalidInput` for a group that does not exist, a topic or
    /// partition the brokers lack, or a file with another group's offsets.
    public static func plan(
        inventory: GroupInventory, admin: KafkaAdminClient, group: String, scope: ResetScope, target: ResetTarget,
        nowMillis: Int64 = Int64(Date().timeIntervalSince1970 * 1000), timeout: Duration = .seconds(10)
    ) async throws -> OffsetPlan {
        try OffsetLayout.validateGroup(group)
        try await inventory.requireExisting(group: group)
        // Which partitions, and whether they were named one by one (then a malformed znode may be replaced).
        var explicit = false
        var partitions: [TopicPartition] = []
        var fileOffsets: [TopicPartition: Int64] = [:]
        if case .file(let entries) = target {
            for entry in entries where entry.group != group {
                throw OffsetError(
                    .invalidInput, "the file has offsets of group '\(entry.group)'; reset works on '\(group)' only")
            }
            for entry in entries { fileOffsets[entry.partition] = entry.offset }
        }
        let metadata = try await admin.topics(timeout: timeout)
        let brokerPartitions = Dictionary(uniqueKeysWithValues: metadata.map { ($0.name, $0.partitions) })
        // Sets for the membership checks: a topic can have thousands of partitions.
        let brokerSets = brokerPartitions.mapValues(Set.init)
        func onBrokers(_ topic: String) throws -> [Int32] {
            guard let numbers = brokerPartitions[topic] else {
                throw OffsetError(.invalidInput, "unknown topic '\(topic)': the brokers do not have it")
            }
            return numbers
        }
        switch scope {
        case .allTopics:
            if case .file = target {
                partitions = fileOffsets.keys.sorted()
                explicit = true
            } else {
                let topics = try await inventory.topics(group: group)
                if topics.isEmpty {
                    throw OffsetError(.invalidInput, "group '\(group)' has no offsets for any topic; name one with --topic")
                }
                for topic in topics {
                    try OffsetLayout.validateTopic(topic)
                    partitions += try onBrokers(topic).map { TopicPartition(topic: topic, partition: $0) }
                }
            }
        case .topics(let selections):
            explicit = selections.allSatisfy { $0.partitions != nil }
            for selection in selections {
                try OffsetLayout.validateTopic(selection.topic)
                let known = try onBrokers(selection.topic)
                let knownSet = brokerSets[selection.topic] ?? []
                for number in selection.partitions ?? known {
                    guard knownSet.contains(number) else {
                        throw OffsetError(
                            .invalidInput, "topic \(selection.topic) has no partition \(number) (it has \(known.count))")
                    }
                    partitions.append(TopicPartition(topic: selection.topic, partition: number))
                }
            }
            if case .file = target {
                explicit = true
                partitions = partitions.filter { fileOffsets[$0] != nil }
            }
        }
        partitions = Array(Set(partitions)).sorted()
        for partition in partitions where brokerSets[partition.topic]?.contains(partition.partition) != true {
            throw OffsetError(.invalidInput, "\(partition) is in the file but the brokers do not have it")
        }
        // The znodes (ZooKeeper, one pipelined batch) and the brokers' answers are independent: ask both at once,
        // so the plan takes the longer of the two, not their sum.
        let searchMillis: Int64? =
            switch target {
            case .datetime(let millis): millis
            case .duration(let millis): max(0, nowMillis - millis)
            default: nil
            }
        async let readNodes = inventory.offsets(group: group, partitions: partitions)
        async let readWatermarks = admin.watermarks(for: partitions, timeout: timeout)
        async let readByTime: [TopicPartition: Int64] =
            if let searchMillis {
                admin.offsets(forTimestamp: searchMillis, partitions: partitions, timeout: timeout)
            } else {
                [:]
            }
        let (nodes, watermarks, byTime) = try await (readNodes, readWatermarks, readByTime)
        var changes: [OffsetChange] = []
        var warnings: [String] = []
        for partition in partitions {
            let node = nodes[partition]
            guard let marks = watermarks[partition] else { continue }
            let wanted: Int64
            switch target {
            case .earliest: wanted = marks.low
            case .latest: wanted = marks.high
            case .offset(let value): wanted = value
            case .datetime, .duration: wanted = byTime[partition] ?? marks.high
            case .file: wanted = fileOffsets[partition] ?? marks.high
            case .shiftBy, .current:
                guard let current = node?.offset else {
                    warnings.append(
                        "\(partition) has \(node == nil ? "no stored offset" : "malformed data") to start from; left as it is")
                    continue
                }
                if case .shiftBy(let delta) = target {
                    let (sum, overflow) = current.addingReportingOverflow(delta)
                    wanted = overflow ? (delta < 0 ? Int64.min : Int64.max) : sum
                } else {
                    wanted = current
                }
            }
            var new = wanted
            var notes: [String] = []
            if wanted < marks.low {
                new = marks.low
                notes.append("\(partition): target \(wanted) is below the log start \(marks.low); clamped to \(marks.low)")
            } else if wanted > marks.high {
                new = marks.high
                notes.append("\(partition): target \(wanted) is above the log end \(marks.high); clamped to \(marks.high)")
            }
            warnings += notes
            changes.append(OffsetChange(group: group, partition: partition, currentNode: node, new: new, notes: notes))
        }
        let plan = OffsetPlan(changes: changes, warnings: warnings)
        if !explicit { try plan.refuseMalformed() }
        return plan
    }
}
