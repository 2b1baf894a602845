/// How a znode is created: persistent or tied to the session, with or without a sequence suffix.
public struct CreateMode: Sendable, Hashable {
    /// Deleted when the session that created it ends.
    public var isEphemeral: Bool
    /// The server appends a monotonically increasing 10-digit counter to the name.
    public var isSequential: Bool

    public init(isEphemeral: Bool, isSequential: Bool) {
        self.isEphemeral = isEphemeral
        self.isSequential = isSequential
    }

    public static let persistent = CreateMode(isEphemeral: false, isSequential: false)
    public static let persistentSequential = CreateMode(isEphemeral: false, isSequential: true)
    public static let ephemeral = CreateMode(isEphemeral: true, isSequential: false)
    public static let ephemeralSequential = CreateMode(isEphemeral: true, isSequential: true)
}
