/// An offset as read from (or last written to) its znode.
public struct StoredOffset: Sendable, Hashable {
    /// The next offset to consume.
    public var offset: Int64
    /// The znode's data version: the next conditional write must match it.
    public var version: Int32
    /// When the znode was last written, milliseconds since the epoch.
    public var modifiedMillis: Int64

    /// An offset with the znode Stat fields that the next conditional write and the age of the commit need.
    public init(offset: Int64, version: Int32, modifiedMillis: Int64) {
        self.offset = offset
        self.version = version
        self.modifiedMillis = modifiedMillis
    }
}

/// What one offset znode holds.
public enum OffsetReading: Sendable, Equatable {
    /// No znode.
    case missing
    /// A valid offset.
    case offset(StoredOffset)
    /// Data that is not a decimal offset, as stored, with the error that names it.
    case malformed(bytes: [UInt8], error: OffsetError)
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
