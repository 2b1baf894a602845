import Foundation
import Logging
import ZKOffsets
import ZooKeeper

/// Values written by successive measurements never repeat, so no commit is ever skipped as unchanged.
struct SeedSource: Sendable {
    private var next: Int64 = 1_000_000
    /// A base for one writer: 100 million values of room (more than any run writes).
    mutating func take(_ count: Int) -> Int64 {
        defer { next += 100_000_000 }
        return next
    }
}

/// Creates `/consumers/<group>/offsets/<topic>/0 ..< count` (afresh) holding `0`.
func createOffsetZnodes(
    client: ZooKeeperClient, group: String, topic: String, count: Int, fresh: Bool = true
) async throws {
    if fresh { try await client.deleteRecursive("/consumers/\(group)") }
    let root = "/consumers/\(group)/offsets/\(topic)"
    try await client.ensurePath(root)
    var start = 0
    while start < count {
        let end = min(count, start + 1_000)
        try await client.multi((start..<end).map { .create("\(root)/\($0)", data: Array("0".utf8)) })
        start = end
    }
}

// MARK: - Row 1


struct CommitRow {
    let context: BenchContext

    struct Line {
        let n: Int
        var ours: [Double] = []
        var lower: [Double] = []
        var sync: [Double] = []
        var multi: [Double] = []
        var kazoo: [Double] = []
    }

    func run() async throws {
        let logger = Logger(label: "bench")
        let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: context.zookeeper), logger: logger)
        var seeds = SeedSource()
        var lines: [Line] = []
        let sizes = [1, 100, 1_000, 10_000]
        for n in sizes {
            // Each implementation writes its own znodes (it caches their versions); the topic names have equal
            // lengths so that every request carries the same bytes.
            let group = "bench-commit-\(n)"
            try await client.deleteRecursive("/consumers/\(group)")
            for topic in ["t-ours", "t-zkmu", "t-cmul", "t-csyn", "t-kazo"] {
                try await createOffsetZnodes(client: client, group: group, topic: topic, count: n, fresh: false)
            }
            func root(_ topic: String) -> String { "/consumers/\(group)/offsets/\(topic)" }
            let reps = context.quick ? [1: 7, 100: 5, 1_000: 5, 10_000: 2][n]! : [1: 31, 100: 21, 1_000: 15, 10_000: 7][n]!
            let syncReps = context.quick ? (n >= 10_000 ? 1 : 3) : [1: 31, 100: 11, 1_000: 7, 10_000: 3][n]!
            let syncWarmup = n >= 10_000 ? 0 : 1
            var line = Line(n: n)
            progress("row 1: commit of \(n) offsets")

            // Ours: the ZKOffsets store, one multi per commit (chunked below maxTransactionBytes like the baselines).
            let store = try ZooKeeperOffsetStore(client: client, group: group, logger: logger)
            let partitions = (0..<n).map { TopicPartition(topic: "t-ours", partition: Int32($0)) }
            _ = try await store.read(partitions)  // versions, as a consumer has them after its start; not timed
            let chunkBytes = store.maxTransactionBytes
            var nextBase = seeds.take(1)
            func oursOnce() async throws -> Double {
                let base = nextBase
                nextBase += Int64(n)
                var offsets: [TopicPartition: Int64] = [:]
                offsets.reserveCapacity(n)
                for (p, partition) in partitions.enumerated() { offsets[partition] = base + Int64(p) }
                var written = 0
                let elapsed = try await timeMicroseconds { written = try await store.commit(offsets).written }
                guard written == n else { throw BenchFailure("commit wrote \(written) of \(n) offsets") }
                return elapsed
            }
            _ = try await oursOnce()  // warmup

            // The layer below ours: ZooKeeperClient.multi of the same setData ops (same chunks), versions tracked.
            let lowerPaths = (0..<n).map { "\(root("t-zkmu"))/\($0)" }
            var lowerVersions = [Int32](repeating: 0, count: n)
            var lowerBase = seeds.take(1)
            func lowerOnce() async throws -> Double {
                let base = lowerBase
                lowerBase += Int64(n)
                let operations = (0..<n).map {
                    ZooKeeperOperation.setData(lowerPaths[$0], data: Array(String(base + Int64($0)).utf8), version: lowerVersions[$0])
                }
                return try await timeMicroseconds {
                    var start = 0
                    while start < n {
                        var size = 64  // the store's chunking rule
                        var end = start
                        while end < n {
                            let cost = operations[end].estimatedRequestSize
                            if end > start && size + cost > chunkBytes { break }
                            size += cost
                            end += 1
                        }
                        let results = try await client.multi(Array(operations[start..<end]))
                        for (index, result) in results.enumerated() {
                            if case .setData(let stat) = result { lowerVersions[start + index] = stat.version }
                        }
                        start = end
                    }
                }
            }
            _ = try await lowerOnce()  // warmup

            // The baselines, driven in lockstep with ours: raw C zoo_multi of the same operations (same chunking
            // rule), per-partition synchronous writes one after another (Kafka 0.8's way), kazoo's transaction.
            // Each reads the versions first and writes values no one wrote before.
            let multi = try DrivenBaseline("zk_baseline commit-multi", context.zkBaseline, [
                context.zookeeper, "commit-multi", root("t-cmul"), "\(n)", "1", "-", "\(seeds.take(1))", "\(chunkBytes)",
            ])
            let sync = try DrivenBaseline("zk_baseline commit-sync", context.zkBaseline, [
                context.zookeeper, "commit-sync", root("t-csyn"), "\(n)", "\(syncWarmup)", "-", "\(seeds.take(1))",
            ])
            let kazoo = try DrivenBaseline("kazoo_commit.py", context.python, [
                context.kazooScript, context.zookeeper, root("t-kazo"), "\(n)", "1", "-", "\(seeds.take(1))", "\(chunkBytes)",
            ])
            // The order rotates every round, so that no implementation always follows the same one (a commit
            // right after a burst of synchronous writes meets a busier disk).
            for round in 0..<reps {
                var steps: [() async throws -> Void] = [
                    { line.ours.append(try await oursOnce()) },
                    { line.lower.append(try await lowerOnce()) },
                    { line.multi.append(try multi.measure()) },
                    { line.kazoo.append(try kazoo.measure()) },
                ]
                if round < syncReps { steps.append({ line.sync.append(try sync.measure()) }) }
                for index in steps.indices { try await steps[(index + round) % steps.count]() }
            }
            try multi.finish()
            try sync.finish()
            try kazoo.finish()
            // Every value really moved: the last C/kazoo writes are what the znodes hold now.
            lines.append(line)
        }
        await client.close()

        emit("### 1. Commit of N offsets (median ms per commit; every commit changes every value)")
        emit()
        emit("| N | ours: `ZooKeeperOffsetStore.commit` | ours, lower layer: `ZooKeeperClient.multi` | per-partition sync `zoo_set` (Kafka 0.8) | raw C `zoo_multi` | kazoo transaction | per-partition / ours | ours / raw C | ours offsets/s |")
        emit("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for line in lines {
            let ours = median(line.ours), sync = median(line.sync), multi = median(line.multi), kazoo = median(line.kazoo)
            emit("| \(line.n) | \(ms(ours)) | \(ms(median(line.lower))) | \(ms(sync)) | \(ms(multi)) | \(ms(kazoo)) | \(ratio(sync / ours)) | \(String(format: "%.2f", ours / multi)) | \(rate(Double(line.n) / ours * 1e6)) |")
        }
        emit()
        emit("Interleaved in lockstep, after one warmup each; repetitions (ours, raw C and kazoo / per-partition): " + lines.map { "N=\($0.n): \($0.ours.count), \($0.sync.count)" }.joined(separator: "; ") + ".")
        if let at1000 = lines.first(where: { $0.n == 1_000 }) {
            let ours = median(at1000.ours)
            let speedup = median(at1000.sync) / ours, overC = ours / median(at1000.multi)
            emit()
            emit("Targets at N = 1000: >= 50x the per-partition way: \(ratio(speedup)) (\(verdict(speedup >= 50))); within 1.5x of raw C: \(String(format: "%.2f", overC))x (\(verdict(overC <= 1.5))).")
        }
        emit()
    }
}

// MARK: - Row 2

struct RestartReadRow {
    let context: BenchContext
    let topic = "bench"
    let n = 1_000

    func run() async throws {
        let logger = Logger(label: "bench")
        let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: context.zookeeper), logger: logger)
        let group = "bench-restart"
        let root = "/consumers/\(group)/offsets/\(topic)"
        try await createOffsetZnodes(client: client, group: group, topic: topic, count: n)
        // Real offsets, as a consumer left them.
        let setup = try ZooKeeperOffsetStore(client: client, group: group, logger: logger)
        let partitions = (0..<n).map { TopicPartition(topic: topic, partition: Int32($0)) }
        _ = try await setup.read(partitions)
        try await setup.commit(Dictionary(uniqueKeysWithValues: partitions.map { ($0, 123_456_789 + Int64($0.partition)) }))
        progress("row 2: read \(n) offsets")

        let warmup = 2, reps = context.quick ? 5 : 15
        let pipelined = try DrivenBaseline("zk_baseline read-async", context.zkBaseline, [
            context.zookeeper, "read-async", root, "\(n)", "\(warmup)", "-", "0",
        ])
        let sequential = try DrivenBaseline("zk_baseline read-sync", context.zkBaseline, [
            context.zookeeper, "read-sync", root, "\(n)", "\(warmup)", "-", "0",
        ])
        var ours: [Double] = [], oursTopics: [Double] = [], async: [Double] = [], sync: [Double] = []
        for r in 0..<(warmup + reps) {
            // A fresh store, as after a restart.
            let store = try ZooKeeperOffsetStore(client: client, group: group, logger: logger)
            var count = 0
            let elapsed = try await timeMicroseconds { count = try await store.read(partitions).count }
            guard count == n else { throw BenchFailure("read \(count) of \(n) offsets") }
            let fresh = try ZooKeeperOffsetStore(client: client, group: group, logger: logger)
            var countTopics = 0
            let elapsedTopics = try await timeMicroseconds { countTopics = try await fresh.read(topics: [topic]).count }
            guard countTopics == n else { throw BenchFailure("read(topics:) found \(countTopics) of \(n) offsets") }
            if r >= warmup {
                ours.append(elapsed)
                oursTopics.append(elapsedTopics)
                async.append(try pipelined.measure())
                sync.append(try sequential.measure())
            }
        }
        try pipelined.finish()
        try sequential.finish()
        await client.close()

        let o = median(ours), ot = median(oursTopics), a = median(async), s = median(sync)
        emit("### 2. Restart: read the offsets of \(n) partitions (median ms, \(reps) repetitions interleaved)")
        emit()
        emit("| ours: `store.read(partitions)` | ours: `store.read(topics:)` (lists children first) | sequential sync C `zoo_get` | raw C pipelined `zoo_aget` | ours vs sequential | ours / raw C |")
        emit("|---:|---:|---:|---:|---:|---:|")
        emit("| \(ms(o)) | \(ms(ot)) | \(ms(s)) | \(ms(a)) | \(ratio(s / o)) faster | \(String(format: "%.2f", o / a)) |")
        emit()
        emit("Target: within 1.5x of raw pipelined C: \(String(format: "%.2f", o / a))x (\(verdict(o / a <= 1.5))).")
        emit()
    }
}
