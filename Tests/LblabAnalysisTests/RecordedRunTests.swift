import Foundation
import LblabAnalysis
import LblabCapture
import Testing

/// The verdict rules on captures lblab recorded from its own runs in the kernel VM
/// (`lblab test dr-basic --set connections=8 --captures DIR`, see Fixtures/README.md).
@Suite struct RecordedRunTests {
    struct Run {
        var record: RunRecord
        var captures: [String: [RawFrame]]

        func analyze() -> AnalysisReport {
            LabAnalyzer.analyze(facts: record.facts, captures: captures, outcomes: record.outcomes, expectations: record.expectations)
        }
    }

    func load(_ name: String) throws -> Run {
        let dir = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil)).appendingPathComponent(name).path
        let record = try RunRecord.read(from: dir)
        var captures: [String: [RawFrame]] = [:]
        for point in record.points {
            captures[point] = try PcapFile.read("\(dir)/\(point).pcap").map { RawFrame(timestamp: $0.timestamp, bytes: $0.bytes) }
        }
        return Run(record: record, captures: captures)
    }

    @Test func drBasicRunPassesEveryRule() throws {
        let report = try load("dr-basic-pass").analyze()
        #expect(report.passed)
        #expect(report.sent == 8 && report.answered == 8)
        #expect(report.fromClient == ["rs1": 4, "rs2": 4])
        #expect(report.fromCapture == ["rs1": 4, "rs2": 4])
        for rule in ["answered", "distribution", "dr-path", "arp"] {
            #expect(report.verdict(rule)?.passed == true, "\(rule)")
        }
    }

    @Test func aReplyThroughTheDispatcherBreaksTheDRPath() throws {
        var run = try load("dr-basic-pass")
        let vip = run.record.facts.vip
        // Copy one real reply (source VIP) into the dispatcher's capture, as if it went back through it.
        let reply = try #require(run.captures["rs1"]?.first { FrameDecoder.decode($0.bytes, timestamp: 0)?.ipv4?.source == vip })
        run.captures["dispatcher", default: []].append(reply)
        let report = run.analyze()
        #expect(report.verdict("dr-path")?.passed == false)
        #expect(report.verdict("arp")?.passed == true)
    }

    @Test func arpFluxRunFailsTheARPRuleNamingTheRealServers() throws {
        let run = try load("dr-basic-arpflux")
        let report = run.analyze()
        #expect(!report.passed)
        let arp = try #require(report.verdict("arp"))
        #expect(!arp.passed)
        let evidence = arp.evidence.joined(separator: "\n")
        for rs in run.record.facts.realServers {
            #expect(evidence.contains("\(rs.name) \(rs.mac)"), "evidence must show \(rs.name)'s ARP reply: \(evidence)")
        }
        // The client cached a real server's MAC for the VIP: every connection bypassed the dispatcher.
        #expect(report.verdict("dr-path")?.passed == false)
        #expect(report.fromClient.values.max() == 8)
    }

    @Test func masqueradingInsideADRLabFailsThePathRule() throws {
        let report = try load("dr-basic-masq").analyze()
        #expect(report.verdict("dr-path")?.passed == false)
        #expect(report.verdict("answered")?.passed == false)
        #expect(report.failed == 3 && report.answered == 3)
        #expect(report.verdict("arp")?.passed == true)
    }
}
