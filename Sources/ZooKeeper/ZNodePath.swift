/// Validation of znode paths, before anything is sent: ZooKeeper's own rules, with a message naming the path.
public enum ZNodePath {
    /// Why `path` is not a valid absolute znode path, or nil when it is.
    public static func problem(_ path: String) -> ZooKeeperError? {
        func invalid(_ why: String) -> ZooKeeperError {
            ZooKeeperError(code: .invalidPath, path: path, message: "invalid znode path '\(path)': \(why)")
        }
        guard path.hasPrefix("/") else { return invalid("it must start with '/'") }
        if path == "/" { return nil }
        if path.hasSuffix("/") { return invalid("it must not end with '/'") }
        for element in path.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            if element.isEmpty { return invalid("it has an empty element ('//')") }
            if element == "." || element == ".." { return invalid("'\(element)' is not allowed as an element") }
        }
        if path.unicodeScalars.contains(where: { $0.value == 0 || ($0.value > 0 && $0.value < 0x20) || $0.value == 0x7f }) {
            return invalid("it contains a control character")
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

    /// The path of `child` under `parent`.
    public static func join(_ parent: String, _ child: String) -> String {
        parent == "/" ? "/" + child : parent + "/" + child
    }
}
