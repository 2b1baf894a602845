import Foundation
import ZKOffsets
import ZKOffsetsTool

/// What must hold for any input to our parsers, whatever the bytes: no crash, and the property of each target.
/// The fuzz targets (Fuzz/, libFuzzer through scripts/fuzz) trap on a violation; the tests replay every committed
/// corpus file (Fuzz/Corpus/<target>/) through the same checks. This file is shared by both (Fuzz/ links it).
enum HostileInput {
    /// Every target, by the name of its corpus directory.
    static let targets = [
        "offset-value", "connect-string", "names", "offset-file", "kafka-arguments", "reset-target", "owner",
    ]

    /// nil when `target`'s property holds for `bytes`, else what broke.
    static func violation(target: String, _ bytes: [UInt8]) -> String? {
        let text = String(decoding: bytes, as: UTF8.self)
        switch target {
        case "offset-value": return offsetValue(bytes)
        case "connect-string": return connectString(text)
        case "names": return names(text)
        case "offset-file": return offsetFile(text)
        case "kafka-arguments": return kafkaArguments(text)
        case "reset-target": return resetTarget(text)
        case "owner": return owner(text)
        default: return "no target named \(target)"
        }
    }

    /// Every reader decides the same: decode accepts exactly what classify reads, verify reports exactly what is
    /// not canonical, and what encode writes is canonical and reads back.
    static func offsetValue(_ bytes: [UInt8]) -> String? {
        let shape = OffsetValue.classify(bytes)
        let decoded = try? OffsetValue.decode(bytes, path: "/p")
        if decoded != shape.offset { return "decode gave \(String(describing: decoded)), classify \(shape)" }
        if (OffsetVerifier.problem(with: bytes) == nil) != (shape == .canonical(shape.offset ?? -1)) {
            return "verify and classify disagree on \(OffsetValue.describe(bytes)): \(shape)"
        }
        if let value = shape.offset {
            if value < 0 { return "a negative offset \(value) was read" }
            let written = OffsetValue.encode(value)
            if OffsetValue.classify(written) != .canonical(value) { return "encode(\(value)) is not canonical" }
            if case .canonical = shape, written != bytes { return "canonical bytes differ from encode(\(value))" }
        }
        if OffsetValue.describe(bytes).isEmpty { return "empty description" }
        do {
            _ = try OffsetValue.decode(bytes, path: "/p")
        } catch {
            if error.code != .malformedOffset || error.path != "/p" || !error.message.contains("/p") {
                return "the error does not name the znode: \(error)"
            }
        }
        return nil
    }

    /// A parsed connect string prints in a form that parses back to itself; hosts hold no whitespace or control
    /// characters (the C client takes a C string); ports are 1...65535; a chroot starts with `/`, never ends with it.
    static func connectString(_ text: String) -> String? {
        guard let parsed = try? ConnectString(text) else { return nil }
        if parsed.servers.isEmpty { return "no servers" }
        for server in parsed.servers {
            if server.host.isEmpty || server.host.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7f }) {
                return "host '\(server.host.debugDescription)' accepted"
            }
            if !(1...65535).contains(server.port) { return "port \(server.port) accepted" }
        }
        // On bytes: "/" + a combining mark is one Character, but still a slash to ZooKeeper.
        if let chroot = parsed.chroot.map({ Array($0.utf8) }),
            chroot.first != UInt8(ascii: "/") || chroot.last == UInt8(ascii: "/")
                || zip(chroot, chroot.dropFirst()).contains(where: { $0 == UInt8(ascii: "/") && $1 == $0 })
        {
            return "chroot '\(String(decoding: chroot, as: UTF8.self))' accepted"
        }
        guard let again = try? ConnectString(parsed.description) else {
            return "'\(parsed.description)' (printed from '\(text.debugDescription)') does not parse"
        }
        if again != parsed { return "'\(parsed.description)' parses to \(again), not \(parsed)" }
        return nil
    }

    /// Accepted names are exactly the contract's (DESIGN.md): topics `[a-zA-Z0-9._-]{1,249}`, not `.`/`..`;
    /// groups non-empty, no `/`, no control characters.
    static func names(_ text: String) -> String? {
        let topicOK = (try? OffsetLayout.validateTopic(text)) != nil
        let legal = (1...249).contains(text.utf8.count) && text != "." && text != ".."
            && text.utf8.allSatisfy { $0 == 0x2E || $0 == 0x5F || $0 == 0x2D || ($0 >= 0x30 && $0 <= 0x39)
                || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) }
        if topicOK != legal { return "topic '\(text.debugDescription)': accepted \(topicOK), contract \(legal)" }
        if let layout = try? OffsetLayout(group: text) {
            if text.isEmpty || text.contains("/") || text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                return "group '\(text.debugDescription)' accepted"
            }
            let offsetPath = layout.offsetPath(TopicPartition(topic: "t", partition: 0))
            if let problem = ZNodePath.problem(offsetPath) {
                return "group '\(text.debugDescription)' accepted, but its paths are not: \(problem)"
            }
            let levels = ZNodePath.ancestorsAndSelf(offsetPath)
            if levels.count != 5 || levels[0] != "/consumers" || levels[1] != layout.groupPath {
                return "the ancestors of \(offsetPath.debugDescription) are \(levels)"
            }
        }
        return nil
    }

    /// What parses renders in every format and parses back to the same entries.
    static func offsetFile(_ text: String) -> String? {
        for format in [nil] + OffsetFileFormat.allCases.map(Optional.some) {
            guard let entries = try? OffsetFile.parse(text, format: format) else { continue }
            if entries.isEmpty { return "a file parsed into no entries without an error" }
            for entry in entries {
                if entry.offset < 0 { return "negative offset \(entry.offset) accepted" }
                if (try? OffsetLayout.validateTopic(entry.partition.topic)) == nil { return "topic \(entry.partition.topic) accepted" }
                if (try? OffsetLayout(group: entry.group)) == nil { return "group \(entry.group.debugDescription) accepted" }
                if entry.partition.partition < 0 { return "negative partition accepted" }
            }
            for output in OffsetFileFormat.allCases {
                let rendered = OffsetFile.render(entries, format: output)
                guard let again = try? OffsetFile.parse(rendered, format: output) else {
                    return "the \(output) rendering of \(entries.count) entries does not parse:\n\(rendered)"
                }
                if again.sorted() != entries.sorted() { return "the \(output) rendering does not round-trip" }
            }
        }
        return nil
    }

    /// `-X` arguments (one a line): accepted ones are `key=value` with a non-empty key; a later key wins.
    static func kafkaArguments(_ text: String) -> String? {
        let arguments = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let properties = try? KafkaConfiguration.properties(fromArguments: arguments) else { return nil }
        for argument in arguments {
            guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else {
                return "'\(argument.debugDescription)' accepted without key=value"
            }
            let key = String(argument[..<equals])
            let last = arguments.last { $0.hasPrefix(key + "=") }
            if let last, properties[key] != String(last.dropFirst(key.count + 1)) { return "the last \(key) did not win" }
        }
        return nil
    }

    /// Reset targets: a duration is never negative; topic selections name valid topics and partitions >= 0;
    /// nothing traps (date parsing included).
    static func resetTarget(_ text: String) -> String? {
        if let millis = try? ResetTarget.parseDuration(text), millis < 0 { return "duration '\(text)' = \(millis) ms" }
        _ = try? ResetTarget.parseDatetime(text)
        if let selection = try? TopicSelection(parsing: text) {
            if (try? OffsetLayout.validateTopic(selection.topic)) == nil { return "topic \(selection.topic) accepted" }
            if selection.partitions?.contains(where: { $0 < 0 }) == true { return "negative partition accepted" }
        }
        return nil
    }

    /// The consumer id read from an owner znode is a prefix of its data.
    static func owner(_ text: String) -> String? {
        let id = GroupDescription.consumerID(fromOwner: text)
        return text.hasPrefix(id) ? nil : "consumer id '\(id)' is not a prefix of '\(text.debugDescription)'"
    }
}
