/// The offsets bounding a partition's log at the moment it was queried.
public struct Watermarks: Sendable, Equatable {
    /// The log start offset: the first offset still stored (retention may have removed older ones).
    public var low: Int64
    /// The log end offset: the offset the next produced message will get.
    public var high: Int64

    /// Creates watermarks; `low <= high` on any real partition.
    public init(low: Int64, high: Int64) {
        self.low = low
        self.high = high
    }

    /// `true` when `offset` can be fetched or is the log end (the position of a caught-up consumer).
    public func contains(_ offset: Int64) -> Bool { offset >= low && offset <= high }

    /// The number of messages currently stored: `high - low`.
    public var count: Int64 { high - low }
}
