import BlockingCalls
import Foundation
import Logging

/// An async/await ZooKeeper client over the C client (libzookeeper-mt).
///
/// Every operation uses the C client's asynchronous API, so no thread of Swift's cooperative pool ever blocks
/// on the network. Requests submitted from one task reach the server in the order submitted; the batch
/// methods (`getData(_:)` with several paths, `setData(_:)` with several writes ...) pipeline their requests.
/// `close()` completes every request still in flight, with its result or with `closing`.
public final class ZooKeeperClient: Sendable {
    private let handle: ZooKeeperHandle
    /// The connect string this client was made with.
    public let connectString: ConnectString
    /// The ACL of znodes this client creates without naming one (`ZooKeeperConfiguration.resolvedDefaultACL`),
    /// except `openPaths`.
    public let defaultACL: [ACL]
    /// Znodes this client creates open to everyone when no ACL is named (`ZooKeeperConfiguration.openPaths`).
    public let openPaths: Set<String>

    private init(handle: ZooKeeperHandle, connectString: ConnectString, defaultACL: [ACL], openPaths: Set<String>) {
        self.handle = handle
        self.connectString = connectString
        self.defaultACL = defaultACL
        self.openPaths = openPaths
    }

    /// The ACL a create of `path` that names none gets.
    public func defaultACL(for path: String) -> [ACL] {
        openPaths.contains(path) ? .openUnsafe : defaultACL
    }

    deinit {
        // A client dropped without close(): close the C handle off every caller's thread (it blocks).
        if !handle.isClosing {
            let handle = self.handle
            Thread.detachNewThread { handle.closeBlocking() }
        }
    }

    /// Connects and waits for the session, at most `configuration.connectTimeout` (resolving the host names
    /// included); then adds the configured credentials. Throws `connectTimeout` naming the servers when none
    /// resolves or answers in time, `invalidConnectString`
    /// for a malformed connect string, `authFailed` when credentials are refused.
    public static func connect(
        _ configuration: ZooKeeperConfiguration, logger: Logger = Logger(label: "zookeeper")
    ) async throws(ZooKeeperError) -> ZooKeeperClient {
        let connectString = try ConnectString(configuration.connectString)
        // One deadline for resolving the names (inside zookeeper_init) and reaching a server.
        let deadline = ContinuousClock.now + configuration.connectTimeout
        let handle = try await ZooKeeperHandle.open(
            connectString: connectString, sessionTimeout: configuration.sessionTimeout,
            session: configuration.session, deadline: deadline, logger: logger
        )
        let client = ZooKeeperClient(
            handle: handle, connectString: connectString, defaultACL: configuration.resolvedDefaultACL,
            openPaths: configuration.openPaths
        )
        let state = await client.waitForSession(timeout: max(deadline - ContinuousClock.now, .zero))
        if Task.isCancelled {
            await client.close()
            throw ZooKeeperError(code: .closing, message: "connecting to \(connectString) was cancelled")
        }
        guard state.isConnected else {
            await client.close()
            switch state {
            case .expired:
                throw ZooKeeperError(code: .sessionExpired, message: "the session to resume has expired")
            case .authFailed:
                throw ZooKeeperError(code: .authFailed)
            default:
                throw ZooKeeperError(
                    code: .connectTimeout,
                    message: "no ZooKeeper server at \(connectString) answered within \(configuration.connectTimeout)"
                )
            }
        }
        do {
            for auth in configuration.authentication {
                try await client.addAuth(scheme: auth.scheme, credentials: auth.credentials)
            }
        } catch {
            await client.close()
            throw error
        }
        return client
    }

    /// Waits until the session is connected or the state is terminal, at most `timeout`.
    private func waitForSession(timeout: Duration) async -> ConnectionState {
        let events = handle.events
        return await withTaskGroup(of: ConnectionState?.self) { group in
            group.addTask {
                for await state in events.stream() where state.isConnected || state.isTerminal {
                    return state
                }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? events.current
        }
    }

    // MARK: Session

    /// The current connection state.
    public var state: ConnectionState { handle.events.current }

    /// Every state change from now on, starting with the current state; the stream ends after a terminal state
    /// (expired, auth failed, closed).
    public func connectionStates() -> AsyncStream<ConnectionState> { handle.events.stream() }

    /// The session's id and password (for resuming it, or for tests that force its expiry).
    public var session: SessionCredentials? { handle.events.credentials }

    /// The session id ephemeral znodes of this client carry as `ephemeralOwner`; 0 before the first connect.
    public var sessionID: Int64 { session?.id ?? 0 }

    /// The session timeout the server granted.
    public var negotiatedSessionTimeout: Duration { .milliseconds(Int(handle.events.negotiatedTimeoutMillis)) }

    /// Adds credentials to the session (for example scheme `digest`, credentials `user:password`).
    public func addAuth(scheme: String, credentials: String) async throws(ZooKeeperError) {
        try await handle.addAuth(scheme: scheme, credentials: credentials)
    }

    /// Closes the session: its ephemeral znodes go away, watch streams end, and every request still in flight
    /// completes (with its result or `closing`). Safe to call more than once.
    public func close() async {
        let handle = self.handle
        await runOnDedicatedThread(name: "zookeeper-close") { handle.closeBlocking() }
    }

    // MARK: Reading and writing znodes

    /// Creates a znode and returns its path (with the sequence suffix for sequential modes). Without `acl` the
    /// znode gets the client's `defaultACL`. A create the parent's ACL refuses fails with `noAuth` naming the path.
    @discardableResult
    public func create(
        _ path: String, data: [UInt8] = [], mode: CreateMode = .persistent, acl: [ACL]? = nil
    ) async throws(ZooKeeperError) -> String {
        try ZNodePath.validate(path)
        return try await handle.create(path, data: data, mode: mode, acl: acl ?? defaultACL(for: path))
    }

    /// Reads a znode's data and Stat.
    public func getData(_ path: String) async throws(ZooKeeperError) -> NodeData {
        try ZNodePath.validate(path)
        return try await handle.getData(path)
    }

    /// Reads many znodes with pipelined requests; one result per path, in order.
    public func getData(_ paths: [String]) async -> [Result<NodeData, ZooKeeperError>] {
        await validated(paths) { await handle.getData($0) }
    }

    /// Replaces a znode's data if its version is `version` (-1: whatever it is); returns the new Stat.
    @discardableResult
    public func setData(_ path: String, data: [UInt8], version: Int32 = -1) async throws(ZooKeeperError) -> ZNodeStat {
        try ZNodePath.validate(path)
        return try await handle.setData(path, data: data, version: version)
    }

    /// Writes many znodes with pipelined requests, in order; one result per write.
    public func setData(
        _ writes: [(path: String, data: [UInt8], version: Int32)]
    ) async -> [Result<ZNodeStat, ZooKeeperError>] {
        if let bad = writes.lazy.compactMap({ ZNodePath.problem($0.path) }).first {
            return writes.map { _ in .failure(bad) }
        }
        return await handle.setData(writes)
    }

    /// Deletes a znode if its version is `version` (-1: whatever it is).
    public func delete(_ path: String, version: Int32 = -1) async throws(ZooKeeperError) {
        try ZNodePath.validate(path)
        try await handle.delete(path, version: version)
    }

    /// The znode's Stat, or nil when it does not exist.
    public func exists(_ path: String) async throws(ZooKeeperError) -> ZNodeStat? {
        try ZNodePath.validate(path)
        return try await handle.exists(path)
    }

    /// The names of a znode's children (in the server's order) and the znode's Stat.
    public func children(_ path: String) async throws(ZooKeeperError) -> (names: [String], stat: ZNodeStat) {
        try ZNodePath.validate(path)
        return try await handle.children(path)
    }

    /// The children of many znodes with pipelined requests; one result per path.
    public func children(_ paths: [String]) async -> [Result<[String], ZooKeeperError>] {
        await validated(paths) { await handle.children($0) }
    }

    /// The ACL of each znode, with pipelined requests; one result per path.
    public func getACL(_ paths: [String]) async -> [Result<(acl: [ACL], stat: ZNodeStat), ZooKeeperError>] {
        await validated(paths) { await handle.getACL($0) }
    }

    /// Creates `path` and its missing ancestors as persistent znodes with empty data (with `acl`, else the
    /// client's `defaultACL`); existing ones are left as they are, even under parents this client may not create
    /// in. The creates are pipelined, parents first. When `path` exists already it only reads: a create that
    /// fails with `nodeExists` still costs the ensemble a logged transaction.
    public func ensurePath(_ path: String, acl: [ACL]? = nil) async throws(ZooKeeperError) {
        try ZNodePath.validate(path)
        if try await handle.exists(path) != nil { return }
        let paths = ZNodePath.ancestorsAndSelf(path)
        let results = await handle.create(paths, acls: paths.map { acl ?? defaultACL(for: $0) })
        for (level, result) in zip(paths, results) {
            guard case .failure(let error) = result, error.code != .nodeExists else { continue }
            // The server checks the parent's create permission before existence: a znode that exists under a
            // parent we may not create in answers noAuth. It exists all the same.
            if error.code == .noAuth, (try? await handle.exists(level)) != nil { continue }
            throw error
        }
    }

    /// Deletes `path` and everything below it, deepest first (not atomic: a concurrent create below it makes it
    /// fail with `notEmpty`). A missing `path` is not an error.
    public func deleteRecursive(_ path: String) async throws(ZooKeeperError) {
        try ZNodePath.validate(path)
        var levels: [[String]] = [[path]]
        while let level = levels.last, !level.isEmpty {
            var next: [String] = []
            for (parent, result) in zip(level, await handle.children(level)) {
                switch result {
                case .success(let names):
                    next += names.map { parent == "/" ? "/\($0)" : "\(parent)/\($0)" }
                case .failure(let error) where error.code == .noNode:
                    continue
                case .failure(let error):
                    throw error
                }
            }
            levels.append(next)
        }
        for level in levels.reversed() where !level.isEmpty {
            for result in await handle.delete(level) {
                if case .failure(let error) = result, error.code != .noNode { throw error }
            }
        }
    }

    /// Applies all operations in one transaction, or none of them. On failure the error names the operation
    /// that failed (`failedOperationIndex`, `path`) and why. Creates that name no ACL get the `defaultACL`.
    @discardableResult
    public func multi(_ operations: [ZooKeeperOperation]) async throws(ZooKeeperError) -> [OperationResult] {
        for operation in operations { try ZNodePath.validate(operation.path) }
        return try await handle.multi(operations.map { $0.withACL(default: defaultACL(for: $0.path)) })
    }

    // MARK: Watches

    /// The znode's data now and after every change (nil while it does not exist). The watch re-arms itself;
    /// the stream ends with `sessionExpired` if the session expires and with `closing` on close. Changes that
    /// happen between a notification and the re-read are coalesced (ZooKeeper watches are one-shot).
    public func watchData(_ path: String) -> AsyncThrowingStream<NodeData?, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: NodeData?.self)
        let watch = startWatch(path, kind: .data(continuation))
        continuation.onTermination = { _ in watch.cancel() }
        return stream
    }

    /// The znode's sorted child names now and after every change. Ends with `noNode` when the znode does not
    /// exist (or is deleted), `sessionExpired` if the session expires, `closing` on close.
    public func watchChildren(_ path: String) -> AsyncThrowingStream<[String], any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: [String].self)
        let watch = startWatch(path, kind: .children(continuation))
        continuation.onTermination = { _ in watch.cancel() }
        return stream
    }

    private func startWatch(_ path: String, kind: NodeWatch.Kind) -> NodeWatch {
        let watch = NodeWatch(path: path, kind: kind, handle: handle)
        if let problem = ZNodePath.problem(path) {
            watch.finish(throwing: problem)
        } else if !handle.register(watch) {
            watch.finish(throwing: ZooKeeperError(code: .closing, path: path))
        } else {
            watch.arm()
        }
        return watch
    }

    private func validated<T>(
        _ paths: [String], _ body: ([String]) async -> [Result<T, ZooKeeperError>]
    ) async -> [Result<T, ZooKeeperError>] {
        if let bad = paths.lazy.compactMap({ ZNodePath.problem($0) }).first {
            return paths.map { _ in .failure(bad) }
        }
        return await body(paths)
    }
}
