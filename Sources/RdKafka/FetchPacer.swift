/// Decides when librdkafka's fetchers must be woken because the application drained a queue they stopped
/// filling.
///
/// librdkafka 2.0.2 stops fetching while the consumer queue holds `queued.min.messages` messages or
/// `queued.max.messages.kbytes`, and its broker threads look at the queue again only when something else wakes
/// them, at the latest on their one-second tick (2.1 made this `fetch.queue.backoff.ms`, default still one
/// second). A consumer faster than that tick then reads a queue's worth and idles for the rest of the second:
/// one run in five of the consume benchmark fell from ~2 M to ~0.6 M msgs/s. The pacer watches the queue at
/// every poll: once it was at half a limit or more (the fetchers may have stopped) and has been drained below
/// half, it asks for one wake-up, so that the next fetch goes out before the application runs dry.
///
/// Pure bookkeeping, no I/O: `RDKafkaConsumer` feeds it after each poll and sends the wake-up.
struct FetchPacer: Sendable {
    /// `queued.min.messages`: the queue length at which librdkafka stops fetching.
    let messageLimit: Int
    /// `queued.max.messages.kbytes` in bytes: the queued payload at which librdkafka stops fetching.
    let byteLimit: Int

    /// Payload bytes per message, averaged over what was polled (the queue's length is known, its bytes are not).
    private(set) var averageMessageBytes: Double = 0
    /// The queue was near a limit since the last wake-up: the fetchers may be waiting for their tick.
    private(set) var fetchersMayHaveStopped = false

    init(messageLimit: Int, byteLimit: Int) {
        self.messageLimit = max(1, messageLimit)
        self.byteLimit = max(1, byteLimit)
    }

    /// Records one poll that took `polled` messages of `polledBytes` payload bytes and left `remaining` queued;
    /// returns whether the fetchers should be woken now.
    mutating func shouldWake(polled: Int, polledBytes: Int, remaining: Int) -> Bool {
        if polled > 0 {
            let sample = Double(polledBytes) / Double(polled)
            averageMessageBytes = averageMessageBytes == 0 ? sample : averageMessageBytes * 0.8 + sample * 0.2
        }
        // Half a limit: the queue is only seen between polls, and a fetch response may have filled it past the
        // limit while the previous batch was being handed out.
        if isAbove(fraction: 0.5, queued: polled + remaining) { fetchersMayHaveStopped = true }
        guard fetchersMayHaveStopped, !isAbove(fraction: 0.5, queued: remaining) else { return false }
        fetchersMayHaveStopped = false
        return true
    }

    private func isAbove(fraction: Double, queued: Int) -> Bool {
        Double(queued) >= fraction * Double(messageLimit)
            || Double(queued) * averageMessageBytes >= fraction * Double(byteLimit)
    }
}
