import Foundation
import Testing
import ZKOffsets
import ZKOffsetsTool

/// The fuzz targets' properties (HostileInputProperties.swift) on every committed corpus file, and the findings
/// of fuzzing as plain regression tests. scripts/fuzz runs the coverage-guided fuzzer itself.
@Suite("Hostile input")
struct HostileInputTests {
    @Test(arguments: HostileInput.targets)
    func everyCorpusFileKeepsItsTargetsProperty(target: String) throws {
        let directory = Ensemble.repositoryRoot + "/Fuzz/Corpus/" + target
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(!files.isEmpty, "no corpus in \(directory)")
        for file in files {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/" + file)))
            #expect(HostileInput.violation(target: target, bytes) == nil, "\(target)/\(file)")
        }
    }

    /// Found by the issue, kept by the offset-value target: verify accepted what every other reader refused.
    @Test func everyReaderRefusesAnOffsetBeyondInt64() {
        let bytes = Array("99999999999999999999".utf8)
        #expect(OffsetValue.classify(bytes) == .malformed(reason: "a number beyond 64 bits"))
        #expect(OffsetVerifier.problem(with: bytes) == "a number beyond 64 bits")
        #expect(!OffsetValue.isCanonical(bytes))
        let error = #expect(throws: OffsetError.self) { try OffsetValue.decode(bytes, path: "/consumers/g/offsets/t/0") }
        #expect(error?.message.contains("/consumers/g/offsets/t/0") == true)
        #expect(OffsetValue.classify(Array("9223372036854775807".utf8)) == .canonical(.max))
        #expect(OffsetValue.classify(Array("0009223372036854775807".utf8)) == .tolerated(.max, reason: "leading zeros"))
    }

    /// Found by the connect-string target: a line break was accepted as a host name.
    @Test(arguments: ["\n", "zk1:2181,\u{0}:2181", "zk\u{7}1:2181", "zk 1:2181"])
    func hostsWithBlanksOrControlCharactersAreRefused(text: String) {
        let error = #expect(throws: ZooKeeperError.self) { try ConnectString(text) }
        #expect(error?.code == .invalidConnectString)
    }

    /// Found by the names target: a C1 control character (U+0099) passed as a group id, and characters the server
    /// refuses in a znode name (beyond U+FFFF, U+FFF0...) reached ZooKeeper before failing there.
    @Test(arguments: ["\u{99}0", "g\u{1F600}", "g\u{FFFD}", "g\u{E000}"])
    func groupsZooKeeperWouldRefuseAreRefusedBeforeAnyZnode(group: String) {
        let error = #expect(throws: OffsetError.self) { try OffsetLayout(group: group) }
        #expect(error?.code == .invalidGroup)
        #expect(ZNodePath.problem("/consumers/" + group) != nil || group.unicodeScalars.first?.value == 0x99)
    }

    /// Found by the names target in CI: "a/" + U+05A2 hid its '/' from a Character-based check and added a level.
    @Test func aSlashFollowedByACombiningMarkIsStillASlash() {
        let error = #expect(throws: OffsetError.self) { try OffsetLayout(group: "a/\u{5A2}") }
        #expect(error?.code == .invalidGroup)
    }

    /// Found by the connect-string target: brackets inside a host printed a string that did not parse back.
    @Test func bracketsInsideAHostAreRefused() throws {
        #expect(throws: ZooKeeperError.self) { try ConnectString("[::1]:2181,f[:e0:81%eth0]:2182/b") }
        #expect(try ConnectString("[fe80::1%eth0]:2182").servers.first?.host == "fe80::1%eth0")
        // Also found there: U+0601 joins the ':' after it into one Character; the port must still be found.
        let prepended = try ConnectString("zk\u{601}:2182")
        #expect(prepended.servers.first?.port == 2182)
        #expect(try ConnectString(prepended.description) == prepended)
    }

    /// Found by the connect-string target in CI: a chroot starting with "/" + a combining mark failed a
    /// Character-based check of the property; the parser's own "//" check was Character-based too.
    @Test func aChrootSlashFollowedByACombiningMarkIsStillASlash() throws {
        let parsed = try ConnectString(" z/\u{305}   9/ot")
        #expect(parsed.chroot == "/\u{305}   9/ot")
        #expect(try ConnectString(parsed.description) == parsed)
        #expect(throws: ZooKeeperError.self) { try ConnectString("zk:2181/a//\u{305}b") }
        #expect(throws: ZooKeeperError.self) { try ConnectString("zk:2181/a/\u{1}b") }
    }

    /// Found while fixing the names target: Swift splits Characters, and "\r\n" or "/" + a combining mark is one.
    @Test func filesWithWindowsLineEndsAndGroupsStartingWithACombiningMarkParse() throws {
        let crlf = try OffsetFile.parse("g,t,0,5\r\ng,t,1,6\r\n", format: .csv)
        #expect(crlf.map(\.offset) == [5, 6])
        let group = "\u{5A2}g"
        let entries = [OffsetEntry(group: group, partition: TopicPartition(topic: "t", partition: 0), offset: 5)]
        for format in OffsetFileFormat.allCases {
            #expect(try OffsetFile.parse(OffsetFile.render(entries, format: format), format: format) == entries, "\(format)")
        }
        #expect(ZNodePath.ancestorsAndSelf("/consumers/\(group)/offsets") == ["/consumers", "/consumers/\(group)", "/consumers/\(group)/offsets"])
    }
}
