/// Calls `body` with a C pointer and length for znode data. Empty data is sent as zero bytes (not as
/// "no data", which the C API spells as a null pointer and length -1).
func withZNodeData<R>(_ data: [UInt8], _ body: (UnsafePointer<CChar>, Int32) -> R) -> R {
    if data.isEmpty {
        var empty: CChar = 0
        return withUnsafePointer(to: &empty) { body($0, 0) }
    }
    return data.withUnsafeBufferPointer { buffer in
        buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress!, Int32(buffer.count)) }
    }
}
