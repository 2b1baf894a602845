import CZooKeeper
import Glibc

/// A C `ACL_vector` built from Swift ACLs; owns its memory until `deinit`.
/// The presets the C library exports are used directly when they match.
final class CACLVector {
    private(set) var pointer: UnsafeMutablePointer<ACL_vector>
    private let owned: Bool

    init(_ acl: [ACL]) {
        if acl == .openUnsafe {
            pointer = czk_open_acl_unsafe()
            owned = false
            return
        }
        if acl == .creatorAll {
            pointer = czk_creator_all_acl()
            owned = false
            return
        }
        let entries = UnsafeMutablePointer<CZooKeeper.ACL>.allocate(capacity: max(acl.count, 1))
        for (index, entry) in acl.enumerated() {
            entries[index] = CZooKeeper.ACL(
                perms: entry.permissions.rawValue,
                id: Id(scheme: strdup(entry.scheme), id: strdup(entry.id))
            )
        }
        pointer = .allocate(capacity: 1)
        pointer.initialize(to: ACL_vector(count: Int32(acl.count), data: entries))
        owned = true
    }

    deinit {
        guard owned else { return }
        for index in 0..<Int(pointer.pointee.count) {
            free(pointer.pointee.data[index].id.scheme)
            free(pointer.pointee.data[index].id.id)
        }
        pointer.pointee.data.deallocate()
        pointer.deallocate()
    }
}
