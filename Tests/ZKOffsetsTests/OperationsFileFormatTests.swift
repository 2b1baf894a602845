import Testing
import ZKOffsets
import ZKOffsetsTool

@Suite("Operations: offsets file formats")
struct OperationsFileFormatTests {
    static let entries = [
        OffsetEntry(group: "g,1", partition: TopicPartition(topic: "t", partition: 10), offset: 7),
        OffsetEntry(group: "g,1", partition: TopicPartition(topic: "t", partition: 2), offset: 0),
        OffsetEntry(group: "a", partition: TopicPartition(topic: "x.y", partition: 0), offset: 9_223_372_036_854_775_807),
        OffsetEntry(group: "g,1", partition: TopicPartition(topic: "s", partition: 0), offset: 5),
    ]

    @Test func zkFormatIsExportZkOffsetsLinesSorted() {
        #expect(
            OffsetFile.render(Self.entries, format: .zk) == """
                /consumers/a/offsets/x.y/0:9223372036854775807
                /consumers/g,1/offsets/s/0:5
                /consumers/g,1/offsets/t/2:0
                /consumers/g,1/offsets/t/10:7

                """)
    }

    @Test func csvFormatIsGroupTopicPartitionOffset() {
        #expect(
            OffsetFile.render(Self.entries, format: .csv) == """
                a,x.y,0,9223372036854775807
                g,1,s,0,5
                g,1,t,2,0
                g,1,t,10,7

                """)
    }

    @Test func jsonFormatIsOneObjectPerGroupLine() {
        #expect(
            OffsetFile.render(Self.entries, format: .json) == """
                {"groupid":"a","offsets":{"x.y":{"0":9223372036854775807}}}
                {"groupid":"g,1","offsets":{"s":{"0":5},"t":{"2":0,"10":7}}}

                """)
    }

    @Test(arguments: OffsetFileFormat.allCases)
    func everyFormatParsesBackWhatItRenders(format: OffsetFileFormat) throws {
        let text = OffsetFile.render(Self.entries, format: format)
        #expect(OffsetFile.detect(text) == format)
        let parsed = try OffsetFile.parse(text)
        #expect(parsed.sorted() == Self.entries.sorted())
        #expect(OffsetFile.render(parsed, format: format) == text)
    }

    @Test func garbageFileReportsEveryLine() {
        let text = "hello\n\u{01}\u{02}binary\nwhat,is,this\n"
        #expect {
            try OffsetFile.parse(text, format: .csv)
        } throws: { error in
            (error as? OffsetFileError)?.lines == [1, 2, 3]
        }
    }

    @Test func halfBadCSVNamesOnlyTheBadLines() throws {
        let text = """
            g,t,0,5
            g,t,1,+5
            g,t,2, 5
            g,t,3,05
            g,../t,4,1
            g,t,x,1
            g,t,5,-1
            g,t,6,99999999999999999999
            g,t,0,6
            g,t,7,8
            """
        let error = try #require(throws: OffsetFileError.self) { try OffsetFile.parse(text) }
        #expect(error.lines == [2, 3, 4, 5, 6, 7, 8, 9])
        #expect(error.description.contains("line 9: group 'g' t-0 appears again (first on line 1)"))
        #expect(error.description.contains("line 5: invalid topic '../t'"))
    }

    @Test func zkLinesRejectOtherPathsAndBadNames() throws {
        let text = """
            /consumers/g/offsets/t/0:1
            /consumers/g/owners/t/0:1
            /brokers/g/offsets/t/0:1
            /consumers/g/offsets/t/0
            /consumers/g/offsets/t/1:1x
            /consumers/../offsets/t/2:1
            """
        let error = try #require(throws: OffsetFileError.self) { try OffsetFile.parse(text, format: .zk) }
        #expect(error.lines == [2, 3, 4, 5, 6])
        #expect(error.description.contains("line 6: invalid group id '..'"))
    }

    @Test func jsonLinesRejectFractionsNegativesAndShape() throws {
        let text = """
            {"groupid":"g","offsets":{"t":{"0":5}}}
            {"groupid":"g","offsets":{"t":{"1":5.5}}}
            {"groupid":"g","offsets":{"t":{"2":-1}}}
            {"group":"g","offsets":{}}
            {"groupid":"g/h","offsets":{"t":{"3":1}}}
            [1,2]
            """
        let error = try #require(throws: OffsetFileError.self) { try OffsetFile.parse(text, format: .json) }
        #expect(error.lines == [2, 3, 4, 5, 6])
    }

    @Test func emptyFileIsAnError() {
        #expect(throws: OffsetFileError.self) { try OffsetFile.parse("\n\n") }
    }

    @Test func resetFileTakesTopicPartitionOffsetForTheGroup() throws {
        let parsed = try OffsetFile.parse("t,0,5\nt,1,6\n", format: .csv, defaultGroup: "g")
        #expect(parsed == [
            OffsetEntry(group: "g", partition: TopicPartition(topic: "t", partition: 0), offset: 5),
            OffsetEntry(group: "g", partition: TopicPartition(topic: "t", partition: 1), offset: 6),
        ])
        #expect(throws: OffsetFileError.self) { try OffsetFile.parse("t,0,5\n", format: .csv) }
    }

    @Test func durationsAndDatetimes() throws {
        #expect(try ResetTarget.parseDuration("PT1H30M") == 5_400_000)
        #expect(try ResetTarget.parseDuration("P1DT2H3M4.5S") == 93_784_500)
        #expect(try ResetTarget.parseDuration("P2D") == 172_800_000)
        for bad in ["", "P", "PT", "1H", "PT1D", "P1H", "PT-1S", "PTxS"] {
            #expect(throws: OffsetError.self, "\(bad)") { try ResetTarget.parseDuration(bad) }
        }
        #expect(try ResetTarget.parseDatetime("2024-05-01T12:00:00Z") == 1_714_564_800_000)
        #expect(try ResetTarget.parseDatetime("2024-05-01T14:00:00.250+02:00") == 1_714_564_800_250)
        #expect(throws: OffsetError.self) { try ResetTarget.parseDatetime("yesterday") }
    }

    @Test func topicSelections() throws {
        #expect(try TopicSelection(parsing: "t") == TopicSelection(topic: "t"))
        #expect(try TopicSelection(parsing: "t:0,3") == TopicSelection(topic: "t", partitions: [0, 3]))
        for bad in ["t:", "t:x", "t:-1", "../x", "a/b:0", ""] {
            #expect(throws: OffsetError.self, "\(bad)") { try TopicSelection(parsing: bad) }
        }
    }

    @Test func verifyNamesEachKindOfBadData() {
        #expect(OffsetVerifier.problem(with: Array("42".utf8)) == nil)
        #expect(OffsetVerifier.problem(with: []) == "empty data")
        #expect(OffsetVerifier.problem(with: Array("42\n".utf8)) == "surrounding whitespace")
        #expect(OffsetVerifier.problem(with: Array("+42".utf8)) == "a sign")
        #expect(OffsetVerifier.problem(with: Array("-1".utf8)) == "a sign")
        #expect(OffsetVerifier.problem(with: Array("042".utf8)) == "leading zeros")
        #expect(OffsetVerifier.problem(with: [0xAC, 0xED, 0x00, 0x05, 0x73]) == "Java-serialized bytes")
        #expect(OffsetVerifier.problem(with: Array("4 2".utf8)) == "not a decimal number")
    }

    @Test func tableColumnsAreAlignedWithoutTrailingSpaces() {
        let table = TextTable(header: ["A", "BB", "C"], rows: [["xxx", "y", ""], ["z", "", "w"]])
        #expect(table.lines == ["A    BB  C", "xxx  y", "z        w"])
    }
}
