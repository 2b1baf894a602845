import CZooKeeper
import Glibc
import Logging
import Synchronization

/// Owns one `zhandle_t` and every request in flight on it.
///
/// The C client drops completions when it is closed and frees the handle, so every request is registered in
/// `pending` before it is submitted, submissions happen under the lock that `close` takes before freeing the
/// handle, and whatever is still pending after `zookeeper_close` returns is failed with `closing`.
final class ZooKeeperHandle: Sendable {
    // @unchecked: the C handle pointer is only used while the mutex is held.
    private struct State: @unchecked Sendable {
        var handle: OpaquePointer?
        var closing = false
        var nextID: UInt64 = 0
        var pending: [UInt64: PendingRequest] = [:]
        /// Watch contexts stay alive until close: the C client may call a watcher until its session ends.
        var watches: [NodeWatch] = []
    }

    /// Declared before `state` on purpose: the C handle's watcher context must outlive the C handle.
    let events: SessionEvents
    let logger: Logger
    private let state: Mutex<State>
    private let sessionContext: Unmanaged<SessionEvents>

    private init(handle: OpaquePointer, events: SessionEvents, sessionContext: Unmanaged<SessionEvents>, logger: Logger) {
        self.events = events
        self.logger = logger
        self.sessionContext = sessionContext
        self.state = Mutex(State(handle: handle))
    }

    /// Starts the C client for `connectString` (it connects in the background; `events` reports when).
    static func open(
        connectString: ConnectString, sessionTimeout: Duration, session: SessionCredentials?, logger: Logger
    ) async throws(ZooKeeperError) -> ZooKeeperHandle {
        CLogging.configureOnce()
        let events = SessionEvents(logger: logger)
        let context = Unmanaged.passRetained(events)
        let hosts = connectString.description
        let timeoutMillis = Int32(clamping: sessionTimeout.milliseconds)
        let opaqueContext = UnsafeSendable(context.toOpaque())
        let created = await BlockingThread.run("zookeeper-init") { () -> UnsafeSendable<(OpaquePointer?, Int32)> in
            var clientID = clientid_t()
            if let session {
                clientID.client_id = session.id
                withUnsafeMutableBytes(of: &clientID.passwd) { raw in
                    for (index, byte) in session.password.prefix(raw.count).enumerated() { raw[index] = byte }
                }
            }
            let handle = withUnsafePointer(to: &clientID) { clientPointer in
                zookeeper_init2(
                    hosts, onSessionEvent, timeoutMillis, session == nil ? nil : clientPointer,
                    opaqueContext.value, 0, onCLog
                )
            }
            return UnsafeSendable((handle, errno))
        }
        guard let handle = created.value.0 else {
            context.release()
            throw ZooKeeperError(
                code: .systemError, message: "the ZooKeeper C client could not start for '\(hosts)' (errno \(created.value.1))"
            )
        }
        return ZooKeeperHandle(handle: handle, events: events, sessionContext: context, logger: logger)
    }

    // MARK: Submitting requests

    /// Registers a request and submits it with `call`, under the lock that keeps the handle alive.
    /// `deliver` runs exactly once: with the completion, or with the reason it never reached the server.
    func start(
        path: String?, deliver: @escaping @Sendable (Completion) -> Void,
        _ call: (OpaquePointer, UnsafeRawPointer) -> Int32
    ) {
        let failure: ZooKeeperError? = state.withLock { state in
            guard let handle = state.handle, !state.closing else {
                return ZooKeeperError(code: .closing, path: path)
            }
            let id = state.nextID
            state.nextID += 1
            let request = PendingRequest(id: id, handle: self, deliver: deliver)
            state.pending[id] = request
            let rc = call(handle, UnsafeRawPointer(Unmanaged.passUnretained(request).toOpaque()))
            if rc.isZOK { return nil }
            state.pending[id] = nil
            return error(rc, path: path)
        }
        if let failure { deliver(.failed(failure)) }
    }

    /// Submits one request and waits for its completion.
    func perform(path: String?, _ call: (OpaquePointer, UnsafeRawPointer) -> Int32) async -> Completion {
        await withCheckedContinuation { continuation in
            start(path: path, deliver: { continuation.resume(returning: $0) }, call)
        }
    }

    /// Called by the completion functions: hands the completion to its request unless close already failed it.
    func complete(_ id: UInt64, _ completion: Completion) {
        let request = state.withLock { $0.pending.removeValue(forKey: id) }
        request?.deliver(completion)
    }

    /// The error for a C return code, reading "invalid state" as what made the handle unusable.
    func error(_ rc: Int32, path: String?, index: Int? = nil) -> ZooKeeperError {
        var code = ZooKeeperError.Code(rc)
        if code == .invalidState {
            switch events.current {
            case .expired: code = .sessionExpired
            case .authFailed: code = .authFailed
            case .closed: code = .closing
            default: break
            }
        }
        return ZooKeeperError(code: code, path: path, failedOperationIndex: index)
    }

    /// Throws the completion's error, if any.
    func check(_ completion: Completion, path: String?) throws(ZooKeeperError) -> Completion {
        if case .failed(let error) = completion { throw error }
        if !completion.rc.isZOK { throw error(completion.rc, path: path) }
        return completion
    }

    func register(_ watch: NodeWatch) -> Bool {
        state.withLock { state in
            guard !state.closing else { return false }
            state.watches.append(watch)
            return true
        }
    }

    // MARK: Closing

    var isClosing: Bool { state.withLock { $0.closing } }

    /// Closes the C handle and fails every request whose completion the C client dropped. Blocks: call it
    /// from a thread of its own, never from a callback or the cooperative pool.
    func closeBlocking() {
        let handle: OpaquePointer? = state.withLock { state in
            if state.closing { return nil }
            state.closing = true
            return state.handle
        }
        guard let handle else { return }
        zookeeper_close(handle)
        let (leftovers, watches) = state.withLock { state in
            state.handle = nil
            let leftovers = Array(state.pending.values)
            state.pending = [:]
            let watches = state.watches
            state.watches = []
            return (leftovers, watches)
        }
        for request in leftovers.sorted(by: { $0.id < $1.id }) {
            request.deliver(.failed(ZooKeeperError(code: .closing)))
        }
        for watch in watches { watch.finish(throwing: ZooKeeperError(code: .closing, path: watch.path)) }
        events.transition(to: .closed)
        sessionContext.release()
    }
}

/// Carries a value the compiler cannot prove Sendable across a thread hop where only one side touches it.
struct UnsafeSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
