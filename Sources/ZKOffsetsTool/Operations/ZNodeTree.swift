import ZKOffsets

/// One znode as read: its path, its exact bytes and its Stat (the version a conditional delete or write compares).
public struct ZNodeSnapshot: Sendable, Equatable {
    /// The absolute path.
    public var path: String
    /// The data exactly as stored.
    public var bytes: [UInt8]
    /// The Stat at the time of the read.
    public var stat: ZNodeStat

    /// A znode as read.
    public init(path: String, bytes: [UInt8], stat: ZNodeStat) {
        self.path = path
        self.bytes = bytes
        self.stat = stat
    }
}

/// Reads a znode and everything below it, one pipelined batch of reads per level (a group's subtree is four
/// levels deep: group, offsets/ids/owners, topic, partition), so the cost does not grow with round trips per znode.
public enum ZNodeTree {
    /// The subtree under `root` (root included), parents before children, siblings sorted; empty when `root` does
    /// not exist. A znode deleted while the tree is read is left out.
    public static func read(client: ZooKeeperClient, root: String) async throws -> [ZNodeSnapshot] {
        try await read(client: client, roots: [root])
    }

    /// The subtrees under each of `roots`, in level order over all of them (every root before any child).
    public static func read(client: ZooKeeperClient, roots: [String]) async throws -> [ZNodeSnapshot] {
        var result: [ZNodeSnapshot] = []
        var level = roots
        while !level.isEmpty {
            var present: [ZNodeSnapshot] = []
            for (path, read) in zip(level, await client.getData(level)) {
                switch read {
                case .success(let node): present.append(ZNodeSnapshot(path: path, bytes: node.bytes, stat: node.stat))
                case .failure(let error) where error.code == .noNode: continue
                case .failure(let error): throw error
                }
            }
            result += present
            let parents = present.filter { $0.stat.numChildren > 0 }.map(\.path)
            var next: [String] = []
            for (parent, names) in zip(parents, await client.children(parents)) {
                switch names {
                case .success(let names): next += names.sorted().map { parent == "/" ? "/\($0)" : "\(parent)/\($0)" }
                case .failure(let error) where error.code == .noNode: continue
                case .failure(let error): throw error
                }
            }
            level = next
        }
        return result
    }
}
