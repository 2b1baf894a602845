import CZooKeeper

/// What a C completion delivered, copied out of C memory on the completion thread (C frees it on return).
enum Completion: Sendable {
    case void(rc: Int32)
    case stat(rc: Int32, ZNodeStat?)
    case data(rc: Int32, bytes: [UInt8], stat: ZNodeStat?)
    case string(rc: Int32, String?)
    case children(rc: Int32, names: [String], stat: ZNodeStat?)
    case acl(rc: Int32, [ACL], stat: ZNodeStat?)
    /// The request never reached the server or its completion was dropped (closing, expired session).
    case failed(ZooKeeperError)

    var rc: Int32 {
        switch self {
        case .void(let rc), .stat(let rc, _), .data(let rc, _, _), .string(let rc, _), .children(let rc, _, _),
            .acl(let rc, _, _):
            rc
        case .failed(let error): error.code.rawValue
        }
    }
}

/// A request handed to the C client: its context pointer is this object (unretained: the handle's pending
/// table keeps it alive until its completion runs, or until close fails it).
final class PendingRequest: Sendable {
    let id: UInt64
    let deliver: @Sendable (Completion) -> Void
    unowned let handle: ZooKeeperHandle

    init(id: UInt64, handle: ZooKeeperHandle, deliver: @escaping @Sendable (Completion) -> Void) {
        self.id = id
        self.handle = handle
        self.deliver = deliver
    }
}

private func finish(_ context: UnsafeRawPointer?, _ completion: Completion) {
    guard let context else { return }
    let request = Unmanaged<PendingRequest>.fromOpaque(context).takeUnretainedValue()
    request.handle.complete(request.id, completion)
}

// The C completion functions. They run on the C client's single completion thread: copy and hand off.

func onVoidCompletion(_ rc: Int32, _ context: UnsafeRawPointer?) {
    finish(context, .void(rc: rc))
}

func onStatCompletion(_ rc: Int32, _ stat: UnsafePointer<Stat>?, _ context: UnsafeRawPointer?) {
    finish(context, .stat(rc: rc, ZNodeStat(stat)))
}

func onDataCompletion(
    _ rc: Int32, _ value: UnsafePointer<CChar>?, _ length: Int32, _ stat: UnsafePointer<Stat>?,
    _ context: UnsafeRawPointer?
) {
    finish(context, .data(rc: rc, bytes: copyBytes(value, length), stat: ZNodeStat(stat)))
}

func onStringCompletion(_ rc: Int32, _ value: UnsafePointer<CChar>?, _ context: UnsafeRawPointer?) {
    finish(context, .string(rc: rc, value.map { String(cString: $0) }))
}

func onChildrenCompletion(
    _ rc: Int32, _ names: UnsafePointer<String_vector>?, _ stat: UnsafePointer<Stat>?, _ context: UnsafeRawPointer?
) {
    finish(context, .children(rc: rc, names: copyStrings(names), stat: ZNodeStat(stat)))
}

func onACLCompletion(
    _ rc: Int32, _ acl: UnsafeMutablePointer<ACL_vector>?, _ stat: UnsafeMutablePointer<Stat>?,
    _ context: UnsafeRawPointer?
) {
    var entries: [ACL] = []
    if let acl, let data = acl.pointee.data {
        for index in 0..<Int(max(acl.pointee.count, 0)) {
            let entry = data[index]
            entries.append(
                ACL(
                    permissions: ACL.Permissions(rawValue: entry.perms),
                    scheme: entry.id.scheme.map { String(cString: $0) } ?? "",
                    id: entry.id.id.map { String(cString: $0) } ?? ""
                )
            )
        }
    }
    finish(context, .acl(rc: rc, entries, stat: ZNodeStat(stat.map { UnsafePointer($0) })))
}
