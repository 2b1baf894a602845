extension Duration {
    /// The duration in whole milliseconds for librdkafka's `int timeout_ms` parameters, clamped to
    /// `0...Int32.max` (a negative value would mean "wait forever" to librdkafka).
    var rdKafkaMilliseconds: Int32 {
        let (seconds, attoseconds) = components
        let millis = seconds.multipliedReportingOverflow(by: 1000)
        guard !millis.overflow else { return seconds > 0 ? Int32.max : 0 }
        let total = millis.partialValue + attoseconds / 1_000_000_000_000_000
        return Int32(clamping: max(0, total))
    }
}
