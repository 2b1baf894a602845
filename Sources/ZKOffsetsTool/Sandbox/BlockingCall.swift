import ZKOffsets
import Foundation

/// Runs a blocking call (sockets, waiting for a process) on a thread of its own, never on the cooperative pool.
func blockingCall<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try work() })
        }
    }
}
