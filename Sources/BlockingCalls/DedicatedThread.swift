import Foundation

/// Runs a blocking call on a new thread of its own and suspends the caller until it returns.
///
/// Blocking C calls (`zookeeper_init`, `zookeeper_close`, librdkafka's metadata, flush and destroy, a socket
/// read) hold their thread for up to their timeout: on Swift's cooperative pool (two threads on these machines)
/// that would stall every task. A thread per call costs tens of microseconds, nothing next to a network round
/// trip, and lets independent calls run in parallel. The thread is named `name` for debuggers and `top -H`.
///
/// What `body` throws is thrown to the caller with its type; a `body` that cannot fail makes a call that needs
/// no `try`.
package func runOnDedicatedThread<Result: Sendable, Failure: Error>(
    name: String, _ body: @escaping @Sendable () throws(Failure) -> Result
) async throws(Failure) -> Result {
    let outcome: Swift.Result<Result, Failure> = await withCheckedContinuation { continuation in
        let thread = Thread {
            continuation.resume(returning: Swift.Result { () throws(Failure) -> Result in try body() })
        }
        thread.name = name
        thread.start()
    }
    return try outcome.get()
}
