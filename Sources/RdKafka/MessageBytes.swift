/// The bytes of a message's key or value, owned by Swift: a view into one buffer that holds the whole batch.
///
/// A batch of messages is copied out of librdkafka into a single allocation, instead of one array per key and
/// value: with 100-byte messages the per-message `[UInt8]` allocations were a sixth of the consumer's instructions
/// (valgrind's callgrind, issue 10). A view keeps its batch's buffer alive; `Array(bytes)` copies the bytes out
/// for those who keep a message long after its batch.
public struct MessageBytes: RandomAccessCollection, Sendable, Hashable, CustomStringConvertible {
    private let storage: BatchBuffer
    private let offset: Int
    /// The number of bytes.
    public let count: Int

    init(storage: BatchBuffer, offset: Int, count: Int) {
        self.storage = storage
        self.offset = offset
        self.count = count
    }

    /// Bytes of their own (tests, and code that fakes a stream).
    public init(_ bytes: some Collection<UInt8>) {
        let storage = BatchBuffer(capacity: bytes.count)
        storage.append(bytes)
        self.init(storage: storage, offset: 0, count: bytes.count)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(position: Int) -> UInt8 {
        precondition(position >= 0 && position < count, "MessageBytes index out of range")
        return storage.base[offset + position]
    }

    /// Calls `body` with the bytes in place, valid only during the call.
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(UnsafeRawBufferPointer(start: storage.base + offset, count: count))
    }

    public func withContiguousStorageIfAvailable<Result>(
        _ body: (UnsafeBufferPointer<UInt8>) throws -> Result
    ) rethrows -> Result? {
        try body(UnsafeBufferPointer(start: storage.base + offset, count: count))
    }

    public static func == (lhs: MessageBytes, rhs: MessageBytes) -> Bool {
        lhs.count == rhs.count && lhs.withUnsafeBytes { l in rhs.withUnsafeBytes { r in l.elementsEqual(r) } }
    }

    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    /// The bytes as UTF-8 text (invalid sequences replaced), for logs and debugging.
    public var description: String { String(decoding: self, as: UTF8.self) }
}

/// One batch's bytes: filled once while the batch is built, read-only after that (hence `@unchecked Sendable`).
final class BatchBuffer: @unchecked Sendable {
    let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private(set) var used = 0

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(capacity: max(1, capacity))
    }

    deinit { base.deallocate() }

    /// Copies `count` bytes from `source` to the end; returns where they start.
    func append(_ source: UnsafeRawPointer, count: Int) -> Int {
        precondition(used + count <= capacity, "BatchBuffer overflow")
        let start = used
        (base + start).update(from: source.assumingMemoryBound(to: UInt8.self), count: count)
        used += count
        return start
    }

    func append(_ bytes: some Collection<UInt8>) {
        precondition(used + bytes.count <= capacity, "BatchBuffer overflow")
        for byte in bytes {
            base[used] = byte
            used += 1
        }
    }
}
