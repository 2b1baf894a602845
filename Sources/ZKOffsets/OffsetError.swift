/// An error of the offset coordinator, naming the group, topic, partition or znode it concerns.
public struct OffsetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong; static constants so that codes can be added without breaking users.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's name, as logs and tests show it (`fenced`, `noStoredOffset`, ...).
        public let name: String
        private init(_ name: String) { self.name = name }

        /// A group id that is empty, contains `/` or control characters.
        public static let invalidGroup = Code("invalidGroup")
        /// A topic name outside `[a-zA-Z0-9._-]{1,249}`, or `.` / `..`.
        public static let invalidTopic = Code("invalidTopic")
        /// An offset znode whose data is not an ASCII decimal; the znode is left as it is.
        public static let malformedOffset = Code("malformedOffset")
        /// Partitions without a stored offset under the reset policy `none`.
        public static let noStoredOffset = Code("noStoredOffset")
        /// A stored offset above the partition's log end (truncation, topic re-created).
        public static let offsetAboveLogEnd = Code("offsetAboveLogEnd")
        /// An offset znode changed under us (another writer); nothing of the commit was applied.
        public static let concurrentModification = Code("concurrentModification")
        /// The commit, with the application's own operations, does not fit one ZooKeeper transaction.
        public static let transactionTooLarge = Code("transactionTooLarge")
        /// The consumer no longer owns a partition it commits (its owner znode is gone): nothing was applied.
        public static let fenced = Code("fenced")
        /// The ZooKeeper connection has been lost for longer than 2/3 of the session timeout: the partitions may
        /// be another member's by now, so nothing is committed until the session is settled.
        public static let sessionInDoubt = Code("sessionInDoubt")
        /// Another live consumer of the group owns partitions this one needs.
        public static let partitionOwned = Code("partitionOwned")
        /// A member's `ids` znode does not hold Kafka 0.8's registration JSON.
        public static let malformedRegistration = Code("malformedRegistration")
        /// The members' subscriptions do not allow the configured assignment (round-robin needs equal ones).
        public static let incompatibleMembers = Code("incompatibleMembers")
        /// A topic the group subscribes to does not exist on the brokers.
        public static let unknownTopic = Code("unknownTopic")
        /// ZooKeeper refused a write for lack of permission (`noAuth`): the znode's ACL does not grant this client's
        /// credentials. Never retried; nothing of the operation was applied.
        public static let notAuthorized = Code("notAuthorized")
        /// The consumer was stopped or closed.
        public static let closed = Code("closed")
        /// Bad input that is neither a name nor a znode: a file, an option, an offset.
        public static let invalidInput = Code("invalidInput")

        /// The code's name.
        public var description: String { name }
    }

    /// What went wrong: branch on this, never on `message`.
    public var code: Code
    /// The znode concerned, when there is one.
    public var path: String?
    /// A sentence for people.
    public var message: String
    /// The ZooKeeper failure behind this error, when there is one (for `concurrentModification`: whether the znode
    /// was written, created or deleted since it was read).
    public var cause: ZooKeeperError?

    /// An error with its code, the znode it concerns if there is one, and a sentence that names the group, topic or
    /// partition.
    public init(_ code: Code, path: String? = nil, cause: ZooKeeperError? = nil, _ message: String) {
        self.code = code
        self.path = path
        self.cause = cause
        self.message = message
    }

    /// The message alone: it names what is concerned; the code is in `code`.
    public var description: String { message }
}
