import CZooKeeper
import Logging
import Synchronization

/// The session watcher's context: turns the C client's session events into `ConnectionState`s, remembers the
/// session's credentials while the handle is valid, and broadcasts states to every subscriber.
final class SessionEvents: Sendable {
    private struct State {
        var current: ConnectionState = .connecting
        var everConnected = false
        var credentials: SessionCredentials?
        var negotiatedTimeoutMillis: Int32 = 0
        var nextSubscriber: UInt64 = 0
        var subscribers: [UInt64: AsyncStream<ConnectionState>.Continuation] = [:]
    }

    private let state = Mutex(State())
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    var current: ConnectionState { state.withLock { $0.current } }
    var credentials: SessionCredentials? { state.withLock { $0.credentials } }
    var negotiatedTimeoutMillis: Int32 { state.withLock { $0.negotiatedTimeoutMillis } }

    /// A new stream that starts with the current state and ends after a terminal one.
    func stream() -> AsyncStream<ConnectionState> {
        let (stream, continuation) = AsyncStream.makeStream(of: ConnectionState.self)
        let id: UInt64? = state.withLock { state in
            continuation.yield(state.current)
            if state.current.isTerminal { return nil }
            let id = state.nextSubscriber
            state.nextSubscriber += 1
            state.subscribers[id] = continuation
            return id
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Called on the C completion thread for every session event of the handle.
    func received(cState: Int32, handle: OpaquePointer?) {
        let next: ConnectionState?
        var credentials: SessionCredentials?
        var timeout: Int32 = 0
        if cState == czk_state_connected(), let handle, let id = zoo_client_id(handle) {
            let password = withUnsafeBytes(of: id.pointee.passwd) { Array($0) }
            credentials = SessionCredentials(id: id.pointee.client_id, password: password)
            timeout = zoo_recv_timeout(handle)
        }
        next = state.withLock { state -> ConnectionState? in
            if state.current.isTerminal { return nil }
            if let credentials {
                state.credentials = credentials
                state.negotiatedTimeoutMillis = timeout
            }
            switch cState {
            case czk_state_connected():
                if !state.everConnected {
                    state.everConnected = true
                    return .connected
                }
                return state.current == .suspended ? .reconnected : nil
            case czk_state_connecting(), czk_state_associating():
                return state.current.isConnected ? .suspended : nil
            case czk_state_expired():
                return .expired
            case czk_state_auth_failed():
                return .authFailed
            default:
                return nil
            }
        }
        if let next { transition(to: next) }
    }

    /// Moves to `next` and tells every subscriber; a terminal state ends their streams.
    func transition(to next: ConnectionState) {
        let subscribers: [AsyncStream<ConnectionState>.Continuation]? = state.withLock { state in
            if state.current.isTerminal || state.current == next { return nil }
            state.current = next
            let subscribers = Array(state.subscribers.values)
            if next.isTerminal { state.subscribers = [:] }
            return subscribers
        }
        guard let subscribers else { return }
        if next == .connected || next == .reconnected || next == .closed {
            logger.debug("ZooKeeper connection \(next)")
        } else {
            logger.info("ZooKeeper connection \(next)")
        }
        for subscriber in subscribers {
            subscriber.yield(next)
            if next.isTerminal { subscriber.finish() }
        }
    }
}

/// The watcher given to `zookeeper_init`: its context is the handle's `SessionEvents`.
func onSessionEvent(
    _ handle: OpaquePointer?, _ type: Int32, _ cState: Int32, _ path: UnsafePointer<CChar>?,
    _ context: UnsafeMutableRawPointer?
) {
    guard type == czk_event_session(), let context else { return }
    Unmanaged<SessionEvents>.fromOpaque(context).takeUnretainedValue().received(cState: cState, handle: handle)
}
