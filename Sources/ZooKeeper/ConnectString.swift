/// A parsed ZooKeeper connect string: `host:port[,host:port...][/chroot]`.
public struct ConnectString: Sendable, Hashable, CustomStringConvertible {
    /// A server address.
    public struct Server: Sendable, Hashable {
        public var host: String
        public var port: Int
    }

    /// The servers, in the order given.
    public var servers: [Server]
    /// The chroot every path is relative to, or nil; never ends with `/`.
    public var chroot: String?

    /// Parses and validates a connect string; the error names what is wrong.
    public init(_ text: String) throws(ZooKeeperError) {
        func invalid(_ why: String) -> ZooKeeperError {
            ZooKeeperError(code: .invalidConnectString, message: "invalid connect string '\(text)': \(why)")
        }
        var hostPart = Substring(text)
        var chroot: String?
        if let slash = text.firstIndex(of: "/") {
            hostPart = text[..<slash]
            let root = String(text[slash...])
            if root != "/" {
                if root.hasSuffix("/") { throw invalid("the chroot must not end with '/'") }
                if root.contains("//") { throw invalid("the chroot has an empty path element") }
                chroot = root
            }
        }
        var servers: [Server] = []
        for entry in hostPart.split(separator: ",", omittingEmptySubsequences: false) {
            let item = entry.trimmingASCIIWhitespace()
            guard !item.isEmpty else { throw invalid("an empty server entry") }
            var host: Substring
            var portText: Substring?
            if item.hasPrefix("[") {  // [ipv6]:port
                guard let close = item.firstIndex(of: "]") else { throw invalid("unterminated '[' in '\(item)'") }
                host = item[item.index(after: item.startIndex)..<close]
                let rest = item[item.index(after: close)...]
                if !rest.isEmpty {
                    guard rest.hasPrefix(":") else { throw invalid("expected ':port' after ']' in '\(item)'") }
                    portText = rest.dropFirst()
                }
            } else if let colon = item.lastIndex(of: ":") {
                host = item[..<colon]
                portText = item[item.index(after: colon)...]
            } else {
                host = item
            }
            guard !host.isEmpty else { throw invalid("a server without a host in '\(item)'") }
            var port = 2181
            if let portText {
                guard let value = Int(portText), (1...65535).contains(value) else {
                    throw invalid("'\(portText)' is not a port (1-65535) in '\(item)'")
                }
                port = value
            }
            servers.append(Server(host: String(host), port: port))
        }
        self.servers = servers
        self.chroot = chroot
    }

    /// The form the C client takes: `host:port,...[/chroot]`.
    public var description: String {
        let hosts = servers.map { $0.host.contains(":") ? "[\($0.host)]:\($0.port)" : "\($0.host):\($0.port)" }
        return hosts.joined(separator: ",") + (chroot ?? "")
    }
}

extension Substring {
    func trimmingASCIIWhitespace() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }
}
