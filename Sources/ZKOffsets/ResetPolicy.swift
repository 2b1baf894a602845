/// Where a partition starts when it has no stored offset, or when its stored offset fell below the log start.
public enum ResetPolicy: String, Sendable, Hashable, CaseIterable {
    /// The oldest message still in the log.
    case earliest
    /// Only messages produced from now on.
    case latest
    /// Do not guess: fail, naming the partitions.
    case none
}
