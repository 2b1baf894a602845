import ZKOffsets

/// An operation that was refused because going on could lose or corrupt offsets: the group has live members,
/// a targeted znode holds malformed data, a group is active on the brokers. Nothing was written.
///
/// The command exits 1 for a refusal (the situation, not the input, is the problem), 2 for bad input.
public struct OperationRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// A sentence for people, naming the group, the members or the znodes concerned.
    public var message: String

    /// A refusal; `message` says why and what was left alone.
    public init(_ message: String) {
        self.message = message
    }

    /// The message alone.
    public var description: String { message }
}
