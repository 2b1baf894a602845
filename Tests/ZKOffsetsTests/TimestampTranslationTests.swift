import Testing
import ZKOffsets
import ZKOffsetsTool

/// The search and the translation rule on in-memory partitions: every case of `OffsetTranslation`'s rule, exact.
@Suite struct TimestampTranslationTests {
    /// A partition held in memory: `times[i]` is the timestamp of offset `start + i`; remembers what was fetched.
    final class Log: @unchecked Sendable {
        let start: Int64
        let times: [Int64]
        var fetched: Set<Int64> = []

        init(start: Int64 = 0, _ times: [Int64]) {
            self.start = start
            self.times = times
        }

        var watermarks: Watermarks { Watermarks(low: start, high: start + Int64(times.count)) }

        func sample(_ offset: Int64) throws -> TimelineSample {
            fetched.insert(offset)
            let index = Int(offset - start)
            guard times.indices.contains(index) else { throw KafkaError(code: .offsetOutOfRange, message: "\(offset)") }
            return TimelineSample(offset: offset, millis: times[index])
        }
    }

    let partition = TopicPartition(topic: "orders", partition: 0)

    func translate(
        _ committed: Int64, old: Log, new: Log, brokerAnswer: Int64? = nil
    ) async throws -> OffsetTranslation {
        var result = try await OffsetTranslation.reference(
            partition: partition, committed: committed, old: old.watermarks
        ) {
            try old.sample($0)
        }
        try await result.locate(in: new.watermarks, brokerAnswer: brokerAnswer) { try new.sample($0) }
        return result
    }

    @Test func searchFindsTheFirstAcceptedOffsetInLogarithmicFetches() async throws {
        let times = (0..<1_000).map { Int64(1_000 + 10 * $0) }
        var fetches = 0
        for (target, expected) in [
            (Int64(0), Int64(0)), (1_000, 0), (1_001, 1), (5_990, 499), (10_990, 999), (20_000, 1_000),
        ] {
            fetches = 0
            let outcome = try await TimestampSearch.first(.atOrAfter(target), low: 0, high: 1_000) { offset in
                fetches += 1
                return TimelineSample(offset: offset, millis: times[Int(offset)])
            }
            #expect(outcome.offset == expected, "target \(target)")
            #expect(fetches <= 11, "log2(1000) + 1 fetches at most, got \(fetches)")
        }
        let after = try await TimestampSearch.first(.after(1_010), low: 0, high: 1_000) {
            TimelineSample(offset: $0, millis: times[Int($0)])
        }
        #expect(after.offset == 2)
    }

    @Test func searchSkipsCompactionGapsAndFindsTheFirstOfEqualTimes() async throws {
        // Offsets 10..<20 exist only at even numbers; times 5 5 5 7 7 ...
        let present: [Int64: Int64] = [10: 5, 12: 5, 14: 5, 16: 7, 18: 7]
        let outcome = try await TimestampSearch.first(.atOrAfter(7), low: 10, high: 20) { offset in
            guard let next = present.keys.filter({ $0 >= offset }).min() else { return nil }
            return TimelineSample(offset: next, millis: present[next]!)
        }
        #expect(outcome.offset == 15)  // 15 holds nothing: 16 is the first message at time 7
        let equal = try await TimestampSearch.first(.atOrAfter(5), low: 10, high: 20) { offset in
            let next = present.keys.filter { $0 >= offset }.min()!
            return TimelineSample(offset: next, millis: present[next]!)
        }
        #expect(equal.offset == 10)
    }

    @Test func decreasingTimesAreDetectedAmongTheFetchedMessages() {
        let samples = [
            TimelineSample(offset: 8, millis: 50), TimelineSample(offset: 2, millis: 10),
            TimelineSample(offset: 5, millis: 60),
        ]
        let decrease = TimestampSearch.firstDecrease(samples)
        #expect(decrease?.earlier.offset == 5 && decrease?.later.offset == 8)
        #expect(
            TimestampSearch.firstDecrease([TimelineSample(offset: 1, millis: 3), TimelineSample(offset: 2, millis: 3)])
                == nil)
    }

    @Test func timestampsPrintAsISO8601WithMilliseconds() {
        #expect(TimestampText.iso8601(millis: 0) == "1970-01-01T00:00:00.000Z")
        #expect(TimestampText.iso8601(millis: 1_700_000_000_123) == "2023-11-14T22:13:20.123Z")
        #expect(TimestampText.iso8601(millis: 951_782_400_000) == "2000-02-29T00:00:00.000Z")
        #expect(TimestampText.iso8601(millis: -1) == "1969-12-31T23:59:59.999Z")
    }

    // Old: offsets 0..<10 at times 100, 110, ..., 190. New: 5 older messages in front, then the same 10.
    var old: Log { Log(start: 0, (0..<10).map { 100 + 10 * Int64($0) }) }
    var new: Log { Log(start: 3, [50, 60] + (0..<10).map { 100 + 10 * Int64($0) }) }  // offsets 3..<15; shared from 5

    @Test func consumedNothingLandsAtTheNewLogStart() async throws {
        let result = try await translate(0, old: old, new: new)
        #expect(result.basis == .nothingConsumed && result.newOffset == 3 && result.method == .logStart)
        #expect(result.notes.isEmpty)
    }

    @Test func consumedSomeLandsOnTheSameMessage() async throws {
        let result = try await translate(4, old: old, new: new)
        #expect(result.basis == .nextMessage && result.referenceOffset == 4 && result.timestampMillis == 140)
        #expect(result.newOffset == 9 && result.method == .search)
        #expect(result.notes.isEmpty)
    }

    @Test func consumedEverythingLandsAtTheNewLogEndOrTheFirstNewerMessage() async throws {
        let atEnd = try await translate(10, old: old, new: new)
        #expect(atEnd.basis == .lastConsumed && atEnd.referenceOffset == 9 && atEnd.timestampMillis == 190)
        #expect(atEnd.newOffset == 15)
        let grown = Log(start: 3, [50, 60] + (0..<10).map { 100 + 10 * Int64($0) } + [195, 200])
        let later = try await translate(10, old: old, new: grown)
        #expect(later.newOffset == 15 && later.method == .search)
    }

    @Test func equalTimestampsAcrossTheBoundaryAreReportedAndNeverSkipped() async throws {
        let oldEqual = Log(start: 0, [100, 110, 120, 120, 120, 150])
        let newEqual = Log(start: 0, [90, 100, 110, 120, 120, 120, 150])
        let result = try await translate(3, old: oldEqual, new: newEqual)
        #expect(result.newOffset == 3)  // the first message of time 120: 2 consumed ones are delivered again
        #expect(result.notes.contains { $0.hasPrefix("ambiguous") })
        let end = try await translate(
            3, old: Log(start: 0, [100, 130, 130]), new: Log(start: 0, [100, 130, 130, 130]))
        #expect(end.newOffset == 4 && end.notes.contains { $0.hasPrefix("ambiguous") })
    }

    @Test func emptyOrOutOfRangeOldPartitionsNeverSkipMessages() async throws {
        let below = try await translate(2, old: Log(start: 5, [150, 160]), new: new)
        #expect(below.basis == .belowOldLogStart && below.newOffset == 3 && below.notes.count == 1)
        let empty = try await translate(7, old: Log(start: 7, []), new: new)
        #expect(empty.basis == .oldLogEmpty && empty.newOffset == 3 && empty.notes.count == 1)
        let above = try await translate(11, old: old, new: new)
        #expect(above.refusal != nil && above.newOffset == nil)
        let emptyNew = try await translate(4, old: old, new: Log(start: 9, []))
        #expect(emptyNew.newOffset == 9 && emptyNew.method == .logEnd)
    }

    @Test func aBrokerAnswerIsUsedOnlyWhenTheMessagesAgree() async throws {
        let fresh = new
        let right = try await translate(4, old: old, new: fresh, brokerAnswer: 9)
        #expect(right.newOffset == 9 && right.method == .offsetsForTimes)
        #expect(fresh.fetched == [8, 9])  // the answer and the message before it: no search
        let wrong = try await translate(4, old: old, new: new, brokerAnswer: 11)
        #expect(wrong.newOffset == 9 && wrong.method == .search)
        #expect(wrong.notes.contains { $0.contains("disagrees") })
    }

    @Test func timesMissingFromTheNewClusterAndDecreasingTimesAreNoted() async throws {
        let gap = try await translate(4, old: old, new: Log(start: 0, [100, 110, 145, 150]))
        #expect(gap.newOffset == 2 && gap.notes.contains { $0.contains("exactly this time") })
        let disorder = try await translate(
            4, old: old, new: Log(start: 0, [100, 110, 120, 300, 140, 150, 160, 170]))
        #expect(disorder.notes.contains { $0.contains("timestamps go down in the new cluster") })
    }
}
