/// The data format of an offset znode: the ASCII decimal of the next offset to consume, nothing else.
public enum OffsetValue {
    /// The bytes to write: digits only, no sign, no whitespace, no newline.
    public static func encode(_ offset: Int64) -> [UInt8] {
        Array(String(offset).utf8)
    }

    /// Reads an offset, tolerating surrounding ASCII whitespace (`5\n` as `echo` writes it); anything else
    /// (a sign, letters, empty data, a number beyond Int64) is `malformedOffset` naming the znode and its bytes.
    public static func decode(_ bytes: [UInt8], path: String) throws(OffsetError) -> Int64 {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0a || $0 == 0x0d }
        let digits = bytes.drop(while: isSpace).reversed().drop(while: isSpace).reversed()
        if !digits.isEmpty, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let value = Int64(String(decoding: digits, as: UTF8.self))
        {
            return value
        }
        throw OffsetError(
            .malformedOffset, path: path,
            "offset znode \(path) holds \(describe(bytes)), not a decimal offset; it was left unchanged"
        )
    }

    /// True when the bytes are exactly what `encode` writes (used by `verify`).
    public static func isCanonical(_ bytes: [UInt8]) -> Bool {
        guard let first = bytes.first, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
        return first != 0x30 || bytes.count == 1
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
