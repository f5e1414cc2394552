import LblabAnalysis
import LblabModel
import LblabTypes
import Testing

/// IPv6 and ICMPv6 decoding, and the rules on IPv6 runs: flows by their IPv6 5-tuples, the DR and
/// NAT paths, and `ndp` (only the dispatcher answers neighbour solicitations for the VIP).
@Suite struct IPv6DecoderTests {
    typealias L = SyntheticLab6

    @Test func decodesTCPOverIPv6ThroughAnExtensionHeader() throws {
        for hopByHop in [false, true] {
            let bytes = Build6.tcp(ethSrc: L.client.mac, ethDst: L.dispatcher.mac, src: L.client.address, sport: 40001,
                                   dst: L.drVIP, dport: 80, flags: 0x18, payload: 78, hopByHop: hopByHop)
            let f = try #require(FrameDecoder.decode(bytes, timestamp: 0))
            let ip = try #require(f.ipv6)
            #expect(f.ipv4 == nil)
            #expect(ip.source == L.client.address && ip.destination == L.drVIP && ip.nextHeader == 6 && ip.hopLimit == 64)
            let t = try #require(f.tcp)
            #expect(t.sourcePort == 40001 && t.destinationPort == 80 && t.payloadLength == 78 && t.flagText == "PA")
        }
    }

    @Test func decodesNeighbourDiscovery() throws {
        let ns = try #require(FrameDecoder.decode(Build6.solicitation(ethSrc: L.client.mac, src: L.client.address, target: L.drVIP), timestamp: 0))
        #expect(ns.destinationMAC == MACAddress(bytes: [0x33, 0x33, 0xff, 0, 0x01, 0x00])!)
        #expect(ns.ipv6?.destination == Build6.a("ff02::1:ff00:100"))
        let s = try #require(ns.ipv6?.icmp)
        #expect(s.isNeighbourSolicitation && s.target == L.drVIP && s.description == "neighbour solicitation")
        let na = try #require(FrameDecoder.decode(Build6.advertisement(ethSrc: L.dispatcher.mac, ethDst: L.client.mac, src: L.drVIP,
                                                                       dst: L.client.address, target: L.drVIP), timestamp: 0))
        let a = try #require(na.ipv6?.icmp)
        #expect(a.isNeighbourAdvertisement && a.isSolicited && a.target == L.drVIP && a.flags == 0x60)
        // Cut before the target: still ICMPv6, no target.
        let cut = try #require(FrameDecoder.decode(Array(Build6.solicitation(ethSrc: L.client.mac, src: L.client.address, target: L.drVIP).prefix(14 + 40 + 12)), timestamp: 0))
        #expect(cut.ipv6?.icmp?.type == 135 && cut.ipv6?.icmp?.target == nil)
    }

    @Test func everyPrefixOfAnIPv6FrameDecodesWithoutTrapping() {
        let frames = [Build6.tcp(ethSrc: L.client.mac, ethDst: L.dispatcher.mac, src: L.client.address, sport: 1, dst: L.drVIP, dport: 80, flags: 2, hopByHop: true),
                      Build6.solicitation(ethSrc: L.client.mac, src: L.client.address, target: L.drVIP)]
        for frame in frames {
            for n in 0...frame.count { #expect((FrameDecoder.decode(Array(frame.prefix(n)), timestamp: 0) == nil) == (n < 14)) }
        }
    }

    /// An ICMPv6 error quoting a flow's packet belongs to that flow: a port unreachable from a real
    /// server fails the DR path with its IPv6 name.
    @Test func anICMPv6ErrorIsFoundAsTheFlows() throws {
        var lab = L.run(.dr)
        let about = Build6.ipv6(src: L.client.address, dst: L.drVIP, next: 6, Build6.tcpSegment(sport: 40001, dport: 80, flags: 2))
        let err = Build6.icmpError(ethSrc: L.rs1.mac, ethDst: L.client.mac, src: L.rs1.address, dst: L.client.address, type: 1, code: 4, about: about)
        let f = try #require(FrameDecoder.decode(err, timestamp: 0)?.ipv6?.icmp)
        #expect(f.isError && f.description == "destination unreachable (port unreachable)")
        lab.see(err, at: ["rs1", "client"])
        #expect(lab.analyze().verdict("dr-path")?.passed == true, "an error after a served flow does not break the path by itself")
    }
}

@Suite struct IPv6RuleTests {
    typealias L = SyntheticLab6

    @Test func drRunPassesEveryRuleWithNDPInsteadOfARP() {
        let report = L.run(.dr).analyze()
        #expect(report.verdicts.map(\.rule) == ["answered", "distribution", "dr-path", "ndp"])
        for v in report.verdicts { #expect(v.passed, "\(v.rule): \(v.summary) \(v.evidence)") }
        #expect(report.fromCapture == ["rs1": 2, "rs2": 2])
        #expect(report.verdict("dr-path")!.evidence.contains("(d) packets with source 2001:db8::100 on the dispatcher's point: 0"))
        let ndp = report.verdict("ndp")!
        #expect(ndp.summary == "only dispatcher answers neighbour solicitations (NDP) for 2001:db8::100 (x1)")
        #expect(ndp.evidence.contains("solicited neighbour advertisements for VIP 2001:db8::100: dispatcher 02:00:00:00:00:02 x1"))
        #expect(ndp.evidence.contains("neighbour solicitations for VIP 2001:db8::100 from client client: 1"))
    }

    @Test func natRunPassesNATPath() {
        let report = L.run(.nat).analyze()
        #expect(report.verdicts.map(\.rule) == ["answered", "distribution", "nat-path", "ndp"])
        for v in report.verdicts { #expect(v.passed, "\(v.rule): \(v.summary) \(v.evidence)") }
        #expect(report.verdict("nat-path")!.evidence.contains { $0.contains("[2001:db8:1::100]:80") })
    }

    /// NDP flux: a real server holding the VIP on eth0 answers the client's solicitation too.
    @Test func aRealServerAnsweringForTheVIPFailsNDP() {
        let report = L.run(.dr, answerers: [L.dispatcher, L.rs1]).analyze()
        let ndp = report.verdict("ndp")!
        #expect(!ndp.passed && !report.passed)
        #expect(ndp.summary.contains("NDP for 2001:db8::100 also from rs1 02:00:00:00:00:11 (NDP flux"), "\(ndp.summary)")
        #expect(report.verdict("dr-path")!.passed, "the flows themselves still took the DR path")
    }

    /// A real server soliciting with the VIP as its source gives it away as well (the client learns its MAC).
    @Test func aSolicitationFromTheVIPFailsNDP() {
        var lab = L.run(.dr)
        lab.see(Build6.solicitation(ethSrc: L.rs2.mac, src: L.drVIP, target: L.client.address), at: lab.frontPoints)
        let ndp = lab.analyze().verdict("ndp")!
        #expect(!ndp.passed && ndp.summary.contains("also from rs2"))
        #expect(ndp.evidence.contains { $0.hasPrefix("other NDP claiming 2001:db8::100") && $0.contains("rs2 02:00:00:00:00:12 x1") })
    }

    @Test func noAdvertisementFromTheDispatcherFailsNDP() {
        let ndp = L.run(.dr, answerers: []).analyze().verdict("ndp")!
        #expect(!ndp.passed && ndp.summary.contains("no neighbour advertisement for 2001:db8::100 from dispatcher"))
    }

    /// A DR run whose dispatcher never forwards: the IPv6 flows fail (a) and (b).
    @Test func drFlowsThatStopAtTheDispatcherFailDRPath() {
        var lab = SyntheticLab6(mode: .dr)
        lab.ndpExchange()
        lab.see(Build6.tcp(ethSrc: L.client.mac, ethDst: L.dispatcher.mac, src: L.client.address, sport: 40001, dst: L.drVIP, dport: 80, flags: 2),
                at: ["client", "dispatcher"])
        lab.outcomes.append(ConnectionOutcome(client: "client", localAddress: .v6(L.client.address), localPort: 40001, service: "web", server: nil, error: "timeout"))
        let report = lab.analyze()
        let dr = report.verdict("dr-path")!
        #expect(!dr.passed && dr.summary.contains("1 flows not relayed by dispatcher"))
        #expect(dr.evidence.contains { $0.contains("flow [2001:db8::10]:40001") })
        #expect(report.fromCapture == [LabAnalyzer.unseen: 1])
    }
}
