import Foundation

/// Runs blocking C calls (`zookeeper_init`, `zookeeper_close`) on a thread of their own, so that they never
/// hold one of the few threads of Swift's cooperative pool.
enum BlockingThread {
    static func run<T: Sendable>(_ name: String, _ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: work())
            }
            thread.name = name
            thread.start()
        }
    }
}
