/// An error from ZooKeeper or from this client, with the znode it concerns and whether a retry may help.
///
/// `Code` is a set of static constants rather than an enum so that codes can be added without breaking users;
/// codes the server or the C client return that this type does not name are kept as they are.
public struct ZooKeeperError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, as ZooKeeper numbers it (plus a few client-side codes below -1000).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The numeric code: ZooKeeper's own (`ZNONODE` = -101 ...) or this client's (below -1000).
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        public static let systemError = Code(rawValue: -1)
        public static let runtimeInconsistency = Code(rawValue: -2)
        public static let dataInconsistency = Code(rawValue: -3)
        public static let connectionLoss = Code(rawValue: -4)
        public static let marshallingError = Code(rawValue: -5)
        public static let unimplemented = Code(rawValue: -6)
        public static let operationTimeout = Code(rawValue: -7)
        public static let badArguments = Code(rawValue: -8)
        public static let invalidState = Code(rawValue: -9)
        public static let noNode = Code(rawValue: -101)
        public static let noAuth = Code(rawValue: -102)
        public static let badVersion = Code(rawValue: -103)
        public static let noChildrenForEphemerals = Code(rawValue: -108)
        public static let nodeExists = Code(rawValue: -110)
        public static let notEmpty = Code(rawValue: -111)
        public static let sessionExpired = Code(rawValue: -112)
        public static let invalidCallback = Code(rawValue: -113)
        public static let invalidACL = Code(rawValue: -114)
        public static let authFailed = Code(rawValue: -115)
        public static let closing = Code(rawValue: -116)
        public static let sessionMoved = Code(rawValue: -118)
        public static let notReadOnly = Code(rawValue: -119)
        public static let throttled = Code(rawValue: -127)
        /// No server of the connect string answered before the connect deadline.
        public static let connectTimeout = Code(rawValue: -1001)
        /// The connect string is not `host:port[,host:port...][/chroot]`.
        public static let invalidConnectString = Code(rawValue: -1002)
        /// A path is not a valid absolute znode path.
        public static let invalidPath = Code(rawValue: -1003)

        private static let names: [Int32: String] = [
            -1: "systemError", -2: "runtimeInconsistency", -3: "dataInconsistency", -4: "connectionLoss",
            -5: "marshallingError", -6: "unimplemented", -7: "operationTimeout", -8: "badArguments",
            -9: "invalidState", -101: "noNode", -102: "noAuth", -103: "badVersion",
            -108: "noChildrenForEphemerals", -110: "nodeExists", -111: "notEmpty", -112: "sessionExpired",
            -113: "invalidCallback", -114: "invalidACL", -115: "authFailed", -116: "closing",
            -118: "sessionMoved", -119: "notReadOnly", -127: "throttled", -1001: "connectTimeout",
            -1002: "invalidConnectString", -1003: "invalidPath",
        ]

        public var description: String { Self.names[rawValue] ?? "code \(rawValue)" }
    }

    /// What went wrong.
    public var code: Code
    /// The znode the failed operation addressed, when there is one.
    public var path: String?
    /// In a failed transaction, the index of the operation that failed.
    public var failedOperationIndex: Int?
    /// A sentence for people; never contains credentials.
    public var message: String

    public init(code: Code, path: String? = nil, failedOperationIndex: Int? = nil, message: String? = nil) {
        self.code = code
        self.path = path
        self.failedOperationIndex = failedOperationIndex
        self.message = message ?? Self.defaultMessage(code)
    }

    /// True when the same request may succeed if sent again (connection loss, timeout, moved session, throttling).
    /// Everything else (bad version, no node, expired session ...) fails again the same way.
    public var isRetryable: Bool {
        [.connectionLoss, .operationTimeout, .sessionMoved, .throttled].contains(code)
    }

    public var description: String {
        var text = "ZooKeeper \(code)"
        if let path { text += " at \(path)" }
        if let failedOperationIndex { text += " (operation \(failedOperationIndex) of the transaction)" }
        return text + ": " + message
    }

    private static func defaultMessage(_ code: Code) -> String {
        switch code {
        case .noNode: "the znode does not exist"
        case .nodeExists: "the znode already exists"
        case .badVersion: "the znode changed since it was read (version mismatch)"
        case .notEmpty: "the znode has children"
        case .noAuth: "not authorized for this znode"
        case .connectionLoss: "the connection to ZooKeeper was lost; the request may or may not have been applied"
        case .sessionExpired: "the ZooKeeper session expired; ephemeral znodes and watches are gone"
        case .operationTimeout: "the operation timed out"
        case .closing: "the client is closing"
        case .authFailed: "authentication failed"
        case .invalidACL: "the ACL is invalid"
        case .noChildrenForEphemerals: "ephemeral znodes cannot have children"
        default: "ZooKeeper returned \(code)"
        }
    }
}
