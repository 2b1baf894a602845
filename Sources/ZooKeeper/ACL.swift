/// One entry of a znode's access control list: who (scheme and id) may do what (permissions).
public struct ACL: Sendable, Hashable {
    /// What an ACL entry allows, as a bit set.
    public struct Permissions: OptionSet, Sendable, Hashable {
        /// The bits as ZooKeeper numbers them (`ZOO_PERM_*`).
        public let rawValue: Int32
        /// Permissions from ZooKeeper's bits; unknown bits are kept.
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// Read the data and list the children.
        public static let read = Permissions(rawValue: 1 << 0)
        /// Set the data.
        public static let write = Permissions(rawValue: 1 << 1)
        /// Create children.
        public static let create = Permissions(rawValue: 1 << 2)
        /// Delete children.
        public static let delete = Permissions(rawValue: 1 << 3)
        /// Set the ACL.
        public static let admin = Permissions(rawValue: 1 << 4)
        /// Every permission.
        public static let all: Permissions = [.read, .write, .create, .delete, .admin]
    }

    /// What the identity may do.
    public var permissions: Permissions
    /// The authentication scheme: `world`, `auth`, `digest`, `ip`, `sasl` ...
    public var scheme: String
    /// The identity within the scheme: `anyone` for world, `user:base64(sha1(user:password))` for digest.
    public var id: String

    /// An entry granting `permissions` to `id` of `scheme`; nothing is checked until a server applies it.
    public init(permissions: Permissions, scheme: String, id: String) {
        self.permissions = permissions
        self.scheme = scheme
        self.id = id
    }

    /// Everyone may read.
    public static func worldRead() -> ACL { ACL(permissions: .read, scheme: "world", id: "anyone") }
    /// Everyone may do everything.
    public static func worldAll() -> ACL { ACL(permissions: .all, scheme: "world", id: "anyone") }
    /// Everything for the identities the creating session has authenticated as (`auth` scheme).
    public static func creatorAll() -> ACL { ACL(permissions: .all, scheme: "auth", id: "") }
    /// A digest identity, `user:base64(sha1(user:password))`, with the given permissions.
    public static func digest(_ id: String, permissions: Permissions) -> ACL {
        ACL(permissions: permissions, scheme: "digest", id: id)
    }
}

extension Array where Element == ACL {
    /// World read and write: ZooKeeper's `OPEN_ACL_UNSAFE`, what most tools (and Kafka 0.8) use.
    public static let openUnsafe: [ACL] = [.worldAll()]
    /// Everything for the creator's authenticated identities; the session must have authenticated first.
    public static let creatorAll: [ACL] = [.creatorAll()]
    /// Read for everyone, everything for the creator's authenticated identities.
    public static let creatorAllWorldRead: [ACL] = [.creatorAll(), .worldRead()]
}
