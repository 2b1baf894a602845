import Foundation
import Testing
import ZKOffsets
import ZKOffsetsTool

/// `zkoffsets migrate --to-bootstrap-server`: a ZooKeeper-stored group carried by message time between two mock
/// clusters that hold the same messages at different offsets (see `TwoClusterFixture`).
@Suite(.serialized) struct ClusterMigrationTests {
    // Old offsets: p0 consumed nothing, p1 stops inside three messages of one time, p2 consumed all, p3 some.
    static let oldOffsets: [Int32: Int64] = [0: 0, 1: 21, 2: 40, 3: 17]

    @Test func consumedNothingSomeAndAllLandExactlyAndTheNewConsumerLosesNothing() async throws {
        try await withTwoClusters { fx in
            let newLog = try await fx.newAdmin.watermarks(for: [fx.partition(0)])[fx.partition(0)]!
            // The setup holds: the new log starts above 0 (oldest filler dropped) and below the shared messages.
            try #require(newLog.low > 0 && newLog.low < Int64(TwoClusterFixture.filler))
            try await fx.commitOld(Self.oldOffsets)

            let plan = try await fx.plan()
            #expect(!plan.isRefused, "\(plan.allRefusals)")
            let byPartition = Dictionary(uniqueKeysWithValues: plan.translations.map { ($0.partition.partition, $0) })
            let filler = Int64(TwoClusterFixture.filler)
            let expected: [Int32: Int64] = [0: newLog.low, 1: filler + 20, 2: filler + 40, 3: filler + 17]
            #expect(byPartition.mapValues { $0.newOffset } == expected.mapValues { Optional($0) })
            #expect(byPartition[0]?.basis == .nothingConsumed)
            #expect(
                byPartition[1]?.basis == .nextMessage
                    && byPartition[1]?.timestampMillis == TwoClusterFixture.time(1, 21))
            #expect(byPartition[1]?.notes.contains { $0.hasPrefix("ambiguous") } == true)
            #expect(byPartition[2]?.basis == .lastConsumed && byPartition[2]?.referenceOffset == 39)
            #expect(byPartition[3]?.notes == [] && byPartition[3]?.method == .search)
            #expect(plan.table.text.contains(TimestampText.iso8601(millis: TwoClusterFixture.time(3, 17))))

            // Dry run: the plan alone wrote nothing on the new cluster.
            let partitions = (0..<4).map { fx.partition(Int32($0)) }
            #expect(try await fx.newAdmin.committedOffsets(group: fx.group, partitions: partitions).isEmpty)

            let summary = try await ClusterMigration.apply(plan, newAdmin: fx.newAdmin)
            #expect(summary.written == 4 && summary.transactions == 1)
            // Read back through OffsetFetch (ListConsumerGroupOffsets), not the commit path that wrote them.
            let stored = try await fx.newAdmin.committedOffsets(group: fx.group, partitions: partitions)
            #expect(stored == Dictionary(uniqueKeysWithValues: expected.map { (fx.partition($0.key), $0.value) }))

            // From the carried offsets a consumer of the new cluster sees every message the group had not consumed:
            // p0 everything the new cluster holds, p1 also the one consumed message sharing the boundary's time.
            let unconsumed = { (p: Int32, from: Int) in
                (from..<TwoClusterFixture.shared).map { TwoClusterFixture.value(p, $0) }
            }
            let p0 = try await fx.newValues(0, from: expected[0]!)
            #expect(p0.filter { $0 != "filler" } == unconsumed(0, 0) && p0.count == Int(filler - newLog.low) + 40)
            #expect(try await fx.newValues(1, from: expected[1]!) == unconsumed(1, 20))
            #expect(try await fx.newValues(2, from: expected[2]!) == [])
            #expect(try await fx.newValues(3, from: expected[3]!) == unconsumed(3, 17))

            // Planning again finds nothing left to write.
            #expect(try await fx.plan().pending.isEmpty)
        }
    }

    @Test func concurrentSearchesShareFetchRounds() async throws {
        try await withTwoClusters { fx in
            let reader = try MessageTimestampReader(
                configuration: TwoClusterFixture.configuration(fx.new), logger: fx.logger)
            let partitions = (0..<4).map { fx.partition(Int32($0)) }
            let marks = try await fx.newAdmin.watermarks(for: partitions)
            await reader.expectSearchers(partitions.count)
            let found = try await withThrowingTaskGroup(of: (Int32, Int64).self) { group in
                for partition in partitions {
                    group.addTask {
                        let target = TwoClusterFixture.time(partition.partition, 17)
                        let outcome = try await TimestampSearch.first(
                            .atOrAfter(target), low: marks[partition]!.low, high: marks[partition]!.high
                        ) { try await reader.sample(partition, atOrAfter: $0) }
                        await reader.leave()
                        return (partition.partition, outcome.offset)
                    }
                }
                return try await group.reduce(into: [Int32: Int64]()) { $0[$1.0] = $1.1 }
            }
            let (fetches, rounds) = (await reader.fetches, await reader.rounds)
            await reader.close()
            let expected = Int64(TwoClusterFixture.filler + 17)
            #expect(found == [0: expected, 1: expected, 2: expected, 3: expected])
            // Each partition needs about log2(47) fetches; together they take that many rounds, not 4 times it.
            #expect(rounds <= 7 && fetches >= 3 * rounds, "fetches \(fetches), rounds \(rounds)")
        }
    }

    @Test func aZooKeeperTargetGetsConditionalWritesAndADryRunWritesNothing() async throws {
        try await withTwoClusters { fx in
            try await fx.commitOld(Self.oldOffsets)
            let chroot = "/new-cluster-\(UUID().uuidString.prefix(8))"
            try await fx.client.create(chroot, data: [])
            let targetClient = try await ZooKeeperClient.connect(
                ZooKeeperConfiguration(connectString: TestEnvironment.zooKeeper + chroot), logger: fx.logger)
            let target = GroupInventory(client: targetClient)
            do {
                // One target znode exists already with the right value, one with another.
                let filler = Int64(TwoClusterFixture.filler)
                try await targetClient.ensurePath("/consumers/\(fx.group)/offsets/orders")
                try await targetClient.create(
                    "/consumers/\(fx.group)/offsets/orders/3", data: Array("\(filler + 17)".utf8))
                try await targetClient.create("/consumers/\(fx.group)/offsets/orders/2", data: Array("5".utf8))
                let plan = try await fx.plan(.zookeeper(target))
                #expect(plan.pending.map(\.partition.partition).sorted() == [0, 1, 2])
                #expect(plan.current(fx.partition(2)) == 5)
                #expect(try await target.offsets(group: fx.group).count == 2, "the dry run created nothing")

                let summary = try await ClusterMigration.apply(plan, newAdmin: fx.newAdmin)
                #expect(summary.written == 3 && summary.unchanged == 1)
                let stored = try await target.offsets(group: fx.group).mapValues { $0.offset }
                #expect(stored[fx.partition(1)] == filler + 20 && stored[fx.partition(2)] == filler + 40)
                // Nothing went to the brokers, and the old cluster's znodes are untouched.
                #expect(try await fx.newAdmin.committedOffsets(group: fx.group, partitions: [fx.partition(1)]).isEmpty)
                #expect(try await fx.inventory.offsets(group: fx.group)[fx.partition(1)]?.offset == 21)

                // A target znode changed after the plan was read: the conditional transaction refuses.
                let stale = try await fx.plan(.zookeeper(target))
                try await targetClient.setData("/consumers/\(fx.group)/offsets/orders/0", data: Array("0".utf8))
                try await targetClient.setData("/consumers/\(fx.group)/offsets/orders/1", data: Array("1".utf8))
                let again = try await fx.plan(.zookeeper(target))
                #expect(again.pending.count == 2 && stale.pending.isEmpty)
                try await targetClient.setData("/consumers/\(fx.group)/offsets/orders/1", data: Array("2".utf8))
                await #expect(throws: OperationRefusal.self) {
                    try await ClusterMigration.apply(again, newAdmin: fx.newAdmin)
                }
            } catch {
                await targetClient.close()
                try? await fx.client.deleteRecursive(chroot)
                throw error
            }
            await targetClient.close()
            try await fx.client.deleteRecursive(chroot)
        }
    }

    @Test func aPartitionCountMismatchIsReportedAndRefused() async throws {
        try await withTwoClusters(newPartitions: 3) { fx in
            try await fx.commitOld(Self.oldOffsets)
            let plan = try await fx.plan()
            #expect(plan.isRefused)
            #expect(plan.refusals.contains { $0.contains("4 partition(s) in the old cluster and 3 in the new") })
            #expect(
                plan.translations.first { $0.partition.partition == 3 }?.refusal?.contains("missing in the new") == true
            )
            #expect(plan.json.contains("\"refusals\":[\"topic orders has 4 partition(s)"))
            await #expect(throws: OperationRefusal.self) {
                try await ClusterMigration.apply(plan, newAdmin: fx.newAdmin)
            }
            let partitions = (0..<3).map { fx.partition(Int32($0)) }
            #expect(try await fx.newAdmin.committedOffsets(group: fx.group, partitions: partitions).isEmpty)

            if CLIBinary.url != nil {
                let run = try await CLIBinary.run([
                    "migrate", "--group", fx.group, "--bootstrap-server", fx.old.bootstrapServers,
                    "--to-bootstrap-server", fx.new.bootstrapServers, "--execute",
                ])
                #expect(run.status == 1)
                #expect(run.stderr.contains("refused: topic orders has 4 partition(s)"))
                #expect(try await fx.newAdmin.committedOffsets(group: fx.group, partitions: partitions).isEmpty)
            }
        }
    }

    @Test func usageErrorsExitTwoBeforeConnecting() async throws {
        try #require(CLIBinary.url != nil, "build the zkoffsets binary first")
        let base = ["migrate", "--bootstrap-server", "127.0.0.1:1", "--zookeeper", "127.0.0.1:1"]
        for (arguments, message) in [
            (["--group", "g", "--to-bootstrap-server", "127.0.0.1:2", "--from", "kafka"], "--from zookeeper"),
            (["--group", "g", "--group", "h", "--to-bootstrap-server", "127.0.0.1:2"], "exactly one --group"),
            (["--group", "g", "--to-zookeeper", "127.0.0.1:3"], "need --to-bootstrap-server"),
            (["--group", "g", "--from", "zookeeper", "--to", "dual"], "dual is a consumer setting"),
            (["--group", "g", "--to-bootstrap-server", "127.0.0.1:2", "--to-property", "nonsense"], "key=value"),
        ] {
            let run = try await CLIBinary.run(base + arguments)
            #expect(run.status == 2 && run.stderr.contains(message), "\(arguments): \(run.stderr)")
        }
    }

    @Test func theCommandPrintsTheReportDryRunsByDefaultAndRefusesLiveMembers() async throws {
        try #require(CLIBinary.url != nil, "build the zkoffsets binary first")
        try await withTwoClusters { fx in
            try await fx.commitOld(Self.oldOffsets)
            let arguments = [
                "migrate", "--group", fx.group, "--bootstrap-server", fx.old.bootstrapServers,
                "--to-bootstrap-server", fx.new.bootstrapServers,
            ]
            let dry = try await CLIBinary.run(arguments)
            #expect(dry.status == 0, "\(dry.stderr)")
            #expect(dry.stdout.contains("TOPIC   PARTITION  OLD-OFFSET  TIMESTAMP"))
            #expect(dry.stdout.contains("Dry run: 4 offsets of group \(fx.group) would be written"))
            let partitions = (0..<4).map { fx.partition(Int32($0)) }
            #expect(try await fx.newAdmin.committedOffsets(group: fx.group, partitions: partitions).isEmpty)

            let json = try await CLIBinary.run(arguments + ["--output", "json"])
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            let rows = try #require(object["partitions"] as? [[String: Any]])
            #expect(rows.count == 4)
            #expect(rows.first { $0["partition"] as? Int == 3 }?["newOffset"] as? Int == TwoClusterFixture.filler + 17)
            #expect(
                rows.first { $0["partition"] as? Int == 3 }?["time"] as? String
                    == TimestampText.iso8601(millis: TwoClusterFixture.time(3, 17)))

            try await fx.client.ensurePath("/consumers/\(fx.group)/ids")
            try await fx.client.create("/consumers/\(fx.group)/ids/member-1", data: Array("{}".utf8), mode: .ephemeral)
            let live = try await CLIBinary.run(arguments + ["--execute"])
            #expect(live.status == 1 && live.stderr.contains("live member(s)"))
            #expect(try await fx.newAdmin.committedOffsets(group: fx.group, partitions: partitions).isEmpty)
            try await fx.client.delete("/consumers/\(fx.group)/ids/member-1")

            let run = try await CLIBinary.run(arguments + ["--execute"])
            #expect(run.status == 0 && run.stdout.contains("Wrote 4 offsets of group \(fx.group)"))
            let first = try await KcatGroupReader.firstOffsets(
                bootstrap: fx.new.bootstrapServers, group: fx.group, topic: TwoClusterFixture.topic)
            // A plain librdkafka group consumer (kcat) starts where the offsets were carried; p2 is at its end.
            let low = try await fx.newAdmin.watermarks(for: [fx.partition(0)])[fx.partition(0)]!.low
            #expect(
                first == [0: low, 1: Int64(TwoClusterFixture.filler + 20), 3: Int64(TwoClusterFixture.filler + 17)])
        }
    }
}

/// kcat as a group consumer of the new cluster: the first offset it reads per partition shows the committed
/// offsets through a client that is not ours.
enum KcatGroupReader {
    /// `reset`: kcat's `auto.offset.reset` for partitions without a committed offset (`error` by default).
    static func firstOffsets(
        bootstrap: String, group: String, topic: String, reset: String = "error"
    ) async throws -> [Int32: Int64] {
        let kcat = try #require(
            ["/usr/bin/kcat", "/usr/local/bin/kcat"].first {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        return try await Task.detached {
            let process = Process()
            // Bounded: `timeout` ends kcat if the group never reaches the end of every partition.
            process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            process.arguments = [
                "60", kcat, "-C", "-b", bootstrap, "-G", group, "-X", "auto.offset.reset=\(reset)",
                "-X", "enable.auto.commit=false", "-f", "%p %o\\n", "-e", "-q", topic,
            ]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            var first: [Int32: Int64] = [:]
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                let parts = line.split(separator: " ")
                guard parts.count == 2, let p = Int32(parts[0]), let o = Int64(parts[1]) else { continue }
                if first[p] == nil { first[p] = o }
            }
            return first
        }.value
    }
}
