import ArgumentParser
import Foundation
import LblabAnalysis
import LblabModel
import LblabRuntime
import LblabSystem

struct Test: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run a lab's traffic through kernel IPVS, capture every lab interface and check the lab's expectations.",
        discussion: """
        Brings the lab up when it is not (and down afterwards), sends the lab's connections from the client,
        and checks: every connection answered; the distribution over the real servers (from what the client
        received and from the captures); the packet path of the lab's mode; who answers ARP for the VIP.
        Exit status 0 when every rule holds, 1 when one fails, 2 when the test could not run.
        On a kernel without IPVS it runs in the lab VM (see `lblab vm`): booted for the test when none runs, stopped after it when no lab is left.
        """)
    @Argument(help: "The lab.") var lab: String
    @OptionGroup var settings: SettingOptions
    @Flag(help: "Leave the lab up afterwards when test brought it up.") var keep = false
    @Option(help: "Copy the run's pcap files and run.json into this directory (`lblab analyze DIR` judges it again).") var captures: String?
    @Flag(name: .customLong("no-vm"), help: "Never use the lab VM (on a kernel without IPVS the test then fails with exit status 2).") var noVM = false
    @Option(help: ArgumentHelp("Also write the result as JUnit XML to this file: one test case per rule; when the test cannot run (exit 2), one test case `run` with the error.", valueName: "FILE"))
    var junit: String?
    @OptionGroup var output: OutputOptions

    func run() throws {
        try reportingErrors {
            let started = Date()
            // JUnit: checked before the test, written whatever its outcome, even when it cannot run.
            if let junit { try JUnitFileError.prepare(junit) }
            do {
                // `lblab test lb-vs-dns`: a built-in comparison of two labs (no lab file of that name).
                if lab == LBvsDNS.name {
                    guard junit == nil, settings.settings.isEmpty, !keep else {
                        throw ValidationError("\(LBvsDNS.name) compares two labs as they are: it takes no --set, --keep or --junit (test \(LBvsDNS.dnsLab) or \(LBvsDNS.lbLab) alone for those)")
                    }
                    return try compareLBvsDNS()
                }
                if try forwardedToVM() { return }
                try test(started: started)
            } catch let e as ExitCode {
                throw e
            } catch {
                if let junit {
                    let spec = try? loadLab(lab, settings: settings.settings)
                    do {
                        try JUnitReport(couldNotRun: lab, error: error, spec: spec, overrides: settings.settings, started: started).write(to: junit)
                    } catch let writeError {
                        FileHandle.standardError.write(Data("lblab: \(writeError)\n".utf8))
                    }
                }
                throw error
            }
        }
    }

    func test(started: Date) throws {
        let spec = try loadLab(lab, settings: settings.settings)
        try LabRuntime.requireRoot()
        if !spec.mode.usesIPVS {
            if junit != nil { throw ValidationError("--junit is not available for DNS labs yet (lab \(spec.name) is mode dns): use --json") }
            return try testDNS(spec)
        }
        if !output.json {
            let service = spec.service(named: spec.traffic.service) ?? spec.services[0]
            print("lblab test \(spec.name): \(spec.mode.rawValue.uppercased()), \(service.label) scheduler \(service.scheduler.rawValue), ARP fix \(spec.arpFix ? "on" : "OFF"), \(spec.traffic.summary)")
            print("  " + SchedulerOracle.explanation(service.scheduler))
        }
        let report = try LabRuntime().test(spec, keepUp: keep, captureDirectory: captures) { line in
            if !output.json { print(line) }
        }
        if let junit {
            try JUnitReport(report, spec: spec, overrides: settings.settings, started: started).write(to: junit)
        }
        if output.json { try printJSON(report) } else { print(Report.text(report)) }
        if !report.passed { throw Exit.ruleFailed }
    }
}

/// `lblab test --junit` in the lab VM ended without the report lblab writes there.
struct VMWroteNoReport: Error, CustomStringConvertible {
    var status: Int32
    var description: String {
        "lblab in the lab VM ended (status \(status)) before it wrote the JUnit report: the VM did not boot or lblab could not run in it (the messages above say why); `lblab doctor --vm` checks the VM"
    }
}

/// The test report as text.
enum Report {
    static func text(_ r: TestReport) -> String {
        let a = r.analysis
        var out: [String] = [""]
        out.append("distribution over the real servers (from the client / from the captures):")
        let servers = Array(a.fromClient.keys) + Array(a.fromCapture.keys) + r.facts.nodes.filter { $0.role == .real }.map(\.name)
        for s in Set(servers).sorted() {
            let c = a.fromClient[s] ?? 0, p = a.fromCapture[s] ?? 0
            let share = a.sent > 0 ? Double(c) * 100 / Double(a.sent) : 0
            out.append("  \(s.padding(12)) \(String(c).padding(6)) / \(String(p).padding(6)) \(String(format: "%5.1f%%", share))")
        }
        out.append(String(format: "latency: p50 %.1f ms, p99 %.1f ms, max %.1f ms", r.latencyMillis.p50, r.latencyMillis.p99, r.latencyMillis.max))
        out.append("")
        out += verdicts(a)
        let dropped = r.droppedByCapture.values.reduce(0, +)
        if dropped > 0 { out.append("warning: the captures dropped \(dropped) packets") }
        if let any = r.captureFiles.values.first {
            let dir = URL(fileURLWithPath: any).deletingLastPathComponent().path
            out.append("captures: \(dir)/{\(r.captureFiles.keys.sorted().joined(separator: ","))}.pcap + run.json (judge again: lblab analyze \(dir))")
        }
        out.append(verdictLine(a) + String(format: " in %.2f s", r.totalSeconds))
        return out.joined(separator: "\n")
    }

    /// One line per rule with its evidence.
    static func verdicts(_ a: AnalysisReport) -> [String] {
        a.verdicts.flatMap { v in
            ["\(v.passed ? "PASS" : "FAIL") \(v.rule.padding(13)) \(v.summary)"] + v.evidence.map { "     \("".padding(13)) \($0)" }
        }
    }

    static func verdictLine(_ a: AnalysisReport) -> String {
        let failed = a.verdicts.filter { !$0.passed }.map(\.rule)
        return String(format: "%@: %d rules hold, %d broken (%@)", a.passed ? "PASS" : "FAIL", a.verdicts.count - failed.count, failed.count,
                      failed.isEmpty ? "all rules hold" : failed.joined(separator: ", "))
    }
}
