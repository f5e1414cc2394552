import Foundation
import Testing

/// One-packet scheduling judged per datagram (`sched-onepacket`: rr, UDP, `-o`, nine datagrams
/// from one socket): each datagram is scheduled anew and is a flow of its own in the captures, so
/// the captures agree datagram by datagram and rr turns per datagram. The same running lab with
/// `-o` switched off behind lblab's back (the datagrams then share one entry) fails the
/// distribution rule on the second datagram.
extension IntegrationTests {
@Suite(.serialized) struct SchedulerOnePacketTests {
    static let lab = "sched-onepacket"

    @Test func eachDatagramOfOneSocketIsScheduledAnew() throws {
        let t0 = Date()
        try Harness.lblab("down", Self.lab)
        let up = try Harness.lblab("up", Self.lab)
        #expect(up.status == 0, "\(up.all)")
        let good = try Harness.lblab("test", Self.lab, "--set", "traffic.client=c1", "--json")
        let json = try good.json()
        let g = try SchedulerMatrixTests.distribution(good)
        #expect(good.status == 0 && g.passed, "\(g.summary)\n\(g.evidence.joined(separator: "\n"))")
        // Nine datagrams of one socket: three per server, from the client and from the captures
        // (nine flows, one per datagram, not one per socket).
        #expect(Harness.counts(json, "fromClient") == ["rs1": 3, "rs2": 3, "rs3": 3], "\(g.summary)")
        #expect(Harness.counts(json, "fromCapture") == ["rs1": 3, "rs2": 3, "rs3": 3], "\(g.evidence.joined(separator: "\n"))")
        #expect(g.evidence.contains { $0.contains("(9 client flows on point c1)") }, "\(g.evidence.joined(separator: "\n"))")

        // -o off behind lblab's back: the datagrams follow the first one's entry.
        try SchedulerMatrixTests.ipvsadm(Self.lab, ["-E", "-u", "198.51.100.100:53", "-s", "rr"])
        let bad = try Harness.lblab("test", Self.lab, "--set", "traffic.client=c2", "--json")
        let b = try SchedulerMatrixTests.distribution(bad)
        #expect(bad.status == 1 && !b.passed, "one_packet off must fail: \(b.summary)")
        #expect(b.summary.contains("first: #2 ") && b.summary.contains("expected"), "\(b.summary)")
        print("sched-onepacket with -o off: \(b.passed ? "PASS" : "FAIL") (\(b.summary.prefix(160)))")
        try Harness.lblab("down", Self.lab)
        print(String(format: "sched-onepacket: %.1f s", Date().timeIntervalSince(t0)))
    }
}
}
