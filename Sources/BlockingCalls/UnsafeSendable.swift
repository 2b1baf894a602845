/// Carries a value the compiler cannot prove `Sendable` across a thread hop where only one side uses it at a
/// time (a C pointer handed to a blocking thread, a `Process` kept by a `Sendable` owner).
///
/// `@unchecked`: the box adds no synchronisation; whoever makes one promises that the value is not used from
/// two threads at once.
package struct UnsafeSendable<Value>: @unchecked Sendable {
    /// The carried value.
    package let value: Value

    /// Wraps `value`.
    package init(_ value: Value) { self.value = value }
}
