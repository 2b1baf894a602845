import BlockingCalls
import CZooKeeper
import Dispatch
import Glibc
import Logging
import Synchronization

/// Owns one `zhandle_t` and every request in flight on it.
///
/// The C client drops completions when it is closed and frees the handle, so every request is registered in
/// `pending` before it is submitted, submissions happen under the lock that `close` takes before freeing the
/// handle, and whatever is still pending after `zookeeper_close` returns is failed with `closing`.
///
/// Two locks, never the other way round: `submission` is held across C calls (so close cannot free the handle
/// under a caller) and is never taken by a completion; `registry` is only taken briefly, by completions too.
/// One lock for both deadlocks: the C client runs some completions (those of `zoo_add_auth`) on its I/O thread
/// while holding its own handle lock, which every `zoo_a*` call also takes.
final class ZooKeeperHandle: Sendable {
    // @unchecked: the C handle pointer is only used while the `submission` mutex is held.
    private struct Submission: @unchecked Sendable {
        var handle: OpaquePointer?
        var closing = false
    }

    private struct Registry {
        var nextID: UInt64 = 0
        var pending: [UInt64: PendingRequest] = [:]
        /// Watch contexts stay alive while the C client may call them: until their watcher is removed from it
        /// (`removeWatch`, then `release`), or until close.
        var watches: [ObjectIdentifier: NodeWatch] = [:]
    }

    /// Declared before the locks on purpose: the C handle's watcher context must outlive the C handle.
    let events: SessionEvents
    let logger: Logger
    private let submission: Mutex<Submission>
    private let registry = Mutex(Registry())
    private let sessionContext: Unmanaged<SessionEvents>
    /// Left when close has failed every leftover request; a second `close` waits for it.
    private let closed = DispatchGroup()

    private init(handle: OpaquePointer, events: SessionEvents, sessionContext: Unmanaged<SessionEvents>, logger: Logger) {
        self.events = events
        self.logger = logger
        self.sessionContext = sessionContext
        self.submission = Mutex(Submission(handle: handle))
        closed.enter()
    }

    /// How often the C client re-resolves the servers' names while connected (`zoo_set_servers_resolution_delay`).
    static let resolutionDelayMillis: Int32 = 1_000

    /// Starts the C client for `connectString` (it connects in the background; `events` reports when), by
    /// `deadline`. `zookeeper_init` resolves every host name first, blocking: it runs on a thread of its own,
    /// and a name that does not resolve is tried again until the deadline, as an unreachable server is. Past the
    /// deadline: `connectTimeout` naming the servers (a late handle is closed on its own thread).
    static func open(
        connectString: ConnectString, sessionTimeout: Duration, session: SessionCredentials?,
        deadline: ContinuousClock.Instant, logger: Logger
    ) async throws(ZooKeeperError) -> ZooKeeperHandle {
        CLogging.configureOnce()
        let hosts = connectString.description
        let timeoutMillis = Int32(clamping: sessionTimeout.milliseconds)
        var attempt = 0
        while true {
            let events = SessionEvents(logger: logger)
            let context = Unmanaged.passRetained(events)
            let opaqueContext = UnsafeSendable(context.toOpaque())
            let created = await BlockingThread.run("zookeeper-init", deadline: deadline) {
                () -> UnsafeSendable<(OpaquePointer?, Int32)> in
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
                // By default the C client resolves every server name again each time its I/O thread looks at the
                // socket: getaddrinfo, a netlink dump and a /dev/urandom read for every pipelined request, about a
                // quarter of the CPU of reading 5,000 znodes. Once a second is plenty for DNS changes; a lost
                // connection still resolves at once.
                if let handle { zoo_set_servers_resolution_delay(handle, Self.resolutionDelayMillis) }
                return UnsafeSendable((handle, errno))
            } abandoned: { late in
                // The caller gave up at its deadline; this runs on the init thread, where blocking is fine.
                if let handle = late.value.0 { zookeeper_close(handle) }
                context.release()
            }
            guard let created else {
                throw ZooKeeperError(
                    code: .connectTimeout,
                    message: "no ZooKeeper server at \(hosts) answered in time: resolving the servers' names did not finish"
                )
            }
            if let handle = created.value.0 {
                return opened(handle, events: events, context: context, logger: logger)
            }
            context.release()
            let error = created.value.1
            // zookeeper_init fails with EINVAL when no host name resolves (getaddrinfo's answers are mapped so).
            guard error == EINVAL || error == ENOENT || error == EAGAIN else {
                throw ZooKeeperError(
                    code: .systemError, message: "the ZooKeeper C client could not start for '\(hosts)' (errno \(error))"
                )
            }
            attempt += 1
            let pause = Duration.milliseconds(100 * (1 << min(attempt, 4)))
            guard ContinuousClock.now + pause < deadline else {
                throw ZooKeeperError(
                    code: .connectTimeout,
                    message: "no ZooKeeper server at \(hosts) answered in time: no host name resolved (\(attempt) tries)"
                )
            }
            try? await Task.sleep(for: pause)
            if Task.isCancelled {
                throw ZooKeeperError(code: .closing, message: "connecting to \(hosts) was cancelled")
            }
        }
    }

    private static func opened(
        _ handle: OpaquePointer, events: SessionEvents, context: Unmanaged<SessionEvents>, logger: Logger
    ) -> ZooKeeperHandle {
        let opened = ZooKeeperHandle(handle: handle, events: events, sessionContext: context, logger: logger)
        // Ends with the session (the stream finishes after a terminal state).
        Task {
            for await state in events.stream() where state == .reconnected {
                opened.rearmWatchesAfterReconnect()
            }
        }
        return opened
    }

    // MARK: Submitting requests

    /// Registers a request and submits it with `call`, under the lock that keeps the handle alive.
    /// `deliver` runs exactly once: with the completion, or with the reason it never reached the server.
    func start(
        path: String?, deliver: @escaping @Sendable (Completion) -> Void,
        _ call: (OpaquePointer, UnsafeRawPointer) -> Int32
    ) {
        let failure: ZooKeeperError? = submission.withLock { submission in
            guard let handle = submission.handle, !submission.closing else {
                return ZooKeeperError(code: .closing, path: path)
            }
            let request = registry.withLock { registry in
                let request = PendingRequest(id: registry.nextID, handle: self, deliver: deliver)
                registry.nextID += 1
                registry.pending[request.id] = request
                return request
            }
            let rc = call(handle, UnsafeRawPointer(Unmanaged.passUnretained(request).toOpaque()))
            if rc.isZOK { return nil }
            _ = registry.withLock { $0.pending.removeValue(forKey: request.id) }
            // The C state is the truth: after an expiry some calls return ZINVALIDSTATE, zoo_amulti even
            // ZMARSHALLINGERROR, and our own session event may not have arrived yet.
            return error(rc, path: path, cState: zoo_state(handle))
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
        let request = registry.withLock { $0.pending.removeValue(forKey: id) }
        request?.deliver(completion)
    }

    /// The error for a C return code, reading "invalid state" (or any code, when the C state says the handle is
    /// dead) as what made the handle unusable.
    func error(_ rc: Int32, path: String?, index: Int? = nil, cState: Int32? = nil) -> ZooKeeperError {
        var code = ZooKeeperError.Code(rc)
        if cState == czk_state_expired() {
            code = .sessionExpired
        } else if cState == czk_state_auth_failed() {
            code = .authFailed
        } else if code == .invalidState {
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
        submission.withLock { submission in
            guard !submission.closing else { return false }
            registry.withLock { $0.watches[ObjectIdentifier(watch)] = watch }
            return true
        }
    }

    /// After a reconnect: watches whose re-arming read was lost with the connection read again.
    func rearmWatchesAfterReconnect() {
        for watch in registry.withLock({ Array($0.watches.values) }) { watch.rearmIfLost() }
    }

    /// How many watches this handle keeps (ended ones until their watcher is out of the C client).
    var watchCount: Int { registry.withLock { $0.watches.count } }

    /// Takes an ended watch's watcher out of the C client and the server: all of this session's watches of that
    /// kind on the path when no other live watch of ours needs them (REMOVE_WATCHES: the server forgets them),
    /// only ours otherwise. The decision and the submission happen under the submission lock, so a watch that
    /// starts on the same path meanwhile is either counted or sent after the removal. `completed` gets the result.
    func removeWatch(_ watch: NodeWatch, context: UnsafeMutableRawPointer, completed: @escaping @Sendable (Completion) -> Void) {
        let context = UnsafeSendable(context)
        start(path: watch.path, deliver: completed) { zh, request in
            let othersNeedIt = registry.withLock { registry in
                registry.watches.values.contains {
                    $0 !== watch && $0.path == watch.path && $0.watchType == watch.watchType && !$0.isFinished
                }
            }
            return watch.path.withCString { path in
                othersNeedIt
                    ? zoo_aremove_watches(
                        zh, path, watch.watchType, onWatchEvent, context.value, 0, removeWatchesCompletion(), request)
                    : zoo_aremove_all_watches(zh, path, watch.watchType, 0, removeWatchesCompletion(), request)
            }
        }
    }

    /// Sends a request whose completion comes after every watcher call the C client queued before it (one
    /// completion thread, in order): after it, a watcher no longer registered is never called again.
    func barrier(path: String, completed: @escaping @Sendable (Completion) -> Void) {
        start(path: path, deliver: completed) { zh, request in
            path.withCString { zoo_aexists(zh, $0, 0, onStatCompletion, request) }
        }
    }

    /// Forgets a watch whose watcher the C client no longer holds.
    func release(_ watch: NodeWatch) {
        _ = registry.withLock { $0.watches.removeValue(forKey: ObjectIdentifier(watch)) }
    }

    // MARK: Closing

    var isClosing: Bool { submission.withLock { $0.closing } }

    /// Closes the C handle and fails every request whose completion the C client dropped. Blocks: call it
    /// from a thread of its own, never from a callback or the cooperative pool. A second call waits for the first.
    func closeBlocking() {
        let handle: OpaquePointer? = submission.withLock { submission in
            if submission.closing { return nil }
            submission.closing = true
            return submission.handle
        }
        guard let handle else {
            closed.wait()
            return
        }
        zookeeper_close(handle)
        submission.withLock { $0.handle = nil }
        let (leftovers, watches) = registry.withLock { registry in
            let leftovers = Array(registry.pending.values)
            registry.pending = [:]
            let watches = Array(registry.watches.values)
            registry.watches = [:]
            return (leftovers, watches)
        }
        for request in leftovers.sorted(by: { $0.id < $1.id }) {
            request.deliver(.failed(ZooKeeperError(code: .closing)))
        }
        for watch in watches { watch.finish(throwing: ZooKeeperError(code: .closing, path: watch.path)) }
        events.transition(to: .closed)
        sessionContext.release()
        closed.leave()
    }
}

/// zookeeper.h declares the remove-watches completion as `void_completion_t *`, but the C client stores that
/// pointer and calls it as the function itself (zookeeper.c: `c->c.void_result = (void_completion_t)dc`): pass
/// the function, retyped.
func removeWatchesCompletion() -> UnsafeMutablePointer<void_completion_t?> {
    unsafeBitCast(onVoidCompletion as void_completion_t, to: UnsafeMutablePointer<void_completion_t?>.self)
}
