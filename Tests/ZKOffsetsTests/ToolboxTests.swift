import Foundation
import MetricsTestKit
import Testing
import ZKOffsets
import ZKOffsetsTool

extension OperationsFixture {
    /// The whole subtree of a group, path -> (bytes, data version, children version): to show that nothing changed.
    func tree(_ group: String) async throws -> [String: String] {
        var result: [String: String] = [:]
        for node in try await ZNodeTree.read(client: client, root: "/consumers/\(group)") {
            result[node.path] = "\(node.bytes)@\(node.stat.version)/\(node.stat.cversion)"
        }
        return result
    }

    /// The `offsets` subtree of a group by path relative to it, with exact bytes.
    func offsetBytes(_ group: String) async throws -> [String: [UInt8]] {
        let root = "/consumers/\(group)/offsets"
        var result: [String: [UInt8]] = [:]
        for node in try await ZNodeTree.read(client: client, root: root) {
            result[String(node.path.dropFirst(root.count))] = node.bytes
        }
        return result
    }

    /// The plan of removing the whole group.
    func wholeGroupRemoval(_ group: String, force: Bool) async throws -> GroupRemovalPlan {
        try await GroupRemovalPlan.read(inventory: inventory, group: group, scope: .wholeGroup, force: force)
    }

    /// Commits `offsets` the way a consumer does (one transaction).
    func commit(_ group: String, _ offsets: [(TopicPartition, Int64)]) async throws {
        try await ZooKeeperOffsetStore(client: client, group: group).commit(Dictionary(uniqueKeysWithValues: offsets))
    }

    /// A persistent owner znode (as a stopped Kafka 0.8 consumer may leave behind).
    func putOwner(_ group: String, _ topic: String, _ partition: Int32, _ owner: String) async throws {
        try await client.ensurePath("/consumers/\(group)/owners/\(topic)")
        try await client.create("/consumers/\(group)/owners/\(topic)/\(partition)", data: Array(owner.utf8))
    }
}

@Suite("Toolbox: delete, copy, rename, prune, lag collection, consumer metrics", .serialized)
struct ToolboxTests {
    // MARK: delete

    @Test func deletingAGroupRemovesItsWholeSubtreeAndPlanningWritesNothing() async throws {
        try await withOperationsFixture(topics: []) { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, 40)
            try await fx.put(g, "events", 1, 41)
            try await fx.put(g, "clicks", 0, 7)
            try await fx.putOwner(g, "events", 0, "c1-0")
            try await fx.client.ensurePath("/consumers/\(g)/ids")
            let before = try await fx.tree(g)
            let plan = try await fx.wholeGroupRemoval(g, force: false)
            #expect(try await fx.tree(g) == before)
            #expect(plan.offsets.count == 3)
            #expect(plan.nodes.count == before.count)
            #expect(plan.table.lines == [
                "GROUP\(String(repeating: " ", count: g.count - 3))TOPIC   PARTITION  OFFSET",
                "\(g)  clicks  0          7",
                "\(g)  events  0          40",
                "\(g)  events  1          41",
            ])
            let transactions = try await plan.apply(client: fx.client)
            #expect(transactions == 1)
            #expect(try await fx.client.exists("/consumers/\(g)") == nil)
        }
    }

    @Test func deletingAGroupWithMembersIsRefusedAndChangesNothingUnlessForced() async throws {
        try await withOperationsFixture(topics: []) { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, 40)
            try await fx.addMember(g, "consumer-1")
            let before = try await fx.tree(g)
            let refusal = try await #require(throws: OperationRefusal.self) {
                try await fx.wholeGroupRemoval(g, force: false)
            }
            #expect(refusal.message.contains("consumer-1"))
            await #expect(throws: OperationRefusal.self) {
                try await GroupRemovalPlan.read(
                    inventory: fx.inventory, group: g, scope: .topics([TopicSelection(topic: "events")]), force: false)
            }
            #expect(try await fx.tree(g) == before)
            let forced = try await fx.wholeGroupRemoval(g, force: true)
            #expect(forced.members == ["consumer-1"])
            try await forced.apply(client: fx.client)
            #expect(try await fx.client.exists("/consumers/\(g)") == nil)
        }
    }

    @Test func deletingTopicsKeepsTheOtherTopicsAndPartitions() async throws {
        try await withOperationsFixture(topics: []) { fx in
            let g = fx.group()
            for partition: Int32 in 0..<3 { try await fx.put(g, "events", partition, Int64(partition)) }
            try await fx.put(g, "clicks", 0, 10)
            try await fx.put(g, "clicks", 1, 11)
            try await fx.put(g, "views", 0, 5)
            try await fx.putOwner(g, "events", 2, "c1-0")
            try await fx.putOwner(g, "clicks", 1, "c1-0")
            try await fx.putOwner(g, "views", 0, "c1-0")
            let plan = try await GroupRemovalPlan.read(
                inventory: fx.inventory, group: g,
                scope: .topics([TopicSelection(topic: "events"), try TopicSelection(parsing: "clicks:1")]),
                force: false)
            #expect(plan.offsets.keys.sorted().map(\.description) == ["clicks-1", "events-0", "events-1", "events-2"])
            try await plan.apply(client: fx.client)
            let left = try await fx.tree(g).keys.sorted()
            #expect(left == [
                "/consumers/\(g)", "/consumers/\(g)/offsets", "/consumers/\(g)/offsets/clicks",
                "/consumers/\(g)/offsets/clicks/0", "/consumers/\(g)/offsets/views", "/consumers/\(g)/offsets/views/0",
                "/consumers/\(g)/owners", "/consumers/\(g)/owners/clicks", "/consumers/\(g)/owners/views",
                "/consumers/\(g)/owners/views/0",
            ])
            let unknown = try await #require(throws: OffsetError.self) {
                try await GroupRemovalPlan.read(
                    inventory: fx.inventory, group: g, scope: .topics([TopicSelection(topic: "events")]), force: false)
            }
            #expect(unknown.code == .invalidInput)
        }
    }

    @Test func aZnodeChangedSinceThePlanFailsTheDeleteAndNothingOfItIsRemoved() async throws {
        try await withOperationsFixture(topics: []) { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, 40)
            try await fx.put(g, "events", 1, 41)
            let plan = try await fx.wholeGroupRemoval(g, force: false)
            try await fx.put(g, "events", 1, 99)  // a commit after the plan was read
            let changed = try await fx.tree(g)
            let refusal = try await #require(throws: OperationRefusal.self) { try await plan.apply(client: fx.client) }
            #expect(refusal.message.contains("/consumers/\(g)/offsets/events/1"))
            #expect(try await fx.tree(g) == changed)
            // A member that registered since the plan fails it too.
            let again = try await fx.wholeGroupRemoval(g, force: false)
            try await fx.addMember(g, "late-1")
            let withMember = try await fx.tree(g)
            await #expect(throws: OperationRefusal.self) { try await again.apply(client: fx.client) }
            #expect(try await fx.tree(g) == withMember)
        }
    }

    @Test func aLargeRemovalIsSplitIntoTransactionsBelowTheLimit() async throws {
        try await withOperationsFixture(topics: []) { fx in
            let g = fx.group()
            let offsets = (0..<200).map { (TopicPartition(topic: "wide", partition: Int32($0)), Int64($0)) }
            try await fx.commit(g, offsets)
            let plan = try await fx.wholeGroupRemoval(g, force: false)
            let transactions = try await plan.apply(client: fx.client, maxTransactionBytes: 2_000)
            #expect(transactions > 1)
            #expect(try await fx.client.exists("/consumers/\(g)") == nil)
        }
    }

    // MARK: copy / rename

    @Test func aCopyEqualsTheSourceByteForByteAndLeavesTheSourceAlone() async throws {
        try await withOperationsFixture(topics: []) { fx in
            let (source, destination) = (fx.group("copysrc"), fx.group("copydst"))
            try await fx.put(source, "events", 0, 40)
            try await fx.put(source, "events", 1, Array(" 26\n".utf8))  // non-canonical: copied as it is
            try await fx.put(source, "clicks", 3, Array("x1".utf8))  // malformed: copied as it is
            try await fx.client.setData("/consumers/\(source)/offsets/events", data: Array("dir".utf8))
            let sourceBefore = try await fx.tree(source)
            let plan = try await GroupCopyPlan.read(
                inventory: fx.inventory, source: source, destination: destination, rename: false, force: false)
            #expect(try await fx.client.exists("/consumers/\(destination)") == nil)
            #expect(plan.table.lines.count == 4)
            try await plan.apply(client: fx.client)
            #expect(try await fx.offsetBytes(destination) == fx.offsetBytes(source))
            #expect(try await fx.offsetBytes(destination)["/events"] == Array("dir".utf8))
            #expect(try await fx.tree(source) == sourceBefore)
        }
    }

    @Test func aCopyOntoAGroupWithOffsetsIsRefusedUnlessForced() async throws {
        try await withOperationsFixture(topics: []) { fx in
            let (source, destination) = (fx.group("forcesrc"), fx.group("forcedst"))
            try await fx.put(source, "events", 0, 40)
            try await fx.put(source, "events", 1, 41)
            try await fx.put(destination, "events", 0, 3)
            try await fx.put(destination, "views", 0, 8)
            let before = try await fx.tree(destination)
            let refusal = try await #require(throws: OperationRefusal.self) {
                try await GroupCopyPlan.read(
                    inventory: fx.inventory, source: source, destination: destination, rename: false, force: false)
            }
            #expect(refusal.message.contains("already has 2 offset(s)"))
            #expect(try await fx.tree(destination) == before)
            let plan = try await GroupCopyPlan.read(
                inventory: fx.inventory, source: source, destination: destination, rename: false, force: true)
            #expect(plan.offsets.map { $0.replaced?.offset } == [3, nil])
            try await plan.apply(client: fx.client)
            #expect(try await fx.offsetBytes(destination) == [
                "": [], "/events": [], "/events/0": Array("40".utf8), "/events/1": Array("41".utf8), "/views": [],
                "/views/0": Array("8".utf8),
            ])
        }
    }

    @Test func aRenameMovesTheOffsetsAndLeavesNoSource() async throws {
        try await withOperationsFixture(topics: []) { fx in
            let (source, destination) = (fx.group("rensrc"), fx.group("rendst"))
            try await fx.put(source, "events", 0, 40)
            try await fx.put(source, "clicks", 1, Array("7".utf8))
            try await fx.putOwner(source, "events", 0, "old-0")
            try await fx.client.ensurePath("/consumers/\(source)/ids")
            let expected = try await fx.offsetBytes(source)
            let plan = try await GroupCopyPlan.read(
                inventory: fx.inventory, source: source, destination: destination, rename: true, force: false)
            #expect(plan.isRename)
            let transactions = try await plan.apply(client: fx.client)
            #expect(transactions == 1)
            #expect(try await fx.client.exists("/consumers/\(source)") == nil)
            #expect(try await fx.offsetBytes(destination) == expected)
        }
    }

    @Test func aRenameSplitIntoTransactionsStillEndsWithEveryOffsetMoved() async throws {
        try await withOperationsFixture(topics: []) { fx in
            let (source, destination) = (fx.group("bigsrc"), fx.group("bigdst"))
            let offsets = (0..<100).map { (TopicPartition(topic: "wide", partition: Int32($0)), Int64(1000 + $0)) }
            try await fx.commit(source, offsets)
            let expected = try await fx.offsetBytes(source)
            let plan = try await GroupCopyPlan.read(
                inventory: fx.inventory, source: source, destination: destination, rename: true, force: false)
            #expect(try await plan.apply(client: fx.client, maxTransactionBytes: 2_000) > 1)
            #expect(try await fx.client.exists("/consumers/\(source)") == nil)
            #expect(try await fx.offsetBytes(destination) == expected)
        }
    }

    @Test func aRenameOfAGroupWithMembersIsRefusedAndChangesNothing() async throws {
        try await withOperationsFixture(topics: []) { fx in
            let (source, destination) = (fx.group("livesrc"), fx.group("livedst"))
            try await fx.put(source, "events", 0, 40)
            try await fx.addMember(source, "consumer-1")
            let before = try await fx.tree(source)
            for force in [false, true] {
                let refusal = try await #require(throws: OperationRefusal.self) {
                    try await GroupCopyPlan.read(
                        inventory: fx.inventory, source: source, destination: destination, rename: true, force: force)
                }
                #expect(refusal.message.contains("consumer-1"))
            }
            #expect(try await fx.tree(source) == before)
            #expect(try await fx.client.exists("/consumers/\(destination)") == nil)
            let same = try await #require(throws: OffsetError.self) {
                try await GroupCopyPlan.read(
                    inventory: fx.inventory, source: source, destination: source, rename: false, force: false)
            }
            #expect(same.code == .invalidInput)
        }
    }

    // MARK: prune

    @Test func pruneDeletesOldGroupsAndKeepsRecentAndLiveOnes() async throws {
        try await withOperationsFixture(topics: []) { fx in
            let (old, live, recent) = (fx.group("pruneold"), fx.group("prunelive"), fx.group("prunerecent"))
            let olderThan: Int64 = 3_000
            try await fx.put(old, "events", 0, 1)
            try await fx.put(old, "clicks", 0, 2)
            try await fx.put(live, "events", 0, 1)
            try await fx.addMember(live, "consumer-1")
            // mtime is the server's: wait until the old group's writes are older than the cut-off.
            try await eventually("the old group's writes to age past \(olderThan) ms") {
                let plan = try await PrunePlan.read(inventory: fx.inventory, olderThanMillis: olderThan, groups: [old])
                return plan.candidates.map(\.group) == [old]
            }
            try await fx.put(recent, "events", 0, 1)
            let groups = [old, live, recent]
            let before = try await [fx.tree(old), fx.tree(live), fx.tree(recent)]
            let plan = try await PrunePlan.read(inventory: fx.inventory, olderThanMillis: olderThan, groups: groups)
            #expect(plan.candidates.map(\.group) == [old])
            #expect(plan.scanned == 3)
            let lastCommit = try #require(plan.candidates.first?.lastCommitMillis)
            let row = try #require(plan.table(nowMillis: lastCommit + 61_000).lines.last)
            #expect(row.hasPrefix(old) && row.contains("1m1s") && row.hasSuffix("2        clicks,events"))
            #expect(try await [fx.tree(old), fx.tree(live), fx.tree(recent)] == before)
            let outcome = try await plan.apply(client: fx.client)
            #expect(outcome.deleted == [old] && outcome.kept.isEmpty)
            #expect(try await fx.client.exists("/consumers/\(old)") == nil)
            #expect(try await [fx.tree(live), fx.tree(recent)] == [before[1], before[2]])
            await #expect(throws: OffsetError.self) {
                try await PrunePlan.read(inventory: fx.inventory, olderThanMillis: olderThan, groups: [old])
            }
        }
    }

    @Test func aGroupCommittedToSincePruneWasPlannedIsKept() async throws {
        try await withOperationsFixture(topics: []) { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, 1)
            let plan = try await PrunePlan.read(inventory: fx.inventory, olderThanMillis: 0, groups: [g],
                nowMillis: Int64(Date().timeIntervalSince1970 * 1000) + 60_000)
            #expect(plan.candidates.map(\.group) == [g])
            try await fx.put(g, "events", 0, 2)
            let outcome = try await plan.apply(client: fx.client)
            #expect(outcome.deleted.isEmpty && outcome.kept.map(\.group) == [g])
            #expect(try await fx.bytes(g, "events", 0) == Array("2".utf8))
        }
    }

    // MARK: lag collection

    @Test func theCollectorReportsOffsetsLagAndMembersOfAKnownGroup() async throws {
        try await withOperationsFixture { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, 40)
            try await fx.put(g, "events", 2, 120)
            try await fx.put(g, "clicks", 1, Array("bad".utf8))
            try await fx.addMember(g, "consumer-1")
            let collector = try LagCollector(
                zooKeeper: ZooKeeperConfiguration(connectString: OperationsFixture.zooKeeperConnect),
                kafka: KafkaConfiguration(bootstrapServers: fx.kafka.bootstrapServers), groups: [g], logger: fx.logger)
            let snapshot = await collector.collect()
            await collector.close()
            #expect(snapshot.zooKeeperUp && snapshot.kafkaUp)
            let samples = snapshot.samples
            func value(_ name: String, _ labels: [String: String]) -> Double? {
                samples.first { sample in
                    sample.name == name && labels.allSatisfy { sample.label($0.key) == $0.value }
                        && sample.labels.count == labels.count
                }?.value
            }
            let p0 = ["consumergroup": g, "topic": "events", "partition": "0"]
            let p2 = ["consumergroup": g, "topic": "events", "partition": "2"]
            #expect(value(LagSnapshot.Name.currentOffset, p0) == 40)
            #expect(value(LagSnapshot.Name.lag, p0) == 60)
            #expect(value(LagSnapshot.Name.zooKeeperLag, p0) == 60)
            #expect(value(LagSnapshot.Name.lag, p2) == 0)
            #expect(value(LagSnapshot.Name.lagSum, ["consumergroup": g, "topic": "events"]) == 60)
            #expect(value(LagSnapshot.Name.members, ["consumergroup": g]) == 1)
            #expect(value(LagSnapshot.Name.topicCurrentOffset, ["topic": "events", "partition": "3"]) == 130)
            #expect(value(LagSnapshot.Name.topicPartitions, ["topic": "clicks"]) == 2)
            // A malformed znode has an age but neither offset nor lag.
            let bad = ["consumergroup": g, "topic": "clicks", "partition": "1"]
            #expect(value(LagSnapshot.Name.lastCommitAge, bad) != nil)
            #expect(value(LagSnapshot.Name.currentOffset, bad) == nil && value(LagSnapshot.Name.lag, bad) == nil)
            #expect(value(LagSnapshot.Name.up, ["source": "zookeeper"]) == 1)
        }
    }

    @Test func theCollectorReportsAnUnreachableZooKeeperAsDownAndGoesOn() async throws {
        try await withOperationsFixture(topics: [("events", 1, 5)]) { fx in
            let collector = try LagCollector(
                zooKeeper: ZooKeeperConfiguration(connectString: "127.0.0.1:1"),
                kafka: KafkaConfiguration(bootstrapServers: fx.kafka.bootstrapServers), timeout: .seconds(2),
                logger: fx.logger)
            let snapshot = await collector.collect()
            await collector.close()
            #expect(!snapshot.zooKeeperUp && snapshot.kafkaUp && snapshot.groups.isEmpty)
            #expect(snapshot.samples.first { $0.label("source") == "zookeeper" }?.value == 0)
            #expect(snapshot.samples.contains { $0.name == LagSnapshot.Name.topicCurrentOffset && $0.value == 5 })
        }
    }

    @Test func theCollectorReportsUnreachableBrokersAsDownAndKeepsTheZooKeeperSide() async throws {
        try await withOperationsFixture(topics: []) { fx in
            let g = fx.group()
            try await fx.put(g, "events", 0, 40)
            let collector = try LagCollector(
                zooKeeper: ZooKeeperConfiguration(connectString: OperationsFixture.zooKeeperConnect),
                kafka: KafkaConfiguration(bootstrapServers: "127.0.0.1:1"), groups: [g], timeout: .seconds(2),
                logger: fx.logger)
            let snapshot = await collector.collect()
            await collector.close()
            #expect(snapshot.zooKeeperUp && !snapshot.kafkaUp)
            let samples = snapshot.samples
            #expect(samples.contains { $0.name == LagSnapshot.Name.currentOffset && $0.value == 40 })
            #expect(!samples.contains { $0.name == LagSnapshot.Name.lag })
            #expect(samples.first { $0.label("source") == "kafka" }?.value == 0)
        }
    }

    @Test func samplesOfAStoredOffsetPastTheLogEndShowANegativeLagAndNoLagWithoutTheTopic() {
        let node = { (offset: String, mtime: Int64) in
            StoredOffset(path: "/x", bytes: Array(offset.utf8), stat: ZNodeStat(mtime: mtime))
        }
        let group = GroupOffsetScan.Group(
            group: "g", stat: ZNodeStat(), members: [],
            offsets: [
                TopicPartition(topic: "t", partition: 0): node("15", 1_000),
                TopicPartition(topic: "gone", partition: 0): node("3", 4_000),
            ])
        let snapshot = LagSnapshot(
            zooKeeperUp: true, kafkaUp: true, groups: [group],
            watermarks: [TopicPartition(topic: "t", partition: 0): Watermarks(low: 0, high: 10)], takenAtMillis: 10_500)
        let samples = snapshot.samples
        let lags = samples.filter { $0.name == LagSnapshot.Name.lag }
        #expect(lags.map(\.value) == [-5] && lags.first?.label("topic") == "t")
        let ages = samples.filter { $0.name == LagSnapshot.Name.lastCommitAge }.map(\.value)
        #expect(ages == [6, 9])  // sorted by topic: gone, t
        #expect(samples.filter { $0.name == LagSnapshot.Name.currentOffset }.count == 2)
        #expect(samples.first { $0.name == LagSnapshot.Name.collectionTime }?.value == 10.5)
    }

    // MARK: consumer metrics

    @Test func commitsAreCountedAndTimedAndConflictsCounted() async throws {
        let client = try await TestEnvironment.connect()
        defer { Task { await client.close() } }
        let group = TestEnvironment.freshGroup()
        let metrics = TestMetrics()
        let store = try ZooKeeperOffsetStore(
            client: client, group: group, metrics: ConsumerMetrics(group: group, factory: metrics))
        let a = TopicPartition(topic: "t", partition: 0)
        let b = TopicPartition(topic: "t", partition: 1)
        try await store.commit([a: 1, b: 1])
        try await store.commit([a: 2, b: 1])
        try await store.commit([a: 2, b: 1])  // nothing changed: no commit
        let dimensions = [("group", group)]
        #expect(try metrics.expectCounter(ConsumerMetrics.Name.commits, dimensions).totalValue == 2)
        #expect(try metrics.expectCounter(ConsumerMetrics.Name.offsetsWritten, dimensions).totalValue == 3)
        #expect(try metrics.expectTimer(ConsumerMetrics.Name.commitDuration, dimensions).values.count == 2)
        try await client.setData(store.layout.offsetPath(a), data: Array("0".utf8))  // another writer
        await #expect(throws: OffsetError.self) { try await store.commit([a: 3]) }
        #expect(try metrics.expectCounter(ConsumerMetrics.Name.conflictingCommits, dimensions).totalValue == 1)
        #expect(try metrics.expectCounter(ConsumerMetrics.Name.commits, dimensions).totalValue == 2)
        ConsumerMetrics(group: group, factory: metrics).recordLag(a, lag: 17)
        let lag = try metrics.expectRecorder(
            ConsumerMetrics.Name.lag, [("group", group), ("topic", "t"), ("partition", "0")])
        #expect(lag.lastValue == 17)
        try await client.deleteRecursive("/consumers/\(group)")
    }
}
