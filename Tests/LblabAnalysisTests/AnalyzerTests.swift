import Foundation
import LblabAnalysis
import LblabModel
import LblabTypes
import Testing

@Suite struct AnalyzerTests {
    typealias L = SyntheticLab

    /// Only the lab's path rule (no distribution share, no ARP rule).
    static let pathOnly = ExpectSpec(distribution: .none, path: .mode, arp: .none)
    static let weights = ExpectSpec(distribution: .weights, path: .none, arp: .none)

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
        lab.outcomes = [L.outcome(40001, "rs1")]
        let dr = lab.analyze(expect: Self.pathOnly).verdict("dr-path")!
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
        lab.outcomes = [L.outcome(40001, "rs1")]
        let report = lab.analyze(expect: Self.pathOnly)
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

    @Test func anARPReplyFromOutsideTheLabIsCountedOnceAndFails() {
        // A MAC no lab interface has answers for the VIP; the switch floods it to two points.
        var lab = L.drRun()
        let stranger = Build.mac(0x99)
        lab.see(Build.arp(op: 2, senderMAC: stranger, senderIP: L.vip, targetMAC: L.client.mac, targetIP: L.client.address),
                at: ["client", "rs2"])
        lab.see(Build.arp(op: 2, senderMAC: stranger, senderIP: L.vip, targetMAC: L.client.mac, targetIP: L.client.address), at: ["client"])
        lab.see(Build.arp(op: 1, senderMAC: stranger, senderIP: L.vip, targetMAC: MACAddress.broadcast, targetIP: L.vip), at: ["rs1"])
        let arp = lab.analyze().verdict("arp")!
        #expect(!arp.passed)
        #expect(arp.summary == "ARP for 198.51.100.100 also from unknown 02:00:00:00:00:99 (ARP flux)")
        // Two replies at the client (its most), not three over all points; the request once.
        #expect(arp.evidence[0] == "ARP replies for VIP 198.51.100.100: dispatcher 02:00:00:00:00:02 x1, unknown 02:00:00:00:00:99 x2")
        #expect(arp.evidence[1] == "other ARP with sender 198.51.100.100 (requests, announcements): unknown 02:00:00:00:00:99 x1")
    }

    @Test func anAnswerWithAnErrorRecordedIsNoCleanAnswer() {
        var lab = L.drRun()
        lab.outcomes[1] = L.outcome(40002, "rs2", error: "recv: connection reset by peer")
        let report = lab.analyze()
        let a = report.verdict("answered")!
        #expect(!a.passed)
        #expect(report.sent == 4 && report.answered == 4 && report.failed == 0)
        #expect(a.summary == "1 of 4 connections failed")
        #expect(a.evidence == ["sent 4, answered 4, failed 0",
                               "1 x answered by rs2 but error recorded: recv: connection reset by peer (client ports 40002)"])
        // It still counts for rs2 in the distribution, which agrees with the captures.
        #expect(report.verdict("distribution")!.passed)
    }

    @Test func noARPReplyFromDispatcherFailsARP() {
        var lab = SyntheticLab()
        for (i, rs) in [L.rs1, L.rs2].enumerated() { lab.drFlow(port: 40001 + UInt16(i), rs: rs) }
        let arp = lab.analyze().verdict("arp")!
        #expect(!arp.passed)
        #expect(arp.evidence.first == "ARP replies for VIP 198.51.100.100: none")
    }

    @Test func unequalDistributionFailsEqual() {
        let lab = L.drRun(servers: [1, 1, 1, 2])
        let equal = lab.analyze().verdict("distribution")!
        #expect(!equal.passed)
        #expect(equal.summary.contains("against the rr rule; first: #3 198.51.100.10:40003 got rs1, expected rs2"))
        #expect(equal.evidence.contains("from client:   rs1 3, rs2 1"))
        #expect(equal.evidence.contains { $0.hasPrefix("from captures: rs1 3, rs2 1") })
        // The same run satisfies 3:1 weights and the agreement-only check.
        #expect(L.run(.dr, servers: [1, 1, 1, 2], weights: [3, 1], expect: Self.weights).analyze().verdict("distribution")!.passed)
        #expect(lab.analyze(expect: ExpectSpec(distribution: .none, path: .none, arp: .none)).verdict("distribution")!.passed)
        // wrr with distribution: scheduler means the weights.
        #expect(L.run(.dr, servers: [1, 1, 1, 2], weights: [3, 1], scheduler: .wrr).analyze().verdict("distribution")!.passed)
        // The weighted tolerance is max(w), loose for 4 connections: 12 connections 9:3 break 1:3 weights.
        let twelve = Array(repeating: 1, count: 9) + Array(repeating: 2, count: 3)
        #expect(L.run(.dr, servers: twelve, weights: [3, 1], expect: Self.weights).analyze().verdict("distribution")!.passed)
        let inverted = L.run(.dr, servers: twelve, weights: [1, 3], expect: Self.weights).analyze().verdict("distribution")!
        #expect(!inverted.passed)
        #expect(inverted.summary.contains("weighted share broken for rs1, rs2"))
    }

    @Test func weightZeroServersMustGetNothing() {
        #expect(!L.run(.dr, weights: [1, 0], expect: Self.weights).analyze().verdict("distribution")!.passed)
        let equal = L.run(.dr, weights: [1, 0], expect: ExpectSpec(distribution: .equal, path: .none, arp: .none)).analyze().verdict("distribution")!
        #expect(!equal.passed)
        #expect(equal.evidence.contains("unexpected servers: rs2 2"))
        #expect(L.run(.dr, servers: [1, 1, 1], weights: [1, 0], expect: Self.weights).analyze().verdict("distribution")!.passed)
    }

    @Test func aSchedulerThatReadsCountsCannotBeJudgedFromAnUntracedRun() {
        let d = L.run(.dr, scheduler: .lc).analyze().verdict("distribution")!
        #expect(!d.passed)
        #expect(d.summary.contains("cannot judge lc from this run"))
        #expect(d.summary.contains("lblab test sched-lc"))
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
        extra.outcomes.append(L.outcome(40099, "rs1"))
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
        lab.outcomes.append(L.outcome(40010, nil, error: "connect: timed out", latency: 1))
        lab.outcomes.append(L.outcome(40011, nil, error: "connect: timed out", latency: 1))
        lab.outcomes.append(L.outcome(40012, nil, error: "connection reset", latency: 0.1))
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

    @Test func reportsAndRecordsRoundTripThroughJSON() throws {
        let lab = L.drRun()
        let report = lab.analyze()
        let back = try JSONDecoder().decode(AnalysisReport.self, from: JSONEncoder().encode(report))
        #expect(back == report)
        #expect(back.passed)
        let record = RunRecord(spec: lab.spec, facts: lab.facts, outcomes: lab.outcomes)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lblab-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try record.write(to: dir)
        let read = try RunRecord.read(from: dir)
        #expect(read == record)
        #expect(read.version == 2 && read.points == ["client", "dispatcher", "rs1", "rs2"])
        #expect(LabAnalyzer.analyze(read, captures: lab.captures.mapValues { RawFrames($0) }) == report)
    }

    @Test func aVersionOneRecordIsRefusedWithWhatToDo() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lblab-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(#"{"lab": "dr-basic", "facts": {}, "expectations": {}, "outcomes": []}"#.utf8).write(to: URL(fileURLWithPath: "\(dir)/run.json"))
        #expect { try RunRecord.read(from: dir) } throws: { e in
            "\(e)".contains("version 1 run record") && "\(e)".contains("lblab test LAB --captures \(dir)")
        }
        #expect { try RunRecord.read(from: dir + "/none") } throws: { e in "\(e)".contains("no run.json in") }
    }
}
