import Foundation
import LblabAnalysis
import LblabCapture
import LblabModel
import Testing

/// The verdict rules on captures lblab recorded from its own runs in the kernel VM
/// (`lblab test LAB --set connections=8 --captures DIR`, see Fixtures/README.md).
@Suite struct RecordedRunTests {
    struct Run {
        var record: RunRecord
        var captures: [String: [RawFrame]]

        func analyze() -> AnalysisReport {
            LabAnalyzer.analyze(spec: record.spec, facts: record.facts, outcomes: record.outcomes, captures: captures)
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
        let reply = try #require(run.captures["rs1"]?.first { FrameDecoder.decode($0.bytes, timestamp: 0)?.ipv4?.source.description == vip.description })
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
        for rs in run.record.facts.nodes where rs.role == .real {
            #expect(evidence.contains("\(rs.name) \(rs.interfaces[0].mac!)"), "evidence must show \(rs.name)'s ARP reply: \(evidence)")
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

    func text(_ v: RuleVerdict?) -> String { ([v?.summary ?? ""] + (v?.evidence ?? [])).joined(separator: "\n") }

    @Test func natBasicRunPassesEveryRule() throws {
        let run = try load("nat-basic-pass")
        #expect(Set(run.captures.keys) == ["client", "dispatcher-eth0", "dispatcher-eth1", "rs1", "rs2"])
        let report = run.analyze()
        #expect(report.verdicts.map(\.rule) == ["answered", "distribution", "nat-path", "arp"])
        #expect(report.passed, "\(report.render())")
        #expect(report.fromClient == ["rs1": 4, "rs2": 4] && report.fromCapture == ["rs1": 4, "rs2": 4])
    }

    @Test func natBasicJudgedAsDRFailsTheDRPathOnly() throws {
        var run = try load("nat-basic-pass")
        run.record.spec.expect.path = .dr
        let report = run.analyze()
        #expect(report.verdicts.map(\.rule) == ["answered", "distribution", "dr-path", "arp"])
        #expect(report.verdict("dr-path")?.passed == false)
        #expect(report.verdict("answered")?.passed == true && report.verdict("distribution")?.passed == true)
    }

    @Test func natWithAWrongGatewayOnRS1NamesRS1() throws {
        let report = try load("nat-basic-gateway").analyze()
        let nat = try #require(report.verdict("nat-path"))
        #expect(!nat.passed && report.verdict("answered")?.passed == false)
        #expect(nat.summary == "2 flows whose replies did not cross dispatcher (rs1 2)")
        #expect(nat.evidence.contains("rs1 asked ARP for 203.0.113.254 x2 and got no reply (its gateway)"), "\(text(nat))")
    }

    @Test func natWithoutForwardingOnTheDispatcherFails() throws {
        let report = try load("nat-basic-noforward").analyze()
        let nat = try #require(report.verdict("nat-path"))
        #expect(!nat.passed && report.verdict("answered")?.passed == false)
        #expect(nat.summary == "4 flows whose replies did not cross dispatcher (rs1 2, rs2 2)")
        #expect(nat.evidence.contains { $0.hasSuffix("none left it on the front: it did not forward them (the lab turns ip_forward off on dispatcher)") }, "\(text(nat))")
    }

    @Test func tunBasicRunPassesEveryRule() throws {
        let report = try load("tun-basic-pass").analyze()
        #expect(report.verdicts.map(\.rule) == ["answered", "distribution", "tun-path", "arp"])
        #expect(report.passed, "\(report.render())")
        #expect(report.fromClient == ["rs1": 4, "rs2": 4] && report.fromCapture == ["rs1": 4, "rs2": 4])
    }

    @Test func tunWithoutATunnelOnRS1ShowsTheKernelsICMP() throws {
        let report = try load("tun-basic-notunnel").analyze()
        let tun = try #require(report.verdict("tun-path"))
        #expect(!tun.passed && report.verdict("answered")?.passed == false)
        #expect(tun.summary.hasPrefix("2 flows without direct replies (never answered: rs1 2)"))
        let all = text(tun)
        #expect(all.contains("rs1 received 2 tunnelled requests and answered none: it sent ICMP destination unreachable (port unreachable) x2 about IP-in-IP"), "\(all)")
        #expect(all.contains("the kernel shows no ipip interface holding 198.51.100.100 on rs1"))
        // IPVS relays the error to the client from the VIP: the client's connect is refused.
        #expect(all.contains("(ICMP destination unreachable (port unreachable)) x2"))
        #expect(try load("tun-basic-notunnel").record.outcomes.contains { $0.error == "connect: Connection refused" })
    }

    @Test func tunWithStrictRPFilterOnRS1DropsSilently() throws {
        let report = try load("tun-basic-rpfilter").analyze()
        let tun = try #require(report.verdict("tun-path"))
        #expect(!tun.passed && report.verdict("answered")?.passed == false)
        #expect(tun.summary == "2 flows without direct replies (never answered: rs1 2)")
        #expect(tun.evidence.contains("rs1 received 2 tunnelled requests and answered none: no reply and no ICMP error, its kernel dropped them silently; rs1 has ipip0 holding 198.51.100.100; the lab sets rp_filter=1 (strict) on rs1"), "\(text(tun))")
    }
}
