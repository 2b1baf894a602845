extension Duration {
    /// Whole milliseconds, rounded toward zero; saturates at `Int64`'s bounds instead of trapping.
    package var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        let millis = seconds.multipliedReportingOverflow(by: 1000)
        guard !millis.overflow else { return seconds > 0 ? .max : .min }
        let total = millis.partialValue.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        guard !total.overflow else { return seconds > 0 ? .max : .min }
        return total.partialValue
    }

    /// Whole milliseconds for a C `int timeout_ms` parameter, clamped to `0...Int32.max`: a negative value
    /// would mean "wait forever" to librdkafka and most C APIs.
    package var timeoutMilliseconds: Int32 {
        Int32(clamping: max(0, milliseconds))
    }
}
