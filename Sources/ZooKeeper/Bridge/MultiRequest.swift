import CZooKeeper
import Glibc

/// The C memory of one `zoo_amulti`: the C client writes results, created paths and stats into it when the
/// transaction completes, so it lives until the completion has been read (or the request was failed on close).
final class MultiRequest: @unchecked Sendable {
    // @unchecked: filled by the submitting task before submission, read by the completion thread after it;
    // the C client's completion is the only hand-off between the two.
    private let operations: [ZooKeeperOperation]
    let ops: UnsafeMutablePointer<zoo_op_t>
    let results: UnsafeMutablePointer<zoo_op_result_t>
    /// Everything below was malloc'ed (strdup included) and is freed with free().
    private var allocations: [UnsafeMutableRawPointer] = []
    private var acls: [CACLVector] = []
    private static let pathBufferSize = 1024

    init(_ operations: [ZooKeeperOperation]) {
        self.operations = operations
        let count = max(operations.count, 1)
        ops = .allocate(capacity: count)
        results = .allocate(capacity: count)
        results.initialize(repeating: zoo_op_result_t(), count: count)
        for (index, operation) in operations.enumerated() {
            let path = strdup(operation.path)!
            allocations.append(UnsafeMutableRawPointer(path))
            switch operation.kind {
            case .create(let data, let mode, let acl):
                let value = copy(data)
                // ZooKeeperClient.multi fills in the default; open only if a caller bypassed it.
                let vector = CACLVector(acl ?? .openUnsafe)
                acls.append(vector)
                let buffer = malloc(Self.pathBufferSize)!
                allocations.append(buffer)
                var flags: Int32 = 0
                if mode.isEphemeral { flags |= Int32(czk_flag_ephemeral()) }
                if mode.isSequential { flags |= Int32(czk_flag_sequence()) }
                zoo_create_op_init(
                    ops + index, path, value, Int32(data.count), vector.pointer, flags,
                    buffer.assumingMemoryBound(to: CChar.self),
                    Int32(Self.pathBufferSize)
                )
            case .setData(let data, let version):
                let value = copy(data)
                let raw = calloc(1, MemoryLayout<Stat>.size)!
                allocations.append(raw)
                let stat = raw.assumingMemoryBound(to: Stat.self)
                zoo_set_op_init(ops + index, path, value, Int32(data.count), version, stat)
            case .delete(let version):
                zoo_delete_op_init(ops + index, path, version)
            case .check(let version):
                zoo_check_op_init(ops + index, path, version)
            }
        }
    }

    /// A C copy of the data (at least one byte, so that empty data is "zero bytes", not "no data").
    private func copy(_ data: [UInt8]) -> UnsafePointer<CChar> {
        let buffer = malloc(max(data.count, 1))!
        data.withUnsafeBytes { bytes in
            if let base = bytes.baseAddress { buffer.copyMemory(from: base, byteCount: bytes.count) }
        }
        allocations.append(buffer)
        return UnsafePointer(buffer.assumingMemoryBound(to: CChar.self))
    }

    var count: Int32 { Int32(operations.count) }

    /// The results, or the error of the operation that failed the transaction.
    func outcome(_ completion: Completion, handle: ZooKeeperHandle) -> Result<[OperationResult], ZooKeeperError> {
        if case .failed(let error) = completion { return .failure(error) }
        let rc = completion.rc
        if !rc.isZOK {
            // Failures of the connection fail every operation alike (the C client sets each result to rc):
            // no operation is to blame. Otherwise the failed operation carries rc; those before it ZOK, those
            // after it ZRUNTIMEINCONSISTENCY.
            let connectionCodes: Set<Int32> = [
                ZCONNECTIONLOSS.rawValue, ZOPERATIONTIMEOUT.rawValue, ZCLOSING.rawValue, ZSESSIONEXPIRED.rawValue,
                ZSESSIONMOVED.rawValue, ZINVALIDSTATE.rawValue,
            ]
            let index = connectionCodes.contains(rc) ? nil : (0..<operations.count).first { results[$0].err == rc }
            guard let index else { return .failure(handle.error(rc, path: nil)) }
            return .failure(handle.error(rc, path: operations[index].path, index: index))
        }
        return .success(operations.indices.map { index in
            switch operations[index].kind {
            case .create:
                let buffer = ops[index].create_op.buf
                return .created(path: buffer.map { String(cString: $0) } ?? operations[index].path)
            case .setData:
                return .setData(ZNodeStat(UnsafePointer(ops[index].set_op.stat)) ?? ZNodeStat())
            case .delete:
                return .deleted
            case .check:
                return .checked
            }
        })
    }

    deinit {
        for allocation in allocations { free(allocation) }
        ops.deallocate()
        results.deallocate()
    }
}
