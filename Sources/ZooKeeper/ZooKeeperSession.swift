import BlockingCalls
import Logging
import Synchronization

/// A ZooKeeper session that outlives its clients: what a long-running member of a group holds.
///
/// A `ZooKeeperClient` is bound to one session and unusable once that session expires. This type owns the current
/// client and, while `run()` runs, follows its connection: it publishes `suspended` and `reconnected`, and after
/// an expiry makes a new session (retrying with the retry policy's backoff until a server answers or the session
/// is closed) and publishes `newSession`. Ephemeral znodes and watches of the old session are gone by then:
/// whoever owned something through them must register and claim again.
public final class ZooKeeperSession: Sendable {
    /// What happened to the session.
    public enum Event: Sendable, Hashable, CustomStringConvertible {
        /// The connection was lost; the session may still be alive on the server (its ephemeral znodes in doubt).
        case suspended
        /// Connected again within the session timeout: the same session, nothing lost.
        case reconnected
        /// The server expired the session: its ephemeral znodes and watches are gone.
        case expired
        /// A new session replaced an expired one; `client` is the new client.
        case newSession(sessionID: Int64)
        /// `close()` was called.
        case closed

        /// The event's name, as logs show it.
        public var description: String {
            switch self {
            case .suspended: "suspended"
            case .reconnected: "reconnected"
            case .expired: "expired"
            case .newSession(let id): "new session 0x\(String(id, radix: 16))"
            case .closed: "closed"
            }
        }
    }

    private struct State {
        var client: ZooKeeperClient
        var suspendedSince: ContinuousClock.Instant?
        var closed = false
        var nextSubscriber: UInt64 = 0
        var subscribers: [UInt64: AsyncStream<Event>.Continuation] = [:]
    }

    /// How clients of this session are made.
    public let configuration: ZooKeeperConfiguration
    /// How a new session is retried after an expiry.
    public let retryPolicy: RetryPolicy
    private let logger: Logger
    private let state: Mutex<State>

    private init(client: ZooKeeperClient, configuration: ZooKeeperConfiguration, retryPolicy: RetryPolicy, logger: Logger) {
        self.configuration = configuration
        self.retryPolicy = retryPolicy
        self.logger = logger
        self.state = Mutex(State(client: client))
    }

    /// Connects the first session (failing as `ZooKeeperClient.connect` does).
    public static func connect(
        _ configuration: ZooKeeperConfiguration, retryPolicy: RetryPolicy = .default,
        logger: Logger = Logger(label: "zookeeper")
    ) async throws(ZooKeeperError) -> ZooKeeperSession {
        let client = try await ZooKeeperClient.connect(configuration, logger: logger)
        return ZooKeeperSession(client: client, configuration: configuration, retryPolicy: retryPolicy, logger: logger)
    }

    /// The client of the current session.
    public var client: ZooKeeperClient { state.withLock { $0.client } }

    /// Since when the connection has been lost, while it is (nil when connected).
    public var suspendedSince: ContinuousClock.Instant? { state.withLock { $0.suspendedSince } }

    /// Every event from now on; the stream ends after `closed`.
    public func events() -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self)
        let id: UInt64? = state.withLock { state in
            if state.closed { return nil }
            defer { state.nextSubscriber += 1 }
            state.subscribers[state.nextSubscriber] = continuation
            return state.nextSubscriber
        }
        guard let id else {
            continuation.yield(.closed)
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Follows the current client's connection and replaces an expired session, until `close()` or cancellation.
    public func run() async {
        while !Task.isCancelled {
            let client = self.client
            for await connection in client.connectionStates() {
                switch connection {
                case .suspended:
                    state.withLock { $0.suspendedSince = $0.suspendedSince ?? .now }
                    publish(.suspended)
                case .reconnected, .connected:
                    let wasSuspended = state.withLock { state in
                        defer { state.suspendedSince = nil }
                        return state.suspendedSince != nil
                    }
                    if wasSuspended { publish(.reconnected) }
                default:
                    break
                }
            }
            if Task.isCancelled || state.withLock({ $0.closed }) { return }
            switch client.state {
            case .expired:
                logger.info("ZooKeeper session expired; starting a new one")
                publish(.expired)
                guard let replacement = await newSession() else { return }
                let old = state.withLock { state in
                    defer { state.client = replacement; state.suspendedSince = nil }
                    return state.client
                }
                await old.close()
                publish(.newSession(sessionID: replacement.sessionID))
            case .authFailed:
                logger.info("ZooKeeper authentication failed; the session cannot be used")
                return
            default:
                return
            }
        }
    }

    /// Connects a new session, retrying with backoff; nil when closed or cancelled meanwhile.
    private func newSession() async -> ZooKeeperClient? {
        var attempt = 0
        while !Task.isCancelled && !state.withLock({ $0.closed }) {
            do {
                return try await ZooKeeperClient.connect(configuration, logger: logger)
            } catch {
                attempt += 1
                logger.info("no new ZooKeeper session yet; retrying", metadata: [LogKey.error: "\(error)", LogKey.attempt: "\(attempt)"])
                try? await Task.sleep(for: retryPolicy.delay(afterAttempt: attempt))
            }
        }
        return nil
    }

    /// Closes the current session (its ephemeral znodes go away) and ends `run()` and every event stream.
    public func close() async {
        let (client, subscribers) = state.withLock { state in
            state.closed = true
            defer { state.subscribers = [:] }
            return (state.client, Array(state.subscribers.values))
        }
        await client.close()
        for subscriber in subscribers {
            subscriber.yield(.closed)
            subscriber.finish()
        }
    }

    private func publish(_ event: Event) {
        for subscriber in state.withLock({ Array($0.subscribers.values) }) { subscriber.yield(event) }
    }
}
