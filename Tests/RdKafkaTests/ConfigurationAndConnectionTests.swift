import Foundation
import RdKafka
import Testing

@Suite("Configuration errors and unreachable clusters", .timeLimit(.minutes(1)))
struct ConfigurationAndConnectionTests {
    @Test("an unknown property is an invalidConfiguration error naming it", arguments: [0, 1, 2])
    func unknownProperty(client: Int) throws {
        let configuration = KafkaConfiguration(
            bootstrapServers: "127.0.0.1:9", properties: ["no.such.property": "1"])
        #expect {
            switch client {
            case 0: _ = try KafkaPartitionConsumer(configuration: configuration, logger: testLogger())
            case 1: _ = try KafkaProducer(configuration: configuration, logger: testLogger())
            default: _ = try KafkaAdminClient(configuration: configuration, logger: testLogger())
            }
        } throws: { error in
            guard let error = error as? KafkaError else { return false }
            return error.code == .invalidConfiguration && error.message.contains("no.such.property")
        }
    }

    @Test("a bad value is an invalidConfiguration error naming the property")
    func badValue() throws {
        let configuration = KafkaConfiguration(
            bootstrapServers: "127.0.0.1:9", properties: ["fetch.wait.max.ms": "soon"])
        #expect {
            _ = try KafkaPartitionConsumer(configuration: configuration, logger: testLogger())
        } throws: { error in
            guard let error = error as? KafkaError else { return false }
            return error.code == .invalidConfiguration && error.message.contains("fetch.wait.max.ms")
                && !error.isRetryable
        }
    }

    @Test("an unreachable bootstrap server gives a retryable error naming the address, within the timeout")
    func unreachable() async throws {
        // Port 1 on loopback: nothing listens, connections are refused at once.
        let configuration = KafkaConfiguration(bootstrapServers: "127.0.0.1:1")
        let admin = try KafkaAdminClient(configuration: configuration, logger: testLogger())
        await #expect {
            _ = try await admin.topics(timeout: .seconds(2))
        } throws: { error in
            guard let error = error as? KafkaError else { return false }
            return (error.code == .timedOut || error.code == .transport) && error.isRetryable
                && error.message.contains("127.0.0.1:1")
        }
        await #expect {
            _ = try await admin.watermarks(for: [TopicPartition(topic: "t", partition: 0)], timeout: .seconds(1))
        } throws: { ($0 as? KafkaError)?.isRetryable == true }
        await admin.close()
    }

    @Test("flush to an unreachable cluster times out with a retryable error")
    func flushUnreachable() async throws {
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: "127.0.0.1:1"), logger: testLogger())
        try producer.send(topic: "t", value: Array("x".utf8))
        await #expect {
            try await producer.flush(timeout: .milliseconds(500))
        } throws: { ($0 as? KafkaError)?.code == .timedOut }
        await producer.close()
    }
}

@Suite("Mock cluster seen by other Kafka clients", .timeLimit(.minutes(1)))
struct MockClusterInteropTests {
    static let kcat = ["/usr/bin/kcat", "/usr/local/bin/kcat", "/usr/bin/kafkacat"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    @Test("kcat -L lists the mock cluster's topic", .enabled(if: kcat != nil, "kcat is not installed"))
    func kcatListsMetadata() async throws {
        let fixture = try await MockClusterFixture.start(topic: "kcat-visible", partitions: 3, perPartition: 0)
        let output = try await runProcess(Self.kcat!, ["-b", fixture.cluster.bootstrapServers, "-L", "-m", "10"])
        #expect(output.contains("topic \"kcat-visible\" with 3 partitions"))
        await fixture.close()
    }

    @Test("closing the cluster twice is harmless, and createTopic afterwards throws .closed")
    func closeTwice() async throws {
        let cluster = try MockKafkaCluster(logger: testLogger())
        #expect(cluster.bootstrapServers.hasPrefix("127.0.0.1:"))
        await cluster.close()
        await cluster.close()
        #expect { try cluster.createTopic("late", partitions: 1) } throws: { ($0 as? KafkaError)?.code == .closed }
    }
}

/// Runs a program to completion off the cooperative pool and returns its standard output.
func runProcess(_ path: String, _ arguments: [String]) async throws -> String {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            do {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: path)
                process.arguments = arguments
                let pipe = Pipe()
                process.standardOutput = pipe
                process.standardError = FileHandle.nullDevice
                try process.run()
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: String(decoding: data, as: UTF8.self))
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }
}
