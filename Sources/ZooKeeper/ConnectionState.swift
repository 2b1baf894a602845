/// The state of a client's connection and session, as applications react to it
/// (the states kazoo and Curator expose).
public enum ConnectionState: Sendable, Hashable, CustomStringConvertible {
    /// Looking for a server; nothing has connected yet.
    case connecting
    /// The session is established.
    case connected
    /// The connection was lost; the session may still be alive on the server. Requests wait or fail with
    /// connectionLoss; ephemeral znodes are in doubt until reconnected or expired.
    case suspended
    /// Connected again within the session timeout: same session, ephemeral znodes and watches kept.
    case reconnected
    /// The server expired the session: its ephemeral znodes and watches are gone. The client is unusable;
    /// make a new one.
    case expired
    /// Authentication was rejected; the client is unusable.
    case authFailed
    /// `close()` was called.
    case closed

    /// The state's name, as logs show it (`connected`, `suspended` ...).
    public var description: String {
        switch self {
        case .connecting: "connecting"
        case .connected: "connected"
        case .suspended: "suspended"
        case .reconnected: "reconnected"
        case .expired: "expired"
        case .authFailed: "auth failed"
        case .closed: "closed"
        }
    }

    /// Requests can be served in this state.
    public var isConnected: Bool { self == .connected || self == .reconnected }
    /// The client can never be used again in this state.
    public var isTerminal: Bool { self == .expired || self == .authFailed || self == .closed }
}
