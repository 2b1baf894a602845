/// Validation of znode paths, before anything is sent: ZooKeeper's own rules, with a message naming the path.
public enum ZNodePath {
    /// Why `path` is not a valid absolute znode path, or nil when it is.
    public static func problem(_ path: String) -> ZooKeeperError? {
        func invalid(_ why: String) -> ZooKeeperError {
            ZooKeeperError(code: .invalidPath, path: path, message: "invalid znode path '\(path)': \(why)")
        }
        // One pass over the bytes: this runs for every operation of every transaction.
        var bytes = path.utf8.makeIterator()
        guard bytes.next() == UInt8(ascii: "/") else { return invalid("it must start with '/'") }
        var elementLength = 0
        var elementDots = 0
        var count = 1
        while let byte = bytes.next() {
            count += 1
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
        if count == 1 { return nil }  // "/"
        if elementLength == 0 { return invalid("it must not end with '/'") }
        if elementDots == elementLength && elementLength <= 2 {
            return invalid("'\(String(repeating: ".", count: elementLength))' is not allowed as an element")
        }
        return nil
    }

    /// Throws when `path` is not a valid absolute znode path.
    public static func validate(_ path: String) throws(ZooKeeperError) {
        if let problem = problem(path) { throw problem }
    }

    /// `/a`, `/a/b`, `/a/b/c` for `/a/b/c`.
    public static func ancestorsAndSelf(_ path: String) -> [String] {
        var result: [String] = []
        var current = ""
        for element in path.split(separator: "/") {
            current += "/" + element
            result.append(current)
        }
        return result
    }
}
