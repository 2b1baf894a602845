/// How much one ZooKeeper transaction (`multi`) may carry, and how a long list of operations is cut into
/// transactions that the server accepts.
///
/// The server refuses a request larger than its `jute.maxbuffer` (1 MiB by default); staying at 768 KiB leaves
/// room for the framing and for servers configured a little lower. Commits, plans and removals all cut here, so
/// the limit is one number in one place.
public enum TransactionBudget {
    /// The default limit of one transaction's request, in bytes.
    public static let defaultMaxBytes = 768 * 1024

    /// What a `multi` request costs before its first operation (header and end marker), in bytes.
    static let requestOverhead = 64

    /// `items` in order, cut into consecutive chunks whose estimated size (`cost` of each item plus the request
    /// overhead) stays within `maxBytes`. An item larger than the limit on its own still gets a chunk, alone: the
    /// server then says whether it takes it. No empty chunk is returned.
    public static func chunks<Item>(_ items: [Item], maxBytes: Int, cost: (Item) -> Int) -> [[Item]] {
        var chunks: [[Item]] = []
        var current: [Item] = []
        var size = requestOverhead
        for item in items {
            let itemCost = cost(item)
            if size + itemCost > maxBytes && !current.isEmpty {
                chunks.append(current)
                current = []
                size = requestOverhead
            }
            current.append(item)
            size += itemCost
        }
        if !current.isEmpty { chunks.append(current) }
        return chunks
    }
}
