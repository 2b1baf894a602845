import Testing

@testable import RdKafka

@Suite("When the consumer wakes librdkafka's fetchers")
struct FetchPacerTests {
    /// 10,000 messages or 4 MiB.
    private func pacer() -> FetchPacer { FetchPacer(messageLimit: 10_000, byteLimit: 4 * 1024 * 1024) }

    private func wakes(_ pacer: inout FetchPacer, polled: Int, polledBytes: Int, remaining: Int) -> Bool {
        pacer.shouldWake(polled: polled, polledBytes: polledBytes, remaining: remaining)
    }

    @Test func aQueueThatNeverFilledNeedsNoWakeUp() {
        var pacer = pacer()
        for _ in 0..<100 {
            #expect(wakes(&pacer, polled: 1_000, polledBytes: 100_000, remaining: 500) == false)
        }
        #expect(wakes(&pacer, polled: 0, polledBytes: 0, remaining: 0) == false)
    }

    @Test func aFullQueueDrainedBelowHalfWakesOnce() {
        var pacer = pacer()
        // 10,000 queued: librdkafka has stopped fetching. Drained in batches of 2,000.
        #expect(wakes(&pacer, polled: 2_000, polledBytes: 200_000, remaining: 8_000) == false)
        #expect(wakes(&pacer, polled: 2_000, polledBytes: 200_000, remaining: 6_000) == false)
        #expect(wakes(&pacer, polled: 2_000, polledBytes: 200_000, remaining: 4_000))
        #expect(wakes(&pacer, polled: 2_000, polledBytes: 200_000, remaining: 2_000) == false)
        #expect(wakes(&pacer, polled: 2_000, polledBytes: 200_000, remaining: 0) == false)
        #expect(wakes(&pacer, polled: 0, polledBytes: 0, remaining: 0) == false)
    }

    @Test func largeMessagesHitTheByteLimitFirst() {
        var pacer = pacer()
        // 100 KiB messages: 40 of them are the 4 MiB limit, far below 10,000 messages.
        #expect(wakes(&pacer, polled: 10, polledBytes: 1_024_000, remaining: 30) == false)
        #expect(pacer.fetchersMayHaveStopped)
        #expect(wakes(&pacer, polled: 10, polledBytes: 1_024_000, remaining: 20))
    }

    @Test func anEmptyPollAfterAFullQueueWakes() {
        var pacer = pacer()
        #expect(wakes(&pacer, polled: 10_000, polledBytes: 1_000_000, remaining: 5_000) == false)
        #expect(wakes(&pacer, polled: 0, polledBytes: 0, remaining: 0))
    }
}
