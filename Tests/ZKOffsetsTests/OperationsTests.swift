import Foundation
import Testing
import ZKOffsets
import ZKOffsetsTool

@Suite("Operations against ZooKeeper and the mock cluster", .serialized)
struct OperationsTests {
    // MARK: list / describe

    @Test func listShowsGroupsTopicsAndMembers() async throws {
        try await withOperationsFixture { fx in
            let (a, b) = (fx.group("lista"), fx.group("listb"))
            try await fx.put(a, "events", 0, 5)
            try await fx.put(a, "clicks", 1, 6)
            try await fx.put(b, "events", 0, 1)
            try await fx.addMember(b, "b-1")
            let groups = try await fx.inventory.groups().filter { $0.group.hasSuffix(fx.suffix) }
            #expect(groups == [
                GroupSummary(group: a, topics: ["clicks", "events"], members: []),
                GroupSummary(group: b, topics: ["events"], members: ["b-1"]),
            ])
        }
    }

    @Test func describeShowsOffsetsLagOwnersAndPartitionsWithoutOffsets() async throws {
        try await withOperationsFixture { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, 40)
            try await fx.put(g, "events", 2, 120)
            try await fx.client.ensurePath("/consumers/\(g)/owners/events")
            try await fx.client.create("/consumers/\(g)/owners/events/0", data: Array("c1-1700-abc-0".utf8))
            let description = try await GroupDescription.read(
                inventory: fx.inventory, admin: fx.admin, group: g, topics: ["events"])
            #expect(description.partitions.map(\.partition.partition) == [0, 1, 2, 3])
            #expect(description.partitions.map(\.currentOffset) == [40, nil, 120, nil])
            #expect(description.partitions.map(\.logEndOffset) == [100, 110, 120, 130])
            #expect(description.partitions.map(\.lag) == [60, nil, 0, nil])
            #expect(description.partitions[0].consumerID == "c1-1700-abc")
            let mtime = try #require(description.partitions[0].lastCommitMillis)
            let lines = description.table(nowMillis: mtime + 75_000).lines
            #expect(lines[0] == "TOPIC   PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG  LAST-COMMIT  CONSUMER-ID")
            #expect(lines[1] == "events  0          40              100             60   1m15s        c1-1700-abc")
            #expect(lines[2] == "events  1          -               110             -    -            -")
            #expect(description.json(nowMillis: mtime).contains(#""currentOffset":40,"logEndOffset":100,"lag":60"#))
        }
    }

    /// A group moved to Kafka-stored offsets: ZooKeeper's stop, Kafka's move on; describe says so instead of
    /// only showing a growing lag.
    @Test func describeWarnsWhenKafkaHoldsNewerOffsets() async throws {
        try await withOperationsFixture { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, 40)
            try await fx.put(g, "events", 1, 50)
            let quiet = try await GroupDescription.read(inventory: fx.inventory, admin: fx.admin, group: g, topics: ["events"])
            #expect(!quiet.warnings.contains { $0.contains("Kafka holds newer offsets") }, "\(quiet.warnings)")
            try await fx.admin.commitOffsets(
                group: g, offsets: [TopicPartition(topic: "events", partition: 0): 90,
                                    TopicPartition(topic: "events", partition: 1): 50], timeout: .seconds(10))
            let description = try await GroupDescription.read(
                inventory: fx.inventory, admin: fx.admin, group: g, topics: ["events"])
            #expect(description.partitions.map(\.currentOffset).prefix(2) == [40, 50])
            let warning = try #require(description.warnings.first { $0.contains("Kafka holds newer offsets") })
            #expect(warning.contains("for 1 partition(s) (events-0: Kafka 90, ZooKeeper 40)"), "\(warning)")
        }
    }

    @Test func describeWithoutBrokersAndWithMalformedData() async throws {
        try await withOperationsFixture { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, Array("x1".utf8))
            try await fx.put(g, "events", 1, 3)
            let description = try await GroupDescription.read(inventory: fx.inventory, admin: nil, group: g)
            #expect(description.partitions.map(\.currentOffset) == [nil, 3])
            #expect(description.partitions[0].malformed == "'x1'")
            #expect(description.partitions.allSatisfy { $0.logEndOffset == nil })
            #expect(description.warnings.contains { $0.contains("/consumers/\(g)/offsets/events/0 holds 'x1'") })
            #expect(description.table(nowMillis: 0).lines[1].hasPrefix("events  0          malformed       -"))
        }
    }

    @Test func unknownGroupsTopicsAndBadNamesAreInputErrors() async throws {
        try await withOperationsFixture { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, 1)
            let unknown = try await #require(throws: OffsetError.self) {
                try await GroupDescription.read(inventory: fx.inventory, admin: fx.admin, group: fx.group("nosuch"))
            }
            #expect(unknown.code == .invalidInput && unknown.message.contains("unknown group"))
            let topic = try await #require(throws: OffsetError.self) {
                try await GroupDescription.read(inventory: fx.inventory, admin: fx.admin, group: g, topics: ["nosuch"])
            }
            #expect(topic.message.contains("unknown topic 'nosuch'"))
            for bad in ["a/b", "..", ".", ""] {
                let error = try await #require(throws: OffsetError.self) {
                    try await GroupDescription.read(inventory: fx.inventory, admin: nil, group: bad)
                }
                #expect(error.code == .invalidGroup)
            }
            await #expect(throws: OffsetError.self) {
                try await GroupDescription.read(inventory: fx.inventory, admin: nil, group: g, topics: ["../x"])
            }
            await #expect(throws: OffsetError.self) {
                try await ResetPlanner.plan(
                    inventory: fx.inventory, admin: fx.admin, group: "x/y", scope: .allTopics, target: .earliest)
            }
            let topicError = try await #require(throws: OffsetError.self) {
                try await ResetPlanner.plan(
                    inventory: fx.inventory, admin: fx.admin, group: g, scope: .topics([.init(topic: "nosuch")]),
                    target: .earliest)
            }
            #expect(topicError.message.contains("unknown topic 'nosuch'"))
            #expect(try await fx.client.exists("/consumers/x") == nil)
        }
    }

    @Test func unreachableKafkaFailsWithinTheTimeout() async throws {
        try await withOperationsFixture { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, 1)
            let admin = try KafkaAdminClient(
                configuration: KafkaConfiguration(bootstrapServers: "127.0.0.1:1"), logger: fx.logger)
            let start = ContinuousClock.now
            await #expect(throws: KafkaError.self) {
                try await GroupDescription.read(
                    inventory: fx.inventory, admin: admin, group: g, timeout: .seconds(2))
            }
            #expect(ContinuousClock.now - start < .seconds(10))
            await admin.close()
        }
    }

    // MARK: export / import

    @Test func exportDeleteImportExportGivesTheSameBytes() async throws {
        try await withOperationsFixture { fx in
            let (a, b) = (fx.group("rta"), fx.group("rtb"))
            try await fx.put(a, "events", 0, 42)
            try await fx.put(a, "events", 3, 7)
            try await fx.put(a, "clicks", 1, 0)
            try await fx.put(b, "events", 10, 12_345_678_901)
            for format in OffsetFileFormat.allCases {
                let before = try await OffsetExport.read(inventory: fx.inventory, groups: [a, b])
                let text = OffsetFile.render(before.entries, format: format)
                #expect(before.entries.count == 4)
                try await fx.client.deleteRecursive("/consumers/\(a)")
                try await fx.client.deleteRecursive("/consumers/\(b)")
                let plan = try await OffsetPlan.read(
                    try OffsetFile.parse(text, format: nil), inventory: fx.inventory, overwriteMalformed: true)
                #expect(plan.pending.count == 4)
                let summary = try await plan.apply(client: fx.client)
                #expect(summary == ApplySummary(written: 4, unchanged: 0, transactions: 2, groups: 2))
                let after = try await OffsetExport.read(inventory: fx.inventory, groups: [a, b])
                #expect(OffsetFile.render(after.entries, format: format) == text, "\(format)")
                #expect(try await fx.bytes(b, "events", 10) == Array("12345678901".utf8))
            }
        }
    }

    @Test func importPlanShowsCurrentAndSkipsUnchanged() async throws {
        try await withOperationsFixture { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, 5)
            try await fx.put(g, "events", 1, Array("6\n".utf8))
            let entries = try OffsetFile.parse("\(g),events,0,5\n\(g),events,1,6\n\(g),events,2,9\n")
            let plan = try await OffsetPlan.read(entries, inventory: fx.inventory, overwriteMalformed: true)
            #expect(plan.table.lines == [
                "GROUP\(String(repeating: " ", count: g.count - 3))TOPIC   PARTITION  CURRENT                              NEW",
                "\(g)  events  0          5                                    5",
                "\(g)  events  1          6 (stored as bytes 36 0a ('6\\x0a'))  6",
                "\(g)  events  2          -                                    9",
            ])
            #expect(plan.pending.map(\.partition.partition) == [1, 2])
            let summary = try await plan.apply(client: fx.client)
            #expect(summary.written == 2 && summary.unchanged == 1 && summary.transactions == 1)
            #expect(try await fx.bytes(g, "events", 1) == Array("6".utf8))
            #expect(try await fx.bytes(g, "events", 2) == Array("9".utf8))
        }
    }

    @Test func halfBadImportWritesNothing() async throws {
        try await withOperationsFixture { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, 5)
            let before = try await fx.snapshot(g)
            let text = "\(g),events,0,6\n\(g),events,1,abc\n\(g),events,2,7\n"
            let error = try #require(throws: OffsetFileError.self) { try OffsetFile.parse(text) }
            #expect(error.lines == [2])
            #expect(try await fx.snapshot(g) == before)
        }
    }

    @Test func applyIsConditionalOnTheVersionThePlanRead() async throws {
        try await withOperationsFixture { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, 5)
            try await fx.put(g, "events", 1, 5)
            let plan = try await OffsetPlan.read(
                try OffsetFile.parse("\(g),events,0,10\n\(g),events,1,10\n"), inventory: fx.inventory,
                overwriteMalformed: true)
            try await fx.put(g, "events", 1, 99)  // another writer, after the plan
            let refusal = try await #require(throws: OperationRefusal.self) { try await plan.apply(client: fx.client) }
            #expect(refusal.message.contains("/consumers/\(g)/offsets/events/1 changed since the plan was read"))
            #expect(try await fx.bytes(g, "events", 0) == Array("5".utf8))
            #expect(try await fx.bytes(g, "events", 1) == Array("99".utf8))
        }
    }

    // MARK: reset

    @Test func resetTargetsAndClamping() async throws {
        try await withOperationsFixture { fx in
            let g = fx.group()
            for partition in Int32(0)..<4 { try await fx.put(g, "events", partition, 50) }
            func plan(_ target: ResetTarget, _ scope: ResetScope = .allTopics) async throws -> OffsetPlan {
                try await ResetPlanner.plan(
                    inventory: fx.inventory, admin: fx.admin, group: g, scope: scope, target: target)
            }
            #expect(try await plan(.earliest).changes.map(\.new) == [0, 0, 0, 0])
            #expect(try await plan(.latest).changes.map(\.new) == [100, 110, 120, 130])
            let high = try await plan(.offset(115))
            #expect(high.changes.map(\.new) == [100, 110, 115, 115])
            #expect(high.warnings == [
                "events-0: target 115 is above the log end 100; clamped to 100",
                "events-1: target 115 is above the log end 110; clamped to 110",
            ])
            #expect(try await plan(.shiftBy(-60)).changes.map(\.new) == [0, 0, 0, 0])
            #expect(try await plan(.shiftBy(55)).changes.map(\.new) == [100, 105, 105, 105])
            #expect(try await plan(.current).pending.isEmpty)
            // The mock answers no timestamp lookups: everything resolves to the log end.
            #expect(try await plan(.duration(millis: 3_600_000)).changes.map(\.new) == [100, 110, 120, 130])
            let some = try await plan(.earliest, .topics([TopicSelection(topic: "events", partitions: [1, 3])]))
            #expect(some.changes.map(\.partition.partition) == [1, 3])
            let file = try await plan(
                .file(try OffsetFile.parse("events,2,33\n", defaultGroup: g)),
                .topics([TopicSelection(topic: "events")]))
            #expect(file.changes.map(\.partition.partition) == [2] && file.changes.map(\.new) == [33])
            let summary = try await plan(.offset(60)).apply(client: fx.client)
            #expect(summary.written == 4 && summary.transactions == 1)
            #expect(try await fx.bytes(g, "events", 3) == Array("60".utf8))
        }
    }

    @Test func resetAllTopicsCoversBrokerPartitionsWithoutOffsets() async throws {
        try await withOperationsFixture { fx in
            let g = fx.group()
            try await fx.put(g, "clicks", 0, 3)
            let plan = try await ResetPlanner.plan(
                inventory: fx.inventory, admin: fx.admin, group: g, scope: .allTopics, target: .latest)
            #expect(plan.changes.map { "\($0.partition)=\($0.currentText)->\($0.new)" } == ["clicks-0=3->50", "clicks-1=-->60"])
        }
    }

    @Test func resetRefusesLiveMembersUnlessForced() async throws {
        try await withOperationsFixture { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, 5)
            try await fx.addMember(g, "consumer-1")
            let refusal = try await #require(throws: OperationRefusal.self) {
                try await fx.inventory.refuseIfActive(group: g, force: false)
            }
            #expect(refusal.message.contains("consumer-1"))
            try await fx.inventory.refuseIfActive(group: g, force: true)
        }
    }

    @Test func malformedZnodesAreReplacedOnlyWhenNamed() async throws {
        try await withOperationsFixture { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, Array("garbage".utf8))
            try await fx.put(g, "events", 1, 5)
            let before = try await fx.snapshot(g)
            let refusal = try await #require(throws: OperationRefusal.self) {
                try await ResetPlanner.plan(
                    inventory: fx.inventory, admin: fx.admin, group: g, scope: .allTopics, target: .earliest)
            }
            #expect(refusal.message.contains("/consumers/\(g)/offsets/events/0 holds 'garbage'"))
            await #expect(throws: OperationRefusal.self) {
                try await OffsetPlan.read(
                    try OffsetFile.parse("\(g),events,0,1\n"), inventory: fx.inventory, overwriteMalformed: false)
            }
            #expect(try await fx.snapshot(g) == before)
            let named = try await ResetPlanner.plan(
                inventory: fx.inventory, admin: fx.admin, group: g,
                scope: .topics([TopicSelection(topic: "events", partitions: [0])]), target: .earliest)
            #expect(named.changes.map(\.currentText) == ["malformed 'garbage'"])
            _ = try await named.apply(client: fx.client)
            #expect(try await fx.bytes(g, "events", 0) == Array("0".utf8))
        }
    }

    // MARK: verify

    @Test func verifyFindsEveryKind() async throws {
        try await withOperationsFixture { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, Array(" 5".utf8))
            try await fx.put(g, "events", 1, Array("+5".utf8))
            try await fx.put(g, "events", 3, [0xAC, 0xED, 0x00, 0x05, 0x73, 0x72])
            try await fx.put(g, "events", 4, 1)
            try await fx.put(g, "clicks", 0, 500)
            try await fx.put(g, "clicks", 1, [])
            try await fx.put(g, "gone", 0, 1)
            try await fx.client.ensurePath("/consumers/\(g)/owners/clicks/0")
            try await fx.client.setData("/consumers/\(g)/owners/clicks/0", data: Array("c9-0".utf8))
            let findings = try await OffsetVerifier.verify(inventory: fx.inventory, admin: fx.admin, group: g)
            let kinds = findings.map { "\($0.kind) \($0.path.replacingOccurrences(of: "/consumers/\(g)", with: ""))" }
            #expect(Set(kinds) == [
                "above-log-end /offsets/clicks/0", "non-canonical /offsets/clicks/1",
                "non-canonical /offsets/events/0", "non-canonical /offsets/events/1",
                "non-canonical /offsets/events/3", "partition-gap /offsets/events",
                "missing-partition /offsets/events/2", "unknown-partition /offsets/events/4",
                "unknown-topic /offsets/gone", "owner-without-id /owners/clicks/0",
            ])
            #expect(findings.contains { $0.message.contains("Java-serialized bytes") })
            #expect(findings.contains { $0.message.contains("holds 500, above the log end 50") })
        }
    }

    @Test func verifyCleanGroupHasNoFindings() async throws {
        try await withOperationsFixture { fx in
            let g = fx.group()
            try await fx.put(g, "clicks", 0, 50)
            try await fx.put(g, "clicks", 1, 0)
            try await fx.addMember(g, "c1")
            try await fx.client.ensurePath("/consumers/\(g)/owners/clicks")
            try await fx.client.create("/consumers/\(g)/owners/clicks/0", data: Array("c1-0".utf8), mode: .ephemeral)
            #expect(try await OffsetVerifier.verify(inventory: fx.inventory, admin: fx.admin, group: g) == [])
        }
    }

    // MARK: migrate

    @Test func migrateZooKeeperToKafkaAndBackKeepsEveryOffset() async throws {
        try await withOperationsFixture { fx in
            let g = fx.group()
            let offsets: [TopicPartition: Int64] = [
                TopicPartition(topic: "events", partition: 0): 42, TopicPartition(topic: "events", partition: 1): 0,
                TopicPartition(topic: "events", partition: 2): 120, TopicPartition(topic: "events", partition: 3): 77,
                TopicPartition(topic: "clicks", partition: 1): 59,
            ]
            for (partition, offset) in offsets { try await fx.put(g, partition.topic, partition.partition, offset) }
            let toKafka = try await Migration.plan(
                inventory: fx.inventory, admin: fx.admin, groups: [g], from: .zookeeper, to: .kafka)
            #expect(toKafka.pending.count == 5)
            #expect(toKafka.table.lines[1].hasSuffix("clicks  1          -        59"))
            let summary = try await Migration.apply(toKafka, inventory: fx.inventory, admin: fx.admin)
            #expect(summary.written == 5)
            let inKafka = try await fx.admin.committedOffsets(group: g, partitions: Array(offsets.keys))
            #expect(inKafka == offsets)

            try await fx.client.deleteRecursive("/consumers/\(g)")
            let back = try await Migration.plan(
                inventory: fx.inventory, admin: fx.admin, groups: [g], from: .kafka, to: .zookeeper)
            #expect(back.pending.count == 5)
            _ = try await Migration.apply(back, inventory: fx.inventory, admin: fx.admin)
            let nodes = try await fx.inventory.offsets(group: g)
            #expect(nodes.mapValues(\.offset) == offsets.mapValues { Optional($0) })
            #expect(nodes.values.allSatisfy { OffsetValue.isCanonical($0.bytes) })
            let again = try await Migration.plan(
                inventory: fx.inventory, admin: fx.admin, groups: [g], from: .zookeeper, to: .kafka)
            #expect(again.pending.isEmpty)
        }
    }

    @Test func migrateRefusesLiveMembersAndMalformedData() async throws {
        try await withOperationsFixture { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, 5)
            try await fx.addMember(g, "c1")
            let refusal = try await #require(throws: OperationRefusal.self) {
                try await Migration.plan(
                    inventory: fx.inventory, admin: fx.admin, groups: [g], from: .zookeeper, to: .kafka)
            }
            #expect(refusal.message.contains("live member"))
            let h = fx.group("malformed")
            try await fx.put(h, "events", 0, Array("x".utf8))
            await #expect(throws: OperationRefusal.self) {
                try await Migration.plan(
                    inventory: fx.inventory, admin: fx.admin, groups: [h], from: .zookeeper, to: .kafka)
            }
            let tp = TopicPartition(topic: "events", partition: 0)
            #expect(try await fx.admin.committedOffsets(group: g, partitions: [tp]).isEmpty)
            #expect(try await fx.admin.committedOffsets(group: h, partitions: [tp]).isEmpty)
        }
    }
}
