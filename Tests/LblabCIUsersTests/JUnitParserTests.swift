import Foundation
import LblabAnalysis
@testable import LblabRuntime
import Testing

/// lblab's JUnit files as a real consumer reads them: junitparser (PyPI), in a separate process.
@Suite(.enabled(if: Tools.enabled, "needs junitparser: run ci/setup.sh"))
struct JUnitParserTests {
    init() throws {
        if !Tools.present { Issue.record("\(Tools.missing)") }
    }

    func write(_ report: TestReport, overrides: [String] = [], in dir: String, as name: String) throws -> String {
        let path = "\(dir)/\(name).xml"
        // The lab as the recorded run had it (its connection count).
        let spec = try Reports.spec(overrides: ["connections=\(report.connections)"] + overrides).spec
        try JUnitReport(report, spec: spec, overrides: overrides, started: Date()).write(to: path)
        return path
    }

    /// junitparser agrees with the analysis on counts, names, failure messages and texts.
    func expectAgreement(_ parsed: ParsedJUnit, with report: TestReport) throws {
        let suite = try #require(parsed.suites.first)
        #expect(parsed.suites.count == 1)
        let verdicts = report.analysis.verdicts
        let broken = verdicts.filter { !$0.passed }
        #expect(suite.name == "lblab test \(report.lab)")
        #expect(suite.tests == verdicts.count)
        #expect(suite.failures == broken.count)
        #expect(suite.errors == 0 && suite.skipped == 0)
        #expect(abs(suite.time - report.totalSeconds) < 0.001)
        #expect(suite.properties["lab"] == report.lab)
        #expect(suite.properties["connections"] == String(report.connections))
        #expect(suite.cases.map(\.name) == verdicts.map(\.rule))
        // Counted from the test cases themselves, not only from the suite's attributes.
        #expect(suite.cases.filter { $0.results.contains { $0.kind == "Failure" } }.map(\.name) == broken.map(\.rule))
        for (c, v) in zip(suite.cases, verdicts) {
            if v.passed {
                #expect(c.results.isEmpty, "\(c.name): \(c.results)")
                #expect(c.systemOut == ([v.summary] + v.evidence).joined(separator: "\n"))
            } else {
                let failure = try #require(c.results.first)
                #expect(failure.kind == "Failure")
                #expect(failure.message == v.summary)
                #expect(failure.text == v.evidence.joined(separator: "\n"))
            }
        }
    }

    @Test func passingAndFailingRunsReadBackAsTheyWereJudged() throws {
        let dir = try Tools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pass = try Reports.recorded("dr-basic-pass")
        let fail = try Reports.recorded("dr-basic-arpflux")
        #expect(pass.passed && !fail.passed, "the fixtures: one run passes, the ARP-flux run fails")
        try expectAgreement(try ParsedJUnit.read(try write(pass, in: dir, as: "pass")), with: pass)
        try expectAgreement(try ParsedJUnit.read(try write(fail, overrides: ["arp_fix=false"], in: dir, as: "fail")), with: fail)
        #expect(try ParsedJUnit.read("\(dir)/fail.xml").suites.first?.properties["overrides"] == "arp_fix=false")
    }

    @Test func hostileEvidenceSurvivesAStrictReader() throws {
        let dir = try Tools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let report = try Reports.hostileReport()
        let parsed = try ParsedJUnit.read(try write(report, in: dir, as: "hostile"))
        let c = try #require(parsed.suites.first?.cases.first { $0.name == "answered" })
        #expect(c.results.first?.text == Reports.hostileReadBack + "\nsecond line")
        #expect(c.results.first?.message == "summary with <, &, \" and\ta tab\nand a line")
    }

    @Test func theReaderRefusesWhatLblabMustNeverWrite() throws {
        // The check above means something: the same reader rejects a raw control character.
        let dir = try Tools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/raw.xml"
        let bad = "<?xml version=\"1.0\"?><testsuites><testsuite name=\"s\"><testcase name=\"c\"><failure message=\"m\">esc \u{1B} here</failure></testcase></testsuite></testsuites>"
        try Data(bad.utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: ParsedJUnit.ParseFailure.self) { try ParsedJUnit.read(path) }
    }
}

/// `lblab test --junit` as a CI job runs it, where the test cannot run (exit 2). These need
/// neither root nor IPVS; the runs with verdicts are in LblabIntegrationTests (JUnitIntegrationTests).
@Suite(.enabled(if: Tools.enabled, "needs junitparser: run ci/setup.sh"))
struct JUnitCommandTests {
    @Test func aLabThatDoesNotExistIsAnErrorInTheReportAndExit2() throws {
        let dir = try Tools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/out/report.xml"
        let r = try Tools.run([Tools.lblab, "test", "no-such-lab", "--junit", path])
        #expect(r.status == 2, "\(r)")
        #expect(r.err.contains("no lab named 'no-such-lab'"), "\(r)")
        let suite = try #require(try ParsedJUnit.read(path).suites.first)
        #expect(suite.name == "lblab test no-such-lab")
        #expect(suite.tests == 1 && suite.errors == 1 && suite.failures == 0)
        let error = try #require(suite.cases.first?.results.first)
        #expect(error.kind == "Error")
        #expect(error.message?.contains("no lab named 'no-such-lab'") == true, "\(error)")
        #expect(suite.properties["exit_status"] == "2")
    }

    @Test func aBadSettingNamesTheKeyInTheReport() throws {
        let dir = try Tools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/report.xml"
        let r = try Tools.run([Tools.lblab, "test", "labs/dr-basic.yaml", "--set", "scheduler=rrr", "--junit", path])
        #expect(r.status == 2, "\(r)")
        let error = try #require(try ParsedJUnit.read(path).suites.first?.cases.first?.results.first)
        #expect(error.kind == "Error")
        #expect(error.text?.contains("scheduler") == true && error.text?.contains("rrr") == true, "\(error)")
    }

    @Test func anUnwritableReportPathFailsBeforeTheTest() throws {
        let dir = try Tools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try Tools.run([Tools.lblab, "test", "dr-basic", "--junit", dir])
        #expect(r.status == 2, "\(r)")
        #expect(r.err.contains("cannot write the JUnit report to \(dir) (it is a directory)"), "\(r)")
        #expect(!r.out.contains("connections"), "the test must not have started: \(r)")
    }

    /// Root on a kernel without IPVS (as here): `lblab test` goes to the lab VM. A VM that cannot
    /// boot is exit 2 and an error in the report naming why.
    @Test(.enabled(if: geteuid() == 0 && !FileManager.default.fileExists(atPath: "/proc/net/ip_vs")
                   && !FileManager.default.fileExists(atPath: "/lib/modules/\(Tools.kernelRelease)/kernel/net/netfilter/ipvs"),
                   "needs root on a kernel without IPVS"))
    func aVMThatWritesNoReportIsAnError() throws {
        let dir = try Tools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/report.xml"
        // A "virtme-ng" that fails at once, as one that cannot boot does.
        let r = try Tools.run([Tools.lblab, "test", "dr-basic", "--junit", path],
                              environment: ["LBLAB_VNG": "/bin/false", "LBLAB_VM_KERNEL": "/proc/version"])
        #expect(r.status == 2, "\(r)")
        #expect(r.err.contains("the lab VM cannot boot"), "\(r)")
        let error = try #require(try ParsedJUnit.read(path).suites.first?.cases.first?.results.first)
        #expect(error.kind == "Error")
        #expect(error.message?.contains("the lab VM cannot boot") == true, "the report names the cause: \(error)")
    }

    @Test func anOldReportNeverOutlivesTheRunThatWroteIt() throws {
        let dir = try Tools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/report.xml"
        try Data("<testsuites><testsuite name=\"old\" tests=\"0\"/></testsuites>".utf8).write(to: URL(fileURLWithPath: path))
        let r = try Tools.run([Tools.lblab, "test", "no-such-lab", "--junit", path])
        #expect(r.status == 2)
        #expect(try ParsedJUnit.read(path).suites.first?.name == "lblab test no-such-lab")
    }
}
