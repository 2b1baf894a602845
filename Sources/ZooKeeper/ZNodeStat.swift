/// The metadata ZooKeeper keeps for a znode (its `Stat`).
public struct ZNodeStat: Sendable, Equatable, Hashable {
    /// zxid of the transaction that created the znode.
    public var czxid: Int64
    /// zxid of the transaction that last modified the data. Writes in one transaction share it.
    public var mzxid: Int64
    /// Creation time, milliseconds since the epoch.
    public var ctime: Int64
    /// Last modification time, milliseconds since the epoch.
    public var mtime: Int64
    /// Number of changes to the data; the version conditional writes compare against.
    public var version: Int32
    /// Number of changes to the children.
    public var cversion: Int32
    /// Number of changes to the ACL.
    public var aversion: Int32
    /// Session id of the owner if the znode is ephemeral, otherwise 0.
    public var ephemeralOwner: Int64
    /// Length of the data in bytes.
    public var dataLength: Int32
    /// Number of children.
    public var numChildren: Int32
    /// zxid of the last change to the children.
    public var pzxid: Int64

    /// A Stat with the given fields, zero by default (what a test or a missing Stat needs).
    public init(
        czxid: Int64 = 0, mzxid: Int64 = 0, ctime: Int64 = 0, mtime: Int64 = 0, version: Int32 = 0,
        cversion: Int32 = 0, aversion: Int32 = 0, ephemeralOwner: Int64 = 0, dataLength: Int32 = 0,
        numChildren: Int32 = 0, pzxid: Int64 = 0
    ) {
        self.czxid = czxid
        self.mzxid = mzxid
        self.ctime = ctime
        self.mtime = mtime
        self.version = version
        self.cversion = cversion
        self.aversion = aversion
        self.ephemeralOwner = ephemeralOwner
        self.dataLength = dataLength
        self.numChildren = numChildren
        self.pzxid = pzxid
    }
}
