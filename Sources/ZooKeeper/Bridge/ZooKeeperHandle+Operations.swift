import CZooKeeper
import Synchronization

/// The ZooKeeper operations over the C async API, in Swift types. Paths are validated by the caller.
extension ZooKeeperHandle {
    func create(_ path: String, data: [UInt8], mode: CreateMode, acl: [ACL]) async throws(ZooKeeperError) -> String {
        var flags: Int32 = 0
        if mode.isEphemeral { flags |= Int32(czk_flag_ephemeral()) }
        if mode.isSequential { flags |= Int32(czk_flag_sequence()) }
        let vector = CACLVector(acl)
        let completion = await perform(path: path) { zh, request in
            path.withCString { cPath in
                withZNodeData(data) { value, length in
                    zoo_acreate(zh, cPath, value, length, vector.pointer, flags, onStringCompletion, request)
                }
            }
        }
        withExtendedLifetime(vector) {}
        guard case .string(_, let created) = try check(completion, path: path) else { return path }
        return created ?? path
    }

    func getData(_ path: String) async throws(ZooKeeperError) -> NodeData {
        let completion = await perform(path: path) { zh, request in
            path.withCString { zoo_aget(zh, $0, 0, onDataCompletion, request) }
        }
        guard case .data(_, let bytes, let stat) = try check(completion, path: path) else {
            throw ZooKeeperError(code: .runtimeInconsistency, path: path)
        }
        return NodeData(bytes: bytes, stat: stat ?? ZNodeStat())
    }

    func setData(_ path: String, data: [UInt8], version: Int32) async throws(ZooKeeperError) -> ZNodeStat {
        let completion = await perform(path: path) { zh, request in
            path.withCString { cPath in
                withZNodeData(data) { zoo_aset(zh, cPath, $0, $1, version, onStatCompletion, request) }
            }
        }
        guard case .stat(_, let stat) = try check(completion, path: path) else { return ZNodeStat() }
        return stat ?? ZNodeStat()
    }

    func delete(_ path: String, version: Int32) async throws(ZooKeeperError) {
        let completion = await perform(path: path) { zh, request in
            path.withCString { zoo_adelete(zh, $0, version, onVoidCompletion, request) }
        }
        _ = try check(completion, path: path)
    }

    func exists(_ path: String) async throws(ZooKeeperError) -> ZNodeStat? {
        let completion = await perform(path: path) { zh, request in
            path.withCString { zoo_aexists(zh, $0, 0, onStatCompletion, request) }
        }
        if completion.rc == ZNONODE.rawValue { return nil }
        guard case .stat(_, let stat) = try check(completion, path: path) else { return nil }
        return stat
    }

    func children(_ path: String) async throws(ZooKeeperError) -> (names: [String], stat: ZNodeStat) {
        let completion = await perform(path: path) { zh, request in
            path.withCString { zoo_aget_children2(zh, $0, 0, onChildrenCompletion, request) }
        }
        guard case .children(_, let names, let stat) = try check(completion, path: path) else {
            throw ZooKeeperError(code: .runtimeInconsistency, path: path)
        }
        return (names, stat ?? ZNodeStat())
    }

    func multi(_ operations: [ZooKeeperOperation]) async throws(ZooKeeperError) -> [OperationResult] {
        if operations.isEmpty { return [] }
        let request = MultiRequest(operations)
        let completion = await perform(path: nil) { zh, context in
            zoo_amulti(zh, request.count, request.ops, request.results, onVoidCompletion, context)
        }
        return try request.outcome(completion, handle: self).get()
    }

    func addAuth(scheme: String, credentials: String) async throws(ZooKeeperError) {
        let bytes = Array(credentials.utf8)
        let completion = await perform(path: nil) { zh, request in
            scheme.withCString { cScheme in
                withZNodeData(bytes) { zoo_add_auth(zh, cScheme, $0, $1, onVoidCompletion, request) }
            }
        }
        _ = try check(completion, path: nil)
    }

    // MARK: Pipelined batches: every request is submitted before the first answer is awaited.

    func getData(_ paths: [String]) async -> [Result<NodeData, ZooKeeperError>] {
        await batch(paths.count) { index, deliver in
            let path = paths[index]
            start(path: path, deliver: { completion in
                deliver(Result { () throws(ZooKeeperError) in
                    guard case .data(_, let bytes, let stat) = try self.check(completion, path: path) else {
                        throw ZooKeeperError(code: .runtimeInconsistency, path: path)
                    }
                    return NodeData(bytes: bytes, stat: stat ?? ZNodeStat())
                })
            }) { zh, request in
                path.withCString { zoo_aget(zh, $0, 0, onDataCompletion, request) }
            }
        }
    }

    func setData(_ writes: [(path: String, data: [UInt8], version: Int32)]) async -> [Result<ZNodeStat, ZooKeeperError>] {
        await batch(writes.count) { index, deliver in
            let (path, data, version) = writes[index]
            start(path: path, deliver: { completion in
                deliver(Result { () throws(ZooKeeperError) in
                    guard case .stat(_, let stat) = try self.check(completion, path: path) else { return ZNodeStat() }
                    return stat ?? ZNodeStat()
                })
            }) { zh, request in
                path.withCString { cPath in
                    withZNodeData(data) { zoo_aset(zh, cPath, $0, $1, version, onStatCompletion, request) }
                }
            }
        }
    }

    func children(_ paths: [String]) async -> [Result<[String], ZooKeeperError>] {
        await batch(paths.count) { index, deliver in
            let path = paths[index]
            start(path: path, deliver: { completion in
                deliver(Result { () throws(ZooKeeperError) in
                    guard case .children(_, let names, _) = try self.check(completion, path: path) else { return [] }
                    return names
                })
            }) { zh, request in
                path.withCString { zoo_aget_children2(zh, $0, 0, onChildrenCompletion, request) }
            }
        }
    }

    /// Creates each path in order (parents first), persistent with empty data, each with its ACL; results per path.
    func create(_ paths: [String], acls: [[ACL]]) async -> [Result<String, ZooKeeperError>] {
        var vectors: [[ACL]: CACLVector] = [:]
        for acl in acls where vectors[acl] == nil { vectors[acl] = CACLVector(acl) }
        let results = await batch(paths.count) { index, deliver in
            let path = paths[index]
            let vector = vectors[acls[index]]!
            start(path: path, deliver: { completion in
                deliver(Result { () throws(ZooKeeperError) in
                    _ = try self.check(completion, path: path)
                    return path
                })
            }) { zh, request in
                path.withCString { cPath in
                    withZNodeData([]) { zoo_acreate(zh, cPath, $0, $1, vector.pointer, 0, onStringCompletion, request) }
                }
            }
        }
        withExtendedLifetime(vectors) {}
        return results
    }

    func getACL(_ paths: [String]) async -> [Result<(acl: [ACL], stat: ZNodeStat), ZooKeeperError>] {
        await batch(paths.count) { index, deliver in
            let path = paths[index]
            start(path: path, deliver: { completion in
                deliver(Result { () throws(ZooKeeperError) in
                    guard case .acl(_, let acl, let stat) = try self.check(completion, path: path) else {
                        throw ZooKeeperError(code: .runtimeInconsistency, path: path)
                    }
                    return (acl, stat ?? ZNodeStat())
                })
            }) { zh, request in
                path.withCString { zoo_aget_acl(zh, $0, onACLCompletion, request) }
            }
        }
    }

    func delete(_ paths: [String]) async -> [Result<Void, ZooKeeperError>] {
        await batch(paths.count) { index, deliver in
            let path = paths[index]
            start(path: path, deliver: { completion in
                deliver(Result { () throws(ZooKeeperError) in _ = try self.check(completion, path: path) })
            }) { zh, request in
                path.withCString { zoo_adelete(zh, $0, -1, onVoidCompletion, request) }
            }
        }
    }

    /// Submits `count` requests with `submit` (in index order, from this task) and waits for all their results.
    private func batch<T: Sendable>(
        _ count: Int,
        _ submit: (Int, @escaping @Sendable (Result<T, ZooKeeperError>) -> Void) -> Void
    ) async -> [Result<T, ZooKeeperError>] {
        if count == 0 { return [] }
        return await withCheckedContinuation { continuation in
            let collector = BatchCollector<T>(count: count, continuation: continuation)
            for index in 0..<count {
                submit(index) { collector.set(index, $0) }
            }
        }
    }
}

/// Gathers the results of a pipelined batch and resumes its waiter when the last one arrives.
private final class BatchCollector<T: Sendable>: Sendable {
    private struct State {
        var results: [Result<T, ZooKeeperError>?]
        var remaining: Int
    }

    private let state: Mutex<State>
    private let continuation: CheckedContinuation<[Result<T, ZooKeeperError>], Never>

    init(count: Int, continuation: CheckedContinuation<[Result<T, ZooKeeperError>], Never>) {
        state = Mutex(State(results: Array(repeating: nil, count: count), remaining: count))
        self.continuation = continuation
    }

    func set(_ index: Int, _ result: Result<T, ZooKeeperError>) {
        let done: [Result<T, ZooKeeperError>]? = state.withLock { state in
            state.results[index] = result
            state.remaining -= 1
            return state.remaining == 0 ? state.results.map { $0! } : nil
        }
        if let done { continuation.resume(returning: done) }
    }
}
