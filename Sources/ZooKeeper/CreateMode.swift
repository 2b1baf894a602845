/// How a znode is created: persistent or tied to the session, with or without a sequence suffix.
public struct CreateMode: Sendable, Hashable {
    /// Deleted when the session that created it ends.
    public var isEphemeral: Bool
    /// The server appends a monotonically increasing 10-digit counter to the name.
    public var isSequential: Bool

    /// A mode from its two properties; the static members name the four combinations.
    public init(isEphemeral: Bool, isSequential: Bool) {
        self.isEphemeral = isEphemeral
        self.isSequential = isSequential
    }

    /// Stays until deleted; the name as given.
    public static let persistent = CreateMode(isEphemeral: false, isSequential: false)
    /// Stays until deleted; the name gets a sequence suffix.
    public static let persistentSequential = CreateMode(isEphemeral: false, isSequential: true)
    /// Deleted with the session that created it; the name as given.
    public static let ephemeral = CreateMode(isEphemeral: true, isSequential: false)
    /// Deleted with the session that created it; the name gets a sequence suffix.
    public static let ephemeralSequential = CreateMode(isEphemeral: true, isSequential: true)
}
