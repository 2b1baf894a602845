import Testing

/// Polls `condition` until it holds; fails the test after `timeout`. For conditions with no event to wait on (a
/// subprocess's output, a znode written by another process, the server's view of watches); never a fixed sleep.
public func eventually(
    timeout: Duration = .seconds(30), _ what: @autoclosure () -> String, _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("timed out waiting for: \(what())")
    throw CancellationError()
}
