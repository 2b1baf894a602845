import BlockingCalls
import CZooKeeper
import Synchronization

/// A watch that re-arms itself: after every change it reads the znode again (which sets the next watch) and
/// yields what it read. It ends when the stream's consumer stops, when the client closes, or with
/// `sessionExpired` when the session that held the watch expires. A read lost with the connection is sent
/// again once the client is connected (the C client restores registered watches itself).
///
/// When the stream ends, its watcher is taken out of the C client and the server (`ZooKeeperHandle.removeWatch`)
/// once no arming read is in flight (a read in flight registers a watcher when it completes), and the handle
/// forgets this object only after that, so the C client never calls a freed context.
final class NodeWatch: Sendable {
    enum Kind: Sendable {
        /// Yields the data (nil while the znode does not exist).
        case data(AsyncThrowingStream<NodeData?, any Error>.Continuation)
        /// Yields the sorted child names; ends with `noNode` when the znode does not exist.
        case children(AsyncThrowingStream<[String], any Error>.Continuation)
    }

    let path: String
    private let kind: Kind
    private unowned let handle: ZooKeeperHandle
    private struct State {
        var finished = false
        /// The re-arming read failed with the connection: read again once connected.
        var lost = false
        /// Arming requests outstanding: each may register a watcher in the C client when it completes.
        var inFlight = 0
        /// A removal (or its barrier) is outstanding, or removal gave up until close.
        var removing = false
        /// The removal failed with the connection: send it again once connected.
        var removalLost = false
    }

    private let state = Mutex(State())

    init(path: String, kind: Kind, handle: ZooKeeperHandle) {
        self.path = path
        self.kind = kind
        self.handle = handle
    }

    private var context: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    /// The C watcher type of this watch, for removal.
    var watchType: ZooWatcherType {
        switch kind {
        case .data: ZWATCHTYPE_DATA
        case .children: ZWATCHTYPE_CHILD
        }
    }

    var isFinished: Bool { state.withLock { $0.finished } }

    /// Counts an arming request about to be sent, unless the watch has ended.
    private func beginArming() -> Bool {
        state.withLock { state in
            if state.finished { return false }
            state.inFlight += 1
            return true
        }
    }

    /// An arming request completed: when the watch has ended meanwhile, its watcher may now be removed.
    private func endArming() {
        state.withLock { $0.inFlight -= 1 }
        settle()
    }

    /// Reads the znode and sets the next watch.
    func arm() {
        guard beginArming() else { return }
        let context = UnsafeSendable(self.context)
        switch kind {
        case .data:
            handle.start(path: path, deliver: { [self] in endArming(); receivedData($0) }) { zh, request in
                path.withCString { zoo_awget(zh, $0, onWatchEvent, context.value, onDataCompletion, request) }
            }
        case .children:
            handle.start(path: path, deliver: { [self] in endArming(); receivedChildren($0) }) { zh, request in
                path.withCString {
                    zoo_awget_children2(zh, $0, onWatchEvent, context.value, onChildrenCompletion, request)
                }
            }
        }
    }

    /// The znode is absent: watch for its creation.
    private func armExists() {
        guard beginArming() else { return }
        let context = UnsafeSendable(self.context)
        handle.start(path: path, deliver: { [self] completion in
            endArming()
            switch completion.rc {
            case ZNONODE.rawValue: yieldData(nil)
            case ZOK.rawValue: arm()  // created in between: read it
            default: failed(completion)
            }
        }) { zh, request in
            path.withCString { zoo_awexists(zh, $0, onWatchEvent, context.value, onStatCompletion, request) }
        }
    }

    private func receivedData(_ completion: Completion) {
        switch completion {
        case .data(let rc, let bytes, let stat) where rc.isZOK:
            yieldData(NodeData(bytes: bytes, stat: stat ?? ZNodeStat()))
        case .data(let rc, _, _) where rc == ZNONODE.rawValue:
            armExists()
        default:
            failed(completion)
        }
    }

    private func receivedChildren(_ completion: Completion) {
        switch completion {
        case .children(let rc, let names, _) where rc.isZOK:
            if case .children(let continuation) = kind, !state.withLock({ $0.finished }) {
                continuation.yield(names.sorted())
            }
        default:
            failed(completion)
        }
    }

    /// A re-arming read failed: retry after a connection problem, end the stream otherwise.
    private func failed(_ completion: Completion) {
        let error: ZooKeeperError =
            if case .failed(let error) = completion { error } else { handle.error(completion.rc, path: path) }
        guard error.code == .connectionLoss || error.code == .operationTimeout else {
            finish(throwing: error)
            return
        }
        state.withLock { $0.lost = true }
        // If the client reconnected before this failure arrived, no reconnect will come to re-arm it.
        if handle.events.current.isConnected { rearmIfLost() }
    }

    /// Reads again if the last read was lost with the connection; sends a lost removal again.
    func rearmIfLost() {
        let (wasLost, removalLost) = state.withLock { state in
            defer {
                state.lost = false
                state.removalLost = false
            }
            return (state.lost && !state.finished, state.removalLost)
        }
        if wasLost { arm() }
        if removalLost { settle() }
    }

    private func yieldData(_ data: NodeData?) {
        if case .data(let continuation) = kind, !state.withLock({ $0.finished }) {
            continuation.yield(data)
        }
    }

    /// Called by the C client for this watch and for every session event.
    func fired(type: Int32, cState: Int32) {
        if type == czk_event_session() {
            if cState == czk_state_expired() {
                finish(throwing: ZooKeeperError(code: .sessionExpired, path: path))
            } else if cState == czk_state_auth_failed() {
                finish(throwing: ZooKeeperError(code: .authFailed, path: path))
            }
            return  // other session events: the C client restores watches after reconnecting
        }
        if type == czk_event_not_watching() {
            finish(throwing: ZooKeeperError(code: .connectionLoss, path: path, message: "the server dropped the watch"))
            return
        }
        arm()
    }

    /// Ends the stream (once); the C client may still call `fired`, which then does nothing.
    func finish(throwing error: ZooKeeperError?) {
        let wasFinished = state.withLock { state in
            defer { state.finished = true }
            return state.finished
        }
        guard !wasFinished else { return }
        switch kind {
        case .data(let continuation): continuation.finish(throwing: error)
        case .children(let continuation): continuation.finish(throwing: error)
        }
    }

    /// The consumer stopped iterating: stop re-arming, and take the watcher out of the C client and the server.
    func cancel() {
        finish(throwing: nil)
        settle()
    }

    /// Starts the removal once the watch has ended and no arming request is in flight.
    private func settle() {
        let start = state.withLock { state in
            guard state.finished, state.inFlight == 0, !state.removing, !state.removalLost else { return false }
            state.removing = true
            return true
        }
        guard start else { return }
        handle.removeWatch(self, context: context) { [self] completion in removed(completion) }
    }

    private func removed(_ completion: Completion) {
        let rc = completion.rc
        if rc == ZOK.rawValue {
            // The C client deregistered the watcher before queueing this completion; anything it queued for the
            // watcher earlier has run.
            handle.release(self)
        } else if rc == ZNOWATCHER.rawValue {
            // Not registered (it fired, or no read ever set it): a call the C client queued earlier may still be
            // on its way; the barrier's completion comes after it.
            handle.barrier(path: path) { [self] barrier in
                if case .failed = barrier { return }  // closing: close forgets every watch
                handle.release(self)
            }
        } else if rc == ZCONNECTIONLOSS.rawValue || rc == ZOPERATIONTIMEOUT.rawValue {
            state.withLock {
                $0.removing = false
                $0.removalLost = true
            }
            if handle.events.current.isConnected { rearmIfLost() }
        }
        // Anything else (expired, closing): the watcher stays registered; close forgets it.
    }
}

func onWatchEvent(
    _ handle: OpaquePointer?, _ type: Int32, _ cState: Int32, _ path: UnsafePointer<CChar>?,
    _ context: UnsafeMutableRawPointer?
) {
    guard let context else { return }
    Unmanaged<NodeWatch>.fromOpaque(context).takeUnretainedValue().fired(type: type, cState: cState)
}
