import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import LblabAnalysis
@testable import LblabRuntime
import Testing

/// Test reports to write as JUnit: real analyses of runs lblab recorded in the kernel VM
/// (Tests/LblabAnalysisTests/Fixtures), and hand-made verdicts with hostile evidence.
enum Reports {
    static func fixture(_ name: String) -> String { "\(Tools.repoRoot)/Tests/LblabAnalysisTests/Fixtures/\(name)" }

    static func spec(overrides: [String] = []) throws -> Lab {
        try Lab.load("\(Tools.repoRoot)/labs/dr-basic.yaml", overrides: overrides)
    }

    /// A TestReport around `analysis`, as `lblab test` would return it.
    static func report(_ analysis: AnalysisReport, facts: RunFacts, total: Double = 3.25) -> TestReport {
        TestReport(lab: "dr-basic", scheduler: .rr, arpFix: true, connections: analysis.sent, concurrency: 8, facts: facts,
                   analysis: analysis, captureFiles: [:], droppedByCapture: [:], trafficSeconds: 1.5, totalSeconds: total,
                   latencyMillis: LatencySummary([0.001, 0.002]), broughtUp: true)
    }

    /// The recorded run `name` judged again, as a TestReport.
    static func recorded(_ name: String) throws -> TestReport {
        let (record, analysis) = try LabRuntime.analyzeSaved(fixture(name))
        return report(analysis, facts: record.facts)
    }

    /// Evidence no XML may hold as it is: markup, quotes, a CDATA end, control characters
    /// (NUL, BEL, ESC, DEL), CR/LF, tab, a non-character, non-ASCII text.
    static let hostile = "rs1 said <b>\"hi\" & 'bye'</b> ]]> \u{0}\u{7}\u{1B}[31mred\u{1B}[0m\u{7F}\r\nnext\tline \u{FFFE} ü 🙂"
    /// What a reader must get back: the same, with the characters XML cannot hold written as `\u{..}`.
    static let hostileReadBack = "rs1 said <b>\"hi\" & 'bye'</b> ]]> \\u{0}\\u{7}\\u{1B}[31mred\\u{1B}[0m\u{7F}\r\nnext\tline \\u{FFFE} ü 🙂"

    static func hostileReport() throws -> TestReport {
        let base = try recorded("dr-basic-pass")
        var verdicts = base.analysis.verdicts
        verdicts[0] = RuleVerdict(rule: "answered", passed: false, summary: "summary with <, &, \" and\ta tab\nand a line",
                                  evidence: [hostile, "second line"])
        let a = base.analysis
        return report(AnalysisReport(verdicts: verdicts, fromClient: a.fromClient, fromCapture: a.fromCapture,
                                     sent: a.sent, answered: a.answered, failed: a.failed), facts: base.facts)
    }
}

@Suite struct JUnitReportTests {
    func junit(_ report: TestReport, overrides: [String] = []) throws -> JUnitReport {
        JUnitReport(report, spec: try Reports.spec(overrides: overrides).spec, overrides: overrides,
                    started: Date(timeIntervalSince1970: 1_800_000_000))
    }

    /// The document parsed by Foundation's XML parser (libxml2), which refuses what XML 1.0 forbids.
    func parse(_ xml: String) throws -> XMLElement {
        let doc = try XMLDocument(data: Data(xml.utf8), options: [])
        return try #require(doc.rootElement())
    }

    func cases(_ root: XMLElement) -> [XMLElement] {
        (root.elements(forName: "testsuite").first?.elements(forName: "testcase")) ?? []
    }

    @Test func aPassingRunIsOneTestCasePerRuleWithoutFailures() throws {
        let report = try Reports.recorded("dr-basic-pass")
        #expect(report.passed)
        let root = try parse(try junit(report).xml)
        let suite = try #require(root.elements(forName: "testsuite").first)
        #expect(suite.attribute(forName: "name")?.stringValue == "lblab test dr-basic")
        #expect(suite.attribute(forName: "tests")?.stringValue == String(report.analysis.verdicts.count))
        #expect(suite.attribute(forName: "failures")?.stringValue == "0")
        #expect(suite.attribute(forName: "errors")?.stringValue == "0")
        #expect(suite.attribute(forName: "time")?.stringValue == "3.250")
        #expect(suite.attribute(forName: "timestamp")?.stringValue == "2027-01-15T08:00:00Z")
        let testcases = cases(root)
        #expect(testcases.compactMap { $0.attribute(forName: "name")?.stringValue } == report.analysis.verdicts.map(\.rule))
        for (c, v) in zip(testcases, report.analysis.verdicts) {
            #expect(c.elements(forName: "failure").isEmpty)
            #expect(c.elements(forName: "system-out").first?.stringValue == ([v.summary] + v.evidence).joined(separator: "\n"))
            #expect(c.attribute(forName: "classname")?.stringValue == "lblab.dr-basic")
        }
    }

    @Test func aBrokenRuleIsAFailureWithItsSummaryAndEvidence() throws {
        let report = try Reports.recorded("dr-basic-arpflux")
        let broken = report.analysis.verdicts.filter { !$0.passed }
        #expect(broken.map(\.rule).contains("arp"), "the ARP-flux run must break the arp rule")
        let root = try parse(try junit(report).xml)
        let suite = try #require(root.elements(forName: "testsuite").first)
        #expect(suite.attribute(forName: "failures")?.stringValue == String(broken.count))
        for v in broken {
            let c = try #require(cases(root).first { $0.attribute(forName: "name")?.stringValue == v.rule })
            let failure = try #require(c.elements(forName: "failure").first)
            #expect(failure.attribute(forName: "message")?.stringValue == v.summary)
            #expect(failure.stringValue == v.evidence.joined(separator: "\n"))
        }
    }

    @Test func propertiesSayWhatTheLabRanWith() throws {
        let report = try Reports.recorded("dr-basic-pass")
        let root = try parse(try junit(report, overrides: ["connections=8", "arp_fix=true"]).xml)
        let props = root.elements(forName: "testsuite").first?.elements(forName: "properties").first?.elements(forName: "property") ?? []
        let byName = Dictionary(props.compactMap { p in p.attribute(forName: "name")?.stringValue.map { ($0, p.attribute(forName: "value")?.stringValue ?? "") } },
                                uniquingKeysWith: { a, _ in a })
        #expect(byName["lab"] == "dr-basic")
        #expect(byName["mode"] == "dr")
        #expect(byName["scheduler"] == "rr")
        #expect(byName["connections"] == "8")
        #expect(byName["overrides"] == "connections=8 arp_fix=true")
        #expect(byName["sent"] == String(report.analysis.sent))
        #expect(byName["traffic_seconds"] == "1.500")
        #expect(byName["lab_file"]?.hasSuffix("labs/dr-basic.yaml") == true)
    }

    @Test func hostileEvidenceIsEscapedAndReadBackIntact() throws {
        let xml = try junit(try Reports.hostileReport()).xml
        // No raw control character (but LF and tab) reaches the file.
        #expect(!xml.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" && $0 != "\t" }, "raw control characters in the XML")
        let root = try parse(xml)
        let c = try #require(cases(root).first { $0.attribute(forName: "name")?.stringValue == "answered" })
        let failure = try #require(c.elements(forName: "failure").first)
        #expect(failure.stringValue == Reports.hostileReadBack + "\nsecond line")
        // Attribute values keep their tab and line break.
        #expect(failure.attribute(forName: "message")?.stringValue == "summary with <, &, \" and\ta tab\nand a line")
    }

    @Test func everyCharacterXMLForbidsIsReplacedAndEveryOtherKept() {
        for v in [0, 1, 8, 0xB, 0xC, 0x1F, 0xFFFE, 0xFFFF] {
            let s = String(Unicode.Scalar(UInt32(v))!)
            #expect(JUnitReport.text(s) == "\\u{\(String(v, radix: 16, uppercase: true))}")
            #expect(JUnitReport.attribute(s) == "\"\\u{\(String(v, radix: 16, uppercase: true))}\"")
        }
        for s in ["\t", "a", "\u{7F}", "\u{85}", "\u{D7FF}", "\u{E000}", "\u{FFFD}", "\u{10000}", "\u{10FFFF}"] {
            #expect(JUnitReport.text(s) == s)
        }
        #expect(JUnitReport.text("a<b>&c\r") == "a&lt;b&gt;&amp;c&#13;")
        #expect(JUnitReport.attribute("\"x\"\t\n\r") == "\"&quot;x&quot;&#9;&#10;&#13;\"")
    }

    @Test func aTestThatCouldNotRunIsOneError() throws {
        struct Boom: Error, CustomStringConvertible { var description = "the VM did not boot <qemu: 1>\nsecond line of it" }
        let lab = try Reports.spec()
        let report = JUnitReport(couldNotRun: "dr-basic", error: Boom(), spec: lab.spec, started: Date())
        #expect(report.errors == 1 && report.failures == 0)
        let root = try parse(report.xml)
        let c = try #require(cases(root).first)
        #expect(c.attribute(forName: "name")?.stringValue == "run")
        let error = try #require(c.elements(forName: "error").first)
        #expect(error.attribute(forName: "message")?.stringValue == "lblab could not test dr-basic: the VM did not boot <qemu: 1>")
        #expect(error.stringValue == Boom().description)
        // Without a lab file, the suite is still named after what was asked for.
        let bare = JUnitReport(couldNotRun: "no-such-lab", error: Boom(), started: Date())
        #expect(bare.suiteName == "lblab test no-such-lab")
        #expect(bare.properties.first { $0.name == "lab" }?.value == "no-such-lab")
    }

    @Test func theFileIsCheckedFirstAndAnOldReportRemoved() throws {
        let dir = try Tools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/reports/nested/lblab.xml"
        try JUnitFileError.prepare(path)  // creates the directories
        #expect(FileManager.default.fileExists(atPath: "\(dir)/reports/nested"))
        #expect(!FileManager.default.fileExists(atPath: path))
        try JUnitReport(couldNotRun: "x", error: JUnitFileError(path: "p", reason: "r"), started: Date()).write(to: path)
        #expect(FileManager.default.fileExists(atPath: path))
        try JUnitFileError.prepare(path)  // an old report never survives into the next run
        #expect(!FileManager.default.fileExists(atPath: path))

        #expect(throws: JUnitFileError.self) { try JUnitFileError.prepare(dir) }
        #expect(throws: JUnitFileError.self) { try JUnitFileError.prepare("/proc/lblab-report.xml") }
        let e = JUnitFileError(path: "/x/r.xml", reason: "Permission denied")
        #expect(e.description.contains("/x/r.xml") && e.description.contains("--junit"))
    }
}
