import LblabAnalysis
import LblabTypes
import Testing

@Suite struct AnalyzerTests {
    typealias L = SyntheticLab

    @Test func syntheticDRRunPassesEveryRule() {
        let report = L.drRun().analyze()
        #expect(report.verdicts.map(\.rule) == ["answered", "distribution", "dr-path", "arp"])
        for v in report.verdicts { #expect(v.passed, "\(v.rule): \(v.summary) \(v.evidence)") }
        #expect(report.passed)
        #expect(report.sent == 4 && report.answered == 4 && report.failed == 0)
        #expect(report.fromClient == ["rs1": 2, "rs2": 2])
        #expect(report.fromCapture == ["rs1": 2, "rs2": 2])
        let dr = report.verdict("dr-path")!
        #expect(dr.evidence.contains("client flows checked: 4"))
        #expect(dr.evidence.contains { $0.hasPrefix("(a)") && $0.hasSuffix("4/4") })
        #expect(dr.evidence.contains { $0.hasPrefix("(b)") && $0.hasSuffix("4/4") })
        #expect(dr.evidence.contains { $0.hasPrefix("(c)") && $0.hasSuffix("4/4") })
        #expect(dr.evidence.contains("(d) packets with source 198.51.100.100 on the dispatcher's point: 0"))
        #expect(report.verdict("arp")!.evidence.first == "ARP replies for VIP 198.51.100.100: dispatcher 02:00:00:00:00:02 x1")
        #expect(report.render().hasSuffix("all rules passed"))
    }

    @Test func replyLeakingThroughDispatcherFailsDRPath() {
        var lab = L.drRun()
        // A reply from the VIP relayed by the dispatcher (NAT-style return path).
        lab.see(Build.tcp(ethSrc: L.dispatcher.mac, ethDst: L.client.mac, src: L.vip, sport: 80, dst: L.client.address,
                          dport: 40002, flags: 0x10), at: ["dispatcher", "client"])
        let report = lab.analyze()
        let dr = report.verdict("dr-path")!
        #expect(!dr.passed)
        #expect(!report.passed)
        #expect(dr.evidence.contains("(d) packets with source 198.51.100.100 on the dispatcher's point: 1 (from dispatcher 02:00:00:00:00:02 x1)"))
        #expect(report.verdict("distribution")!.passed)
        #expect(report.verdict("arp")!.passed)
    }

    @Test func repliesOnlyViaDispatcherFailPartC() {
        // A NAT-like run: the real server's replies go to the dispatcher, which sends them on.
        var lab = SyntheticLab()
        lab.arpExchange()
        let c = L.client, d = L.dispatcher, rs = L.rs1
        lab.see(Build.tcp(ethSrc: c.mac, ethDst: d.mac, src: c.address, sport: 40001, dst: L.vip, dport: 80, flags: 0x02), at: ["client", "dispatcher"])
        lab.see(Build.tcp(ethSrc: d.mac, ethDst: rs.mac, src: c.address, sport: 40001, dst: L.vip, dport: 80, flags: 0x02), at: ["dispatcher", "rs1"])
        lab.see(Build.tcp(ethSrc: rs.mac, ethDst: d.mac, src: L.vip, sport: 80, dst: c.address, dport: 40001, flags: 0x12), at: ["rs1", "dispatcher"])
        lab.see(Build.tcp(ethSrc: d.mac, ethDst: c.mac, src: L.vip, sport: 80, dst: c.address, dport: 40001, flags: 0x12), at: ["dispatcher", "client"])
        lab.outcomes = [ConnectionOutcome(localPort: 40001, server: "rs1")]
        let dr = lab.analyze(Expectations(path: .directRouting)).verdict("dr-path")!
        #expect(!dr.passed)
        #expect(dr.evidence.contains { $0.hasPrefix("(a)") && $0.hasSuffix("1/1") })
        #expect(dr.evidence.contains { $0.hasPrefix("(c)") && $0.hasSuffix("0/1") })
        #expect(dr.evidence.contains("(d) packets with source 198.51.100.100 on the dispatcher's point: 2 (from dispatcher 02:00:00:00:00:02 x1, from rs1 02:00:00:00:00:11 x1)"))
    }

    @Test func clientTalkingStraightToRealServerFailsPartA() {
        // ARP flux outcome: the client cached rs1's MAC for the VIP and bypasses the dispatcher.
        var lab = SyntheticLab()
        let c = L.client, rs = L.rs1
        lab.see(Build.tcp(ethSrc: c.mac, ethDst: rs.mac, src: c.address, sport: 40001, dst: L.vip, dport: 80, flags: 0x02), at: ["client", "rs1"])
        lab.see(Build.tcp(ethSrc: rs.mac, ethDst: c.mac, src: L.vip, sport: 80, dst: c.address, dport: 40001, flags: 0x12), at: ["rs1", "client"])
        lab.outcomes = [ConnectionOutcome(localPort: 40001, server: "rs1")]
        let report = lab.analyze(Expectations(path: .directRouting))
        let dr = report.verdict("dr-path")!
        #expect(!dr.passed)
        #expect(dr.evidence.contains { $0.hasPrefix("(a)") && $0.hasSuffix("0/1") })
        #expect(dr.evidence.contains { $0.contains("flow 198.51.100.10:40001: (a) dispatcher: SYN arrived no") })
        // The client/capture agreement still holds: rs1 got the flow and answered.
        #expect(report.verdict("distribution")!.passed)
    }

    @Test func realServerAnsweringARPForVIPFailsARP() {
        var lab = L.drRun()
        let reply = Build.arp(op: 2, senderMAC: L.rs1.mac, senderIP: L.vip, targetMAC: L.client.mac, targetIP: L.client.address)
        lab.see(reply, at: ["rs1", "client"])  // seen twice, counted once (at rs1's own point)
        let arp = lab.analyze().verdict("arp")!
        #expect(!arp.passed)
        #expect(arp.summary.contains("rs1"))
        #expect(arp.evidence.first == "ARP replies for VIP 198.51.100.100: dispatcher 02:00:00:00:00:02 x1, rs1 02:00:00:00:00:11 x1")
    }

    @Test func gratuitousARPFromRealServerFailsARP() {
        var lab = L.drRun()
        let garp = Build.arp(op: 1, senderMAC: L.rs2.mac, senderIP: L.vip, targetMAC: MACAddress.broadcast, targetIP: L.vip)
        lab.see(garp, at: ["client", "dispatcher", "rs1", "rs2"])
        let arp = lab.analyze().verdict("arp")!
        #expect(!arp.passed)
        #expect(arp.summary.contains("rs2"))
        #expect(arp.evidence.contains("other ARP with sender 198.51.100.100 (requests, announcements): rs2 02:00:00:00:00:12 x1"))
    }

    @Test func noARPReplyFromDispatcherFailsARP() {
        var lab = SyntheticLab()
        for (i, rs) in [L.rs1, L.rs2].enumerated() { lab.drFlow(port: 40001 + UInt16(i), rs: rs) }
        let arp = lab.analyze().verdict("arp")!
        #expect(!arp.passed)
        #expect(arp.evidence.first == "ARP replies for VIP 198.51.100.100: none")
    }

    @Test func unequalDistributionFailsEqual() {
        let lab = L.drRun(servers: [L.rs1, L.rs1, L.rs1, L.rs2])
        let equal = lab.analyze().verdict("distribution")!
        #expect(!equal.passed)
        #expect(equal.summary.contains("spread 2"))
        #expect(equal.evidence.contains("from client:   rs1 3, rs2 1"))
        #expect(equal.evidence.contains { $0.hasPrefix("from captures: rs1 3, rs2 1") })
        // The same run satisfies 3:1 weights and the agreement-only check.
        #expect(lab.analyze(Expectations(distribution: .weighted(["rs1": 3, "rs2": 1]))).verdict("distribution")!.passed)
        #expect(lab.analyze(Expectations(distribution: .none)).verdict("distribution")!.passed)
        // The weighted tolerance is max(w), loose for 4 connections: 12 connections 9:3 break 1:3 weights.
        let twelve = L.drRun(servers: Array(repeating: L.rs1, count: 9) + Array(repeating: L.rs2, count: 3))
        #expect(twelve.analyze(Expectations(distribution: .weighted(["rs1": 3, "rs2": 1]))).verdict("distribution")!.passed)
        let inverted = twelve.analyze(Expectations(distribution: .weighted(["rs1": 1, "rs2": 3]))).verdict("distribution")!
        #expect(!inverted.passed)
        #expect(inverted.summary.contains("weighted share broken for rs1, rs2"))
    }

    @Test func weightZeroAndUnlistedServersMustGetNothing() {
        let lab = L.drRun()
        #expect(!lab.analyze(Expectations(distribution: .weighted(["rs1": 1, "rs2": 0]))).verdict("distribution")!.passed)
        #expect(!lab.analyze(Expectations(distribution: .equal(servers: ["rs1"]))).verdict("distribution")!.passed)
        let onlyRS1 = L.drRun(servers: [L.rs1, L.rs1, L.rs1])
        #expect(onlyRS1.analyze(Expectations(distribution: .weighted(["rs1": 1, "rs2": 0]))).verdict("distribution")!.passed)
    }

    @Test func clientAndCaptureDisagreementFails() {
        // Same totals, but the client reports the wrong server for two connections.
        var lab = L.drRun()
        lab.outcomes[0].server = "rs2"
        lab.outcomes[1].server = "rs1"
        let swapped = lab.analyze().verdict("distribution")!
        #expect(!swapped.passed)
        #expect(swapped.evidence.contains("  client port 40001: client says rs2, captures say rs1"))

        // An answered connection the captures never saw.
        var extra = L.drRun()
        extra.outcomes.append(ConnectionOutcome(localPort: 40099, server: "rs1"))
        let d = extra.analyze().verdict("distribution")!
        #expect(!d.passed)
        #expect(d.summary.contains("client and capture counts disagree"))

        // A real server's capture lost: its flows are unseen.
        var lost = L.drRun()
        lost.captures["rs2"] = []
        let report = lost.analyze()
        #expect(!report.verdict("distribution")!.passed)
        #expect(report.fromCapture == ["rs1": 2, LabAnalyzer.unseen: 2])
        #expect(!report.verdict("dr-path")!.passed)
    }

    @Test func floodedCopyIsNotADelivery() {
        // The switch floods the forwarded SYN of flow 40001 to rs2's port too (dst MAC rs1).
        var lab = L.drRun()
        lab.see(Build.tcp(ethSrc: L.dispatcher.mac, ethDst: L.rs1.mac, src: L.client.address, sport: 40001, dst: L.vip, dport: 80,
                          flags: 0x02, tcpOptions: 20), at: ["rs2"])
        let report = lab.analyze()
        #expect(report.passed, "\(report.render())")
        #expect(report.fromCapture == ["rs1": 2, "rs2": 2])
    }

    @Test func failedConnectionsFailAnsweredWithErrorsListed() {
        var lab = L.drRun()
        lab.outcomes.append(ConnectionOutcome(localPort: 40010, server: nil, error: "connect: timed out", latency: 1))
        lab.outcomes.append(ConnectionOutcome(localPort: 40011, server: nil, error: "connect: timed out", latency: 1))
        lab.outcomes.append(ConnectionOutcome(localPort: 40012, server: nil, error: "connection reset", latency: 0.1))
        let report = lab.analyze()
        let a = report.verdict("answered")!
        #expect(!a.passed)
        #expect(report.sent == 7 && report.answered == 4 && report.failed == 3)
        #expect(a.evidence == ["sent 7, answered 4, failed 3",
                               "2 x connect: timed out (client ports 40010, 40011)",
                               "1 x connection reset (client ports 40012)"])
    }

    @Test func emptyRunPassesNothing() {
        let report = SyntheticLab().analyze()
        #expect(report.verdicts.count == 4)
        for v in report.verdicts { #expect(!v.passed, "\(v.rule) passed on an empty run") }
        #expect(!report.passed)
    }

    @Test func tupleCapturesAndCodableReport() throws {
        let lab = L.drRun()
        let tuples = lab.captures.mapValues { $0.map { (timestamp: $0.timestamp, bytes: $0.bytes) } }
        let report = LabAnalyzer.analyze(facts: L.facts, captures: tuples, outcomes: lab.outcomes, expectations: L.drExpectations)
        #expect(report == lab.analyze())
        #expect(report.passed)
    }
}
