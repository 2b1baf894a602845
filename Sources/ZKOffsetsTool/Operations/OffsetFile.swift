import ZKOffsets
import Foundation

/// The file formats of `export` and `import`.
public enum OffsetFileFormat: String, Sendable, CaseIterable, Codable {
    /// Kafka's ExportZkOffsets/ImportZkOffsets: `/consumers/<group>/offsets/<topic>/<partition>:<offset>` a line.
    case zk
    /// `group,topic,partition,offset` a line, no header.
    case csv
    /// One JSON object a line (JSON Lines), one line per group:
    /// `{"groupid":"<group>","offsets":{"<topic>":{"<partition>":<offset>}}}`.
    case json
}

/// One offset of one group, as a file line holds it.
public struct OffsetEntry: Sendable, Hashable, Comparable {
    /// The group id.
    public var group: String
    /// The topic and partition.
    public var partition: TopicPartition
    /// The next offset to consume.
    public var offset: Int64

    /// An entry as given; `OffsetFile.parse` validates names and offsets, this does not.
    public init(group: String, partition: TopicPartition, offset: Int64) {
        self.group = group
        self.partition = partition
        self.offset = offset
    }

    /// What makes an entry unique in a file: its group and partition.
    struct Key: Hashable {
        var group: String
        var partition: TopicPartition
    }

    var key: Key { Key(group: group, partition: partition) }

    /// By group, then topic and partition: the order files are written in.
    public static func < (lhs: OffsetEntry, rhs: OffsetEntry) -> Bool {
        (lhs.group, lhs.partition) < (rhs.group, rhs.partition)
    }
}

/// Bad lines of an offsets file, each with its 1-based line number. Nothing is written when a file has one.
public struct OffsetFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// One bad line.
    public struct Problem: Sendable, Equatable {
        /// 1-based line number; 0 for the file as a whole.
        public var line: Int
        /// What is wrong with the line, a sentence for people.
        public var message: String
    }

    /// Every bad line found (a parse does not stop at the first), by line number.
    public var problems: [Problem]

    /// An error for `problems`, in the order given; `OffsetFile.parse` throws one only when there is a problem.
    public init(_ problems: [Problem]) {
        self.problems = problems
    }

    /// The line numbers that are bad.
    public var lines: [Int] { problems.map(\.line) }

    /// One `line N: <message>` line per problem; problems of the whole file without the prefix.
    public var description: String {
        problems.map { $0.line > 0 ? "line \($0.line): \($0.message)" : $0.message }.joined(separator: "\n")
    }
}

/// Writes and strictly parses offsets files. `parse(render(x))` is `x`, and `render` is deterministic (groups,
/// topics and partitions sorted), so an export imported and exported again gives the same bytes.
public enum OffsetFile {
    /// The file text: every line ends with `\n`; sorted by group, topic, partition.
    public static func render(_ entries: [OffsetEntry], format: OffsetFileFormat) -> String {
        let sorted = entries.sorted()
        switch format {
        case .zk:
            return sorted.map {
                "\(OffsetLayout.offsetPath(group: $0.group, $0.partition)):\($0.offset)\n"
            }.joined()
        case .csv:
            return sorted.map { "\($0.group),\($0.partition.topic),\($0.partition.partition),\($0.offset)\n" }.joined()
        case .json:
            var lines: [String] = []
            var index = 0
            while index < sorted.count {
                let group = sorted[index].group
                var topics: [(String, [(Int32, Int64)])] = []
                while index < sorted.count && sorted[index].group == group {
                    let entry = sorted[index]
                    if topics.last?.0 != entry.partition.topic { topics.append((entry.partition.topic, [])) }
                    topics[topics.count - 1].1.append((entry.partition.partition, entry.offset))
                    index += 1
                }
                let offsets = JSONText.object(
                    topics.map { topic, partitions in
                        (topic, JSONText.object(partitions.map { (String($0.0), String($0.1)) }))
                    })
                lines.append(JSONText.object([("groupid", JSONText.string(group)), ("offsets", offsets)]) + "\n")
            }
            return lines.joined()
        }
    }

    /// The format of a file by its first non-blank line: `/` is zk, `{` is json, anything else csv.
    public static func detect(_ text: String) -> OffsetFileFormat {
        // The first line with text (a lone "\r" is an empty line), without splitting the whole file.
        var rest = Substring(text).unicodeScalars
        var first = Substring()
        while !rest.isEmpty {
            let end = rest.firstIndex(of: "\n") ?? rest.endIndex
            if !rest[..<end].allSatisfy({ $0 == "\r" }) {
                first = Substring(rest[..<end])
                break
            }
            rest = end == rest.endIndex ? rest[end...] : rest[rest.index(after: end)...]
        }
        if first.hasPrefix("/") { return .zk }
        if first.hasPrefix("{") { return .json }
        return .csv
    }

    /// Parses every line; throws `OffsetFileError` listing every bad line (names, numbers, offsets that are not
    /// canonical decimals, duplicates) so that nothing is applied from a half-bad file. Blank lines are skipped.
    /// With `defaultGroup`, csv lines may also be `topic,partition,offset` (kafka-consumer-groups' reset file).
    public static func parse(
        _ text: String, format requested: OffsetFileFormat? = nil, defaultGroup: String? = nil
    ) throws(OffsetFileError) -> [OffsetEntry] {
        let format = requested ?? detect(text)
        var entries: [(line: Int, entry: OffsetEntry)] = []
        var problems: [OffsetFileError.Problem] = []
        var names = Names()
        for (number, line) in lines(text) where !line.isEmpty {
            do {
                let parsed = try parseLine(line, format: format, defaultGroup: defaultGroup, names: &names)
                entries += parsed.map { (number, $0) }
            } catch {
                problems.append(.init(line: number, message: error.message))
            }
        }
        var firstLine: [OffsetEntry.Key: Int] = [:]
        firstLine.reserveCapacity(entries.count)
        for (number, entry) in entries {
            let key = entry.key
            if let earlier = firstLine[key] {
                problems.append(
                    .init(
                        line: number,
                        message: "group '\(entry.group)' \(entry.partition) appears again (first on line \(earlier))"))
            } else {
                firstLine[key] = number
            }
        }
        if entries.isEmpty && problems.isEmpty {
            problems.append(.init(line: 0, message: "the file holds no offsets"))
        }
        if !problems.isEmpty { throw OffsetFileError(problems.sorted { $0.line < $1.line }) }
        return entries.map(\.entry)
    }

    // MARK: Lines

    private struct LineError: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }

    private static func lines(_ text: String) -> [(number: Int, text: Substring)] {
        var result: [(Int, Substring)] = []
        // Split on bytes, not Characters: "\r\n" is one Character, and a line break or separator followed by a
        // combining mark would join the next text. (An ASCII byte never occurs inside another character's UTF-8.)
        var parts = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if parts.last?.isEmpty == true { parts.removeLast() }
        result.reserveCapacity(parts.count)
        for (index, part) in parts.enumerated() {
            result.append((index + 1, Substring(part.last == UInt8(ascii: "\r") ? part.dropLast() : part)))
        }
        return result
    }

    /// The last group id and topic validated: files come sorted, so thousands of lines of one group and topic
    /// check each name once (and keep one copy of it). Compared byte for byte: znode names that are canonically
    /// equivalent Unicode are still different names.
    private struct Names {
        var group: String?
        var topic: String?

        mutating func group(_ text: Substring) throws(LineError) -> String {
            try Self.validated(text, last: &group, by: OffsetLayout.validateGroup)
        }

        mutating func topic(_ text: Substring) throws(LineError) -> String {
            try Self.validated(text, last: &topic, by: OffsetLayout.validateTopic)
        }

        private static func validated(
            _ text: Substring, last: inout String?, by validate: (String) throws(OffsetError) -> Void
        ) throws(LineError) -> String {
            if let last, last.utf8.elementsEqual(text.utf8) { return last }
            let name = String(text)
            do { try validate(name) } catch { throw LineError(error.message) }
            last = name
            return name
        }
    }

    private static func parseLine(
        _ line: Substring, format: OffsetFileFormat, defaultGroup: String?, names: inout Names
    ) throws(LineError) -> [OffsetEntry] {
        switch format {
        case .zk: return [try zkLine(line, names: &names)]
        case .csv: return [try csvLine(line, defaultGroup: defaultGroup, names: &names)]
        case .json: return try jsonLine(line, names: &names)
        }
    }

    private static func zkLine(_ line: Substring, names: inout Names) throws(LineError) -> OffsetEntry {
        let prefix = OffsetLayout.consumersRoot + "/"
        let bytes = line.utf8
        guard bytes.starts(with: prefix.utf8), let colon = bytes.lastIndex(of: UInt8(ascii: ":")) else {
            throw LineError("expected /consumers/<group>/offsets/<topic>/<partition>:<offset>, got '\(shown(line))'")
        }
        let start = bytes.index(bytes.startIndex, offsetBy: prefix.utf8.count)
        let parts = bytes[start..<colon].split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            .map(Substring.init)
        guard parts.count == 4, parts[1] == "offsets" else {
            throw LineError("expected /consumers/<group>/offsets/<topic>/<partition>:<offset>, got '\(shown(line))'")
        }
        return try entry(
            group: parts[0], topic: parts[2], partition: parts[3],
            offset: Substring(bytes[bytes.index(after: colon)...]), names: &names)
    }

    private static func csvLine(
        _ line: Substring, defaultGroup: String?, names: inout Names
    ) throws(LineError) -> OffsetEntry {
        // Topics have no commas, group ids may: the last three fields are topic, partition, offset.
        let fields = line.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false).map(Substring.init)
        if fields.count == 3, let defaultGroup {
            return try entry(
                group: Substring(defaultGroup), topic: fields[0], partition: fields[1], offset: fields[2], names: &names)
        }
        guard fields.count >= 4 else {
            throw LineError(
                "expected group,topic,partition,offset"
                    + (defaultGroup == nil ? "" : " or topic,partition,offset") + ", got '\(shown(line))'")
        }
        let count = fields.count
        // The group's text as it is in the line (commas included), without joining the fields again.
        let group = Substring(line.utf8[fields[0].startIndex..<fields[count - 4].endIndex])
        return try entry(
            group: group, topic: fields[count - 3], partition: fields[count - 2], offset: fields[count - 1],
            names: &names)
    }

    private struct JSONLine: Decodable {
        var groupid: String
        var offsets: [String: [String: Int64]]
    }

    private static func jsonLine(_ line: Substring, names: inout Names) throws(LineError) -> [OffsetEntry] {
        let decoded: JSONLine
        do {
            decoded = try JSONDecoder().decode(JSONLine.self, from: Data(line.utf8))
        } catch {
            throw LineError(
                "expected {\"groupid\":\"<group>\",\"offsets\":{\"<topic>\":{\"<partition>\":<offset>}}} "
                    + "with whole-number offsets, got '\(shown(line))'")
        }
        var entries: [OffsetEntry] = []
        for (topic, partitions) in decoded.offsets.sorted(by: { $0.key < $1.key }) {
            for (partition, offset) in partitions.sorted(by: { $0.key < $1.key }) {
                entries.append(
                    try entry(
                        group: Substring(decoded.groupid), topic: Substring(topic), partition: Substring(partition),
                        offset: Substring(String(offset)), names: &names))
            }
        }
        return entries
    }

    private static func entry(
        group: Substring, topic: Substring, partition: Substring, offset: Substring, names: inout Names
    ) throws(LineError) -> OffsetEntry {
        let group = try names.group(group)
        let topic = try names.topic(topic)
        guard OffsetValue.isCanonical(partition.utf8), let number = Int32(partition) else {
            throw LineError("'\(shown(partition))' is not a partition number")
        }
        guard OffsetValue.isCanonical(offset.utf8), let value = Int64(offset) else {
            throw LineError("'\(shown(offset))' is not an offset (a decimal number >= 0, no sign, no spaces)")
        }
        return OffsetEntry(group: group, partition: TopicPartition(topic: topic, partition: number), offset: value)
    }

    private static func shown(_ text: Substring) -> String {
        let value = String(text.prefix(120)).escapedForDisplay
        return text.count > 120 ? value + "..." : value
    }
}
