/// How a `ZooKeeperClient` connects.
public struct ZooKeeperConfiguration: Sendable {
    /// Where to connect: `host:port[,host:port...][/chroot]`.
    public var connectString: String
    /// The session timeout the client asks for; the server clamps it to its own bounds (by default 2 to 20
    /// ticks, 4 s to 40 s). `ZooKeeperClient.negotiatedSessionTimeout` says what was granted.
    public var sessionTimeout: Duration
    /// How long `connect` waits for the first session before it fails with `connectTimeout`.
    public var connectTimeout: Duration
    /// Resume this existing session instead of starting a new one.
    public var session: SessionCredentials?
    /// Credentials added right after connecting, as `addAuth` would (for example `("digest", "user:password")`).
    public var authentication: [(scheme: String, credentials: String)]
    /// The ACL of every znode this client creates without naming one (`create`, `ensurePath`, a transaction's
    /// `create`); an explicit `acl:` always wins. nil (the default) follows Kafka's `zookeeper.set.acl`:
    /// creator-all plus world-read when `authentication` holds credentials (other tools still read, nobody else
    /// writes), open to everyone otherwise. `resolvedDefaultACL` says which.
    public var defaultACL: [ACL]?
    /// Znodes created open to everyone whatever `defaultACL` says: shared parents that other principals must
    /// create in. By default `/consumers`, as Kafka's `zookeeper.set.acl` leaves it, so that groups with other
    /// credentials (or none) can still be created beside ours; each group's own znodes get the default.
    public var openPaths: Set<String> = ["/consumers"]

    /// A configuration for `connectString`; a session of 10 s, 10 s to connect, no credentials, Kafka's default
    /// ACLs (`resolvedDefaultACL`). Nothing is checked until `ZooKeeperClient.connect`.
    public init(
        connectString: String,
        sessionTimeout: Duration = .seconds(10),
        connectTimeout: Duration = .seconds(10),
        session: SessionCredentials? = nil,
        authentication: [(scheme: String, credentials: String)] = [],
        defaultACL: [ACL]? = nil
    ) {
        self.connectString = connectString
        self.sessionTimeout = sessionTimeout
        self.connectTimeout = connectTimeout
        self.session = session
        self.authentication = authentication
        self.defaultACL = defaultACL
    }

    /// The ACL creates get when they name none: `defaultACL`, else creator-all + world-read with credentials,
    /// else open.
    public var resolvedDefaultACL: [ACL] {
        defaultACL ?? (authentication.isEmpty ? .openUnsafe : .creatorAllWorldRead)
    }
}

/// A session's id and password: what it takes to resume (or, in tests, to take over and expire) a session.
public struct SessionCredentials: Sendable, Hashable {
    /// The session id; ephemeral znodes carry it as `ephemeralOwner`.
    public var id: Int64
    /// The 16-byte session password.
    public var password: [UInt8]

    /// Credentials of an existing session, as `ZooKeeperClient.session` gives them.
    public init(id: Int64, password: [UInt8]) {
        self.id = id
        self.password = password
    }
}
