import CZooKeeper

extension ZNodeStat {
    init(_ stat: Stat) {
        self.init(
            czxid: stat.czxid, mzxid: stat.mzxid, ctime: stat.ctime, mtime: stat.mtime, version: stat.version,
            cversion: stat.cversion, aversion: stat.aversion, ephemeralOwner: stat.ephemeralOwner,
            dataLength: stat.dataLength, numChildren: stat.numChildren, pzxid: stat.pzxid
        )
    }

    init?(_ pointer: UnsafePointer<Stat>?) {
        guard let pointer else { return nil }
        self.init(pointer.pointee)
    }
}

extension ZooKeeperError.Code {
    init(_ rc: Int32) { self.init(rawValue: rc) }
}

extension Int32 {
    var isZOK: Bool { self == ZOK.rawValue }
}

/// Copies znode data that is not NUL-terminated and whose length may be -1.
func copyBytes(_ value: UnsafePointer<CChar>?, _ length: Int32) -> [UInt8] {
    guard let value, length > 0 else { return [] }
    return value.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
        Array(UnsafeBufferPointer(start: $0, count: Int(length)))
    }
}

/// Copies a C string vector (children names).
func copyStrings(_ vector: UnsafePointer<String_vector>?) -> [String] {
    guard let vector, vector.pointee.count > 0, let data = vector.pointee.data else { return [] }
    return (0..<Int(vector.pointee.count)).compactMap { index in
        data[index].map { String(cString: $0) }
    }
}
