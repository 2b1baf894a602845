/// A parsed ZooKeeper connect string: `host:port[,host:port...][/chroot]`.
public struct ConnectString: Sendable, Hashable, CustomStringConvertible {
    /// A server address.
    public struct Server: Sendable, Hashable {
        /// A host name or IP address (IPv6 without brackets).
        public var host: String
        /// The client port, 1 to 65535.
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
        // Scalars, not Characters: a separator next to a combining or prepended mark (U+0601 before ':') would
        // otherwise be part of a Character and not be found.
        let scalars = text.unicodeScalars
        var hostPart = scalars[...]
        var chroot: String?
        if let slash = scalars.firstIndex(of: "/") {
            hostPart = scalars[..<slash]
            let root = String(scalars[slash...])
            if root != "/" {
                // The znode path rules, on bytes ("/" followed by a combining mark is one Character, still a
                // slash): no trailing '/', no empty element, no character the server refuses.
                if let problem = ZNodePath.problem(root) { throw invalid("the chroot: \(problem.message)") }
                chroot = root
            }
        }
        var servers: [Server] = []
        for entry in hostPart.split(separator: ",", omittingEmptySubsequences: false) {
            var item = entry
            while let first = item.first, first == " " || first == "\t" { item = item.dropFirst() }
            while let last = item.last, last == " " || last == "\t" { item = item.dropLast() }
            guard !item.isEmpty else { throw invalid("an empty server entry") }
            var host: Substring.UnicodeScalarView
            var portText: Substring.UnicodeScalarView?
            if item.first == "[" {  // [ipv6]:port
                guard let close = item.firstIndex(of: "]") else { throw invalid("unterminated '[' in '\(String(item))'") }
                host = item[item.index(after: item.startIndex)..<close]
                let rest = item[item.index(after: close)...]
                if !rest.isEmpty {
                    guard rest.first == ":" else { throw invalid("expected ':port' after ']' in '\(String(item))'") }
                    portText = rest.dropFirst()
                }
            } else if let colon = item.lastIndex(of: ":") {
                host = item[..<colon]
                portText = item[item.index(after: colon)...]
            } else {
                host = item
            }
            guard !host.isEmpty else { throw invalid("a server without a host in '\(String(item))'") }
            // The C client takes the string as C text and splits it on ',': a NUL, a line break or other control
            // or blank character inside a host name can only be a mistake.
            if host.contains(where: { $0.value <= 0x20 || $0.properties.generalCategory == .control }) {
                throw invalid("a blank or control character in host '\(String(host).debugDescription)'")
            }
            if host.contains("[") || host.contains("]") {
                throw invalid("'[' or ']' inside host '\(String(host))' (IPv6 is written [address]:port)")
            }
            var port = 2181
            if let portText {
                guard let value = Int(String(portText)), (1...65535).contains(value) else {
                    throw invalid("'\(String(portText))' is not a port (1-65535) in '\(String(item))'")
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
        let hosts = servers.map {
            $0.host.unicodeScalars.contains(":") ? "[\($0.host)]:\($0.port)" : "\($0.host):\($0.port)"
        }
        return hosts.joined(separator: ",") + (chroot ?? "")
    }
}
