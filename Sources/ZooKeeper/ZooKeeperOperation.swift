/// One operation of a transaction (`multi`): all operations of a transaction are applied together or not at all.
public struct ZooKeeperOperation: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        /// A nil ACL is the client's default, filled in by `ZooKeeperClient.multi`.
        case create(data: [UInt8], mode: CreateMode, acl: [ACL]?)
        case setData(data: [UInt8], version: Int32)
        case delete(version: Int32)
        case check(version: Int32)
    }

    /// The znode the operation addresses.
    public let path: String
    let kind: Kind

    /// Creates a znode, with `acl` or else the `defaultACL` of the client that runs the transaction.
    public static func create(
        _ path: String, data: [UInt8] = [], mode: CreateMode = .persistent, acl: [ACL]? = nil
    ) -> ZooKeeperOperation {
        ZooKeeperOperation(path: path, kind: .create(data: data, mode: mode, acl: acl))
    }

    /// Replaces a znode's data if its version is `version` (-1: any version).
    public static func setData(_ path: String, data: [UInt8], version: Int32 = -1) -> ZooKeeperOperation {
        ZooKeeperOperation(path: path, kind: .setData(data: data, version: version))
    }

    /// Deletes a znode if its version is `version` (-1: any version).
    public static func delete(_ path: String, version: Int32 = -1) -> ZooKeeperOperation {
        ZooKeeperOperation(path: path, kind: .delete(version: version))
    }

    /// Fails the transaction unless the znode exists with data version `version` (-1: any version).
    public static func check(_ path: String, version: Int32 = -1) -> ZooKeeperOperation {
        ZooKeeperOperation(path: path, kind: .check(version: version))
    }

    /// The bytes this operation adds to a request, a close estimate used to keep transactions below
    /// the server's `jute.maxbuffer`.
    public var estimatedRequestSize: Int {
        let header = 16 + path.utf8.count
        switch kind {
        case .create(let data, _, let acl):
            // Without an ACL yet: room for creator-all + world-read, the largest default.
            let aclSize = acl?.reduce(0) { $0 + 12 + $1.scheme.utf8.count + $1.id.utf8.count } ?? 48
            return header + data.count + aclSize
        case .setData(let data, _): return header + data.count
        case .delete, .check: return header
        }
    }
}

/// The result of one operation of a successful transaction.
public enum OperationResult: Sendable, Hashable {
    /// A znode was created at this path (with the sequence suffix if sequential).
    case created(path: String)
    /// Data was set; the znode's new Stat.
    case setData(ZNodeStat)
    case deleted
    case checked
}

extension ZooKeeperOperation {
    /// This operation with `acl` filled in when it is a create that names none.
    func withACL(default acl: [ACL]) -> ZooKeeperOperation {
        guard case .create(let data, let mode, nil) = kind else { return self }
        return ZooKeeperOperation(path: path, kind: .create(data: data, mode: mode, acl: acl))
    }
}
