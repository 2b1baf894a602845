/// The data of a znode with its `Stat`, as one read returned them.
public struct NodeData: Sendable, Equatable {
    /// The bytes exactly as stored; ZooKeeper data is not NUL-terminated and may be empty.
    public var bytes: [UInt8]
    /// The znode's metadata at the time of the read.
    public var stat: ZNodeStat

    /// Data and Stat as a read returned them.
    public init(bytes: [UInt8], stat: ZNodeStat) {
        self.bytes = bytes
        self.stat = stat
    }

    /// The data decoded as UTF-8, or nil when it is not valid UTF-8.
    public var string: String? {
        String(validating: bytes, as: UTF8.self)
    }
}

extension Array where Element == UInt8 {
    /// The UTF-8 bytes of a string, for znode data.
    public init(utf8 string: String) {
        self = Array(string.utf8)
    }
}
