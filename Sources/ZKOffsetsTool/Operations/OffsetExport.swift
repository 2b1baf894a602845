import ZKOffsets

/// The offsets `export` writes: every offset znode of the groups, decoded; malformed ones are left out and
/// returned as errors naming the znode and its bytes.
public struct OffsetExport: Sendable, Equatable {
    /// The decoded offsets, sorted by group, topic and partition (the file's order).
    public var entries: [OffsetEntry]
    /// Znodes that could not be exported (their data is not a decimal offset).
    public var skipped: [OffsetError]

    /// Reads `groups` (every group under /consumers when nil). A named group that does not exist is
    /// `invalidInput`; names are validated before any read.
    public static func read(inventory: GroupInventory, groups: [String]?) async throws -> OffsetExport {
        for group in groups ?? [] { try OffsetLayout.validateGroup(group) }
        let names: [String]
        if let groups {
            for group in groups { try await inventory.requireExisting(group: group) }
            names = groups
        } else {
            names = try await inventory.groups().map(\.group)
        }
        var entries: [OffsetEntry] = []
        var skipped: [OffsetError] = []
        for group in Array(Set(names)).sorted() {
            for (partition, node) in try await inventory.offsets(group: group).sorted(by: { $0.key < $1.key }) {
                if let offset = node.offset {
                    entries.append(OffsetEntry(group: group, partition: partition, offset: offset))
                } else if let error = node.malformedError {
                    skipped.append(error)
                }
            }
        }
        return OffsetExport(entries: entries.sorted(), skipped: skipped)
    }
}
