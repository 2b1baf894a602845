/// One offset znode as read (or as this client's last write left it): its path, its exact bytes, its Stat, and the
/// offset the bytes hold by `OffsetValue.classify`'s rule.
///
/// The one read model of offsets: the consumer's start positions, the store's conditional writes and every
/// operator command (describe, export, plans, verify) read znodes into it. Malformed data is kept, never thrown
/// away: `offset` is nil and `malformedError` names the znode and its bytes.
public struct StoredOffset: Sendable, Hashable {
    /// `/consumers/<group>/offsets/<topic>/<partition>`.
    public var path: String
    /// The data exactly as stored.
    public var bytes: [UInt8]
    /// The znode's Stat: `version` for the next conditional write, `mtime` for the age of the last commit.
    public var stat: ZNodeStat
    /// The next offset to consume (tolerating what `OffsetValue.classify` tolerates); nil when the data is malformed.
    public var offset: Int64?

    /// A znode as read; its bytes are classified once, here.
    public init(path: String, bytes: [UInt8], stat: ZNodeStat) {
        self.path = path
        self.bytes = bytes
        self.stat = stat
        self.offset = OffsetValue.classify(bytes).offset
    }

    /// The znode's data version: a conditional write must match it.
    public var version: Int32 { stat.version }
    /// When the znode was last written, milliseconds since the epoch.
    public var modifiedMillis: Int64 { stat.mtime }

    /// True when the data is not a decimal offset at all.
    public var isMalformed: Bool { offset == nil }

    /// True when the bytes are exactly what `OffsetValue.encode` writes for `offset`.
    public func holds(exactly offset: Int64) -> Bool {
        if case .canonical(let value) = OffsetValue.classify(bytes) { return value == offset }
        return false
    }

    /// The error that names the znode and its bytes, when malformed.
    public var malformedError: OffsetError? {
        isMalformed ? OffsetValue.malformed(bytes, path: path) : nil
    }
}

/// What a commit did.
public struct CommitSummary: Sendable, Hashable {
    /// Offsets written.
    public var written: Int
    /// Offsets skipped because they had not changed since the last commit.
    public var unchanged: Int
    /// ZooKeeper transactions used (0 when nothing changed; more than 1 only for very large commits).
    public var transactions: Int

    /// The counts of one commit, as the store reports them.
    public init(written: Int, unchanged: Int, transactions: Int) {
        self.written = written
        self.unchanged = unchanged
        self.transactions = transactions
    }
}
