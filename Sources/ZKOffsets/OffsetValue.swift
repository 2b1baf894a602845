/// The data format of an offset znode: the ASCII decimal of the next offset to consume, nothing else.
public enum OffsetValue {
    /// The bytes to write: digits only, no sign, no whitespace, no newline.
    public static func encode(_ offset: Int64) -> [UInt8] {
        Array(String(offset).utf8)
    }

    /// What offset bytes are, by the one rule every reader follows (the consumer, describe, export, verify):
    /// the exact canonical form, a form readers accept but `verify` reports, or malformed.
    public enum Shape: Sendable, Equatable {
        /// Digits only, no leading zero, within Int64: what `encode` writes.
        case canonical(Int64)
        /// Readable, but not what `encode` writes; `reason` says why (surrounding whitespace, leading zeros).
        case tolerated(Int64, reason: String)
        /// Not an offset; `reason` says why (empty data, a sign, a number beyond 64 bits ...).
        case malformed(reason: String)

        /// The offset, unless malformed.
        public var offset: Int64? {
            switch self {
            case .canonical(let value), .tolerated(let value, _): value
            case .malformed: nil
            }
        }
    }

    /// Classifies offset bytes. Surrounding ASCII whitespace (`5\n` as `echo` writes it) and leading zeros are
    /// tolerated; a sign, letters, empty data, a number beyond Int64 are malformed.
    @inlinable  // specialized where it is called: generic over any byte collection it costs ~30x more per call
    public static func classify(_ bytes: some Collection<UInt8>) -> Shape {
        // Nearly every znode and file field is canonical: recognise that in one pass, without allocating (reads
        // and imports classify thousands of them).
        if let value = canonicalValue(bytes) { return .canonical(value) }
        return classifyOther(Array(bytes))
    }

    /// The value of digits-only bytes without a leading zero that fit Int64; nil for anything else.
    @inlinable
    static func canonicalValue(_ bytes: some Collection<UInt8>) -> Int64? {
        guard let first = bytes.first, first != 0x30 || bytes.count == 1 else { return nil }
        var value: Int64 = 0
        for byte in bytes {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            let (times10, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times10.addingReportingOverflow(Int64(byte &- 0x30))
            if overflow || carry { return nil }
            value = sum
        }
        return value
    }

    @usableFromInline
    static func classifyOther(_ bytes: [UInt8]) -> Shape {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0a || $0 == 0x0d }
        let isDigit: (UInt8) -> Bool = { $0 >= 0x30 && $0 <= 0x39 }
        if bytes.isEmpty { return .malformed(reason: "empty data") }
        if bytes.starts(with: [0xAC, 0xED]) { return .malformed(reason: "Java-serialized bytes") }
        let digits = bytes.drop(while: isSpace).reversed().drop(while: isSpace).reversed()
        guard !digits.isEmpty else { return .malformed(reason: "only whitespace") }
        guard digits.allSatisfy(isDigit) else {
            if let first = digits.first, first == 0x2B || first == 0x2D, digits.count > 1,
                digits.dropFirst().allSatisfy(isDigit)
            {
                return .malformed(reason: "a sign")
            }
            return .malformed(reason: "not a decimal number")
        }
        // Int64's parser over at most 19 significant digits: no overflow, no allocation beyond the string.
        let significant = digits.drop(while: { $0 == 0x30 })
        guard significant.count <= 19, let value = significant.isEmpty ? 0 : Int64(String(decoding: significant, as: UTF8.self))
        else { return .malformed(reason: "a number beyond 64 bits") }
        if digits.count != bytes.count { return .tolerated(value, reason: "surrounding whitespace") }
        if digits.count > 1 && digits.first == 0x30 { return .tolerated(value, reason: "leading zeros") }
        return .canonical(value)
    }

    /// Reads an offset by `classify`'s rule (canonical or tolerated); a malformed one is `malformedOffset` naming
    /// the znode and its bytes.
    public static func decode(_ bytes: [UInt8], path: String) throws(OffsetError) -> Int64 {
        if let value = classify(bytes).offset { return value }
        throw malformed(bytes, path: path)
    }

    /// The `malformedOffset` error for the znode at `path` holding `bytes`: it names both.
    public static func malformed(_ bytes: [UInt8], path: String) -> OffsetError {
        OffsetError(
            .malformedOffset, path: path,
            "offset znode \(path) holds \(describe(bytes)), not a decimal offset; it was left unchanged"
        )
    }

    /// True when the bytes are exactly what `encode` writes (used by `verify`).
    @inlinable
    public static func isCanonical(_ bytes: some Collection<UInt8>) -> Bool {
        if case .canonical = classify(bytes) { return true }
        return false
    }

    /// Why the bytes are not canonical (tolerated or malformed), nil when they are.
    public static func problem(_ bytes: [UInt8]) -> String? {
        switch classify(bytes) {
        case .canonical: nil
        case .tolerated(_, let reason), .malformed(let reason): reason
        }
    }

    private static func hex(_ byte: UInt8) -> String {
        byte < 16 ? "0" + String(byte, radix: 16) : String(byte, radix: 16)
    }

    /// Bytes for a message: quoted text when printable, hex otherwise.
    public static func describe(_ bytes: [UInt8]) -> String {
        if bytes.isEmpty { return "empty data" }
        let shown = bytes.prefix(64)
        let suffix = bytes.count > 64 ? "... (\(bytes.count) bytes)" : ""
        if shown.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) {
            return "'\(String(decoding: shown, as: UTF8.self))'\(suffix)"
        }
        let text = shown.map { $0 >= 0x20 && $0 < 0x7f ? String(UnicodeScalar($0)) : "\\x" + Self.hex($0) }.joined()
        return "bytes \(shown.map(Self.hex).joined(separator: " "))\(suffix) ('\(text)')"
    }
}
