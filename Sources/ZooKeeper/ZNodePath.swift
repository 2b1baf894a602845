/// Validation of znode paths, before anything is sent: ZooKeeper's own rules, with a message naming the path.
public enum ZNodePath {
    /// Why `path` is not a valid absolute znode path, or nil when it is.
    public static func problem(_ path: String) -> ZooKeeperError? {
        func invalid(_ why: String) -> ZooKeeperError {
            ZooKeeperError(code: .invalidPath, path: path, message: "invalid znode path '\(path)': \(why)")
        }
        // One pass over the bytes, in place (every operation of every transaction and batch is checked).
        var contiguous = path
        return contiguous.withUTF8 { bytes in
            guard bytes.first == UInt8(ascii: "/") else { return invalid("it must start with '/'") }
            var elementLength = 0
            var elementDots = 0
            var nonASCII = false
            for byte in bytes.dropFirst() {
                if byte >= 0x80 { nonASCII = true }
                if byte < 0x20 || byte == 0x7f { return invalid("it contains a control character") }
                if byte == UInt8(ascii: "/") {
                    if elementLength == 0 { return invalid("it has an empty element ('//')") }
                    if elementDots == elementLength && elementLength <= 2 {
                        return invalid("'\(String(repeating: ".", count: elementLength))' is not allowed as an element")
                    }
                    elementLength = 0
                    elementDots = 0
                } else {
                    elementLength += 1
                    if byte == UInt8(ascii: ".") { elementDots += 1 }
                }
            }
            // The server refuses what Java's PathUtils does (C1 controls, surrogates and so every character beyond
            // U+FFFF, the private use area, U+FFF0...U+FFFF): say so before sending. Only paths with such bytes pay.
            if nonASCII, String(decoding: bytes, as: UTF8.self).unicodeScalars.contains(where: isRefusedByServer) {
                return invalid(
                    "it contains a character ZooKeeper refuses (C1 control, beyond U+FFFF, U+D800-U+F8FF or U+FFF0-U+FFFF)")
            }
            if bytes.count == 1 { return nil }  // "/"
            if elementLength == 0 { return invalid("it must not end with '/'") }
            if elementDots == elementLength && elementLength <= 2 {
                return invalid("'\(String(repeating: ".", count: elementLength))' is not allowed as an element")
            }
            return nil
        }
    }

    /// Characters above ASCII that ZooKeeper's PathUtils refuses (it checks UTF-16 units: a character beyond
    /// U+FFFF is a surrogate pair there).
    static func isRefusedByServer(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        return (0x7f...0x9f).contains(value) || (0xd800...0xf8ff).contains(value) || value >= 0xfff0
    }

    /// Throws when `path` is not a valid absolute znode path.
    public static func validate(_ path: String) throws(ZooKeeperError) {
        if let problem = problem(path) { throw problem }
    }

    /// `/a`, `/a/b`, `/a/b/c` for `/a/b/c`.
    public static func ancestorsAndSelf(_ path: String) -> [String] {
        // On bytes: a "/" followed by a combining mark is one Character, and must still separate.
        var result: [String] = []
        var current = ""
        for element in path.utf8.split(separator: UInt8(ascii: "/")) {
            current += "/" + String(decoding: element, as: UTF8.self)
            result.append(current)
        }
        return result
    }
}
