/// An error from ZooKeeper or from this client, with the znode it concerns and whether a retry may help.
///
/// `Code` is a set of static constants rather than an enum so that codes can be added without breaking users;
/// codes the server or the C client return that this type does not name are kept as they are.
public struct ZooKeeperError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, as ZooKeeper numbers it (plus a few client-side codes below -1000).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The numeric code: ZooKeeper's own (`ZNONODE` = -101 ...) or this client's (below -1000).
        public let rawValue: Int32
        /// A code from its number; unknown numbers are kept and shown as `code <n>`.
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// A system error in the client (`ZSYSTEMERROR`).
        public static let systemError = Code(rawValue: -1)
        /// The client found its own state inconsistent (`ZRUNTIMEINCONSISTENCY`).
        public static let runtimeInconsistency = Code(rawValue: -2)
        /// Data inconsistency between client and server (`ZDATAINCONSISTENCY`).
        public static let dataInconsistency = Code(rawValue: -3)
        /// The connection was lost: the request may or may not have been applied. Retryable.
        public static let connectionLoss = Code(rawValue: -4)
        /// A request or answer could not be (de)serialized (`ZMARSHALLINGERROR`).
        public static let marshallingError = Code(rawValue: -5)
        /// The server does not implement the operation (`ZUNIMPLEMENTED`).
        public static let unimplemented = Code(rawValue: -6)
        /// The operation timed out. Retryable.
        public static let operationTimeout = Code(rawValue: -7)
        /// Invalid arguments (`ZBADARGUMENTS`).
        public static let badArguments = Code(rawValue: -8)
        /// The handle is in a state that cannot serve the request (closed, expired).
        public static let invalidState = Code(rawValue: -9)
        /// The znode does not exist.
        public static let noNode = Code(rawValue: -101)
        /// The znode's ACL does not allow the operation for this client's credentials.
        public static let noAuth = Code(rawValue: -102)
        /// The znode's version is not the one the operation was conditional on: it changed since it was read.
        public static let badVersion = Code(rawValue: -103)
        /// Ephemeral znodes cannot have children.
        public static let noChildrenForEphemerals = Code(rawValue: -108)
        /// The znode already exists.
        public static let nodeExists = Code(rawValue: -110)
        /// The znode has children, so it cannot be deleted.
        public static let notEmpty = Code(rawValue: -111)
        /// The session expired: its ephemeral znodes and watches are gone.
        public static let sessionExpired = Code(rawValue: -112)
        /// An invalid callback was given to the C client (`ZINVALIDCALLBACK`).
        public static let invalidCallback = Code(rawValue: -113)
        /// The ACL is invalid.
        public static let invalidACL = Code(rawValue: -114)
        /// Authentication failed: the client is unusable.
        public static let authFailed = Code(rawValue: -115)
        /// The client is closing; the request was not sent or not answered.
        public static let closing = Code(rawValue: -116)
        /// The session moved to another server. Retryable.
        public static let sessionMoved = Code(rawValue: -118)
        /// A write was sent to a read-only server.
        public static let notReadOnly = Code(rawValue: -119)
        /// The server throttled the request. Retryable.
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

        /// The code's name (`noNode`, `badVersion` ...), or `code <n>` for a number this client does not know.
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

    /// An error with its code and context; without `message`, a sentence for the code.
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

    /// `ZooKeeper <code> at <path> (operation <i> of the transaction): <message>`, the parts known.
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
