import LblabAnalysis
import LblabModel
import LblabTypes
import Testing

/// The NAT and TUN path rules on synthetic runs: each passes its own mode's correct run, and each
/// clause fails on a run that breaks it (with evidence saying how).
@Suite struct NATPathTests {
    typealias L = SyntheticLab

    func isFlow(_ port: UInt16) -> (DecodedFrame) -> Bool {
        { f in
            guard let ip = f.ipv4, let t = ip.tcp ?? ip.tunnelled?.tcp else { return false }
            return t.sourcePort == port || t.destinationPort == port
        }
    }

    @Test func aNATRunPassesEveryRule() {
        let report = L.run(.nat).analyze()
        #expect(report.verdicts.map(\.rule) == ["answered", "distribution", "nat-path", "arp"])
        #expect(report.passed, "\(report.render())")
        #expect(report.fromCapture == ["rs1": 2, "rs2": 2])
        let nat = report.verdict("nat-path")!
        for clause in ["(a)", "(b)", "(c)"] { #expect(nat.evidence.contains { $0.hasPrefix(clause) && $0.hasSuffix("4/4") }, "\(clause): \(nat.evidence)") }
        #expect(nat.evidence.contains("(d) packets with a real server's address on the front: 0"))
        #expect(report.verdict("arp")!.summary == "only dispatcher-eth0 answers ARP for 198.51.100.100 (x1)")
    }

    @Test func repliesThatBypassTheDispatcherFailNAT() {
        // rs1 answers flow 40001 straight to the client on the front (its source its own address).
        var lab = L.run(.nat)
        lab.remove(at: ["client", "dispatcher-eth0", "rs1", "dispatcher-eth1"]) { f in
            self.isFlow(40001)(f) && f.ipv4?.tcp?.sourcePort == 80
        }
        lab.see(Build.tcp(ethSrc: L.natRS1.mac, ethDst: L.natClient.mac, src: L.natRS1.address, sport: 80, dst: L.natClient.address,
                          dport: 40001, flags: 0x12), at: ["rs1", "client"])
        let nat = lab.analyze().verdict("nat-path")!
        #expect(!nat.passed)
        #expect(nat.evidence.contains { $0.hasPrefix("(a)") && $0.hasSuffix("3/4") })
        #expect(nat.evidence.contains { $0.hasPrefix("(c)") && $0.hasSuffix("3/4") })
        #expect(nat.evidence.contains("(d) packets with a real server's address on the front: 1 (rs1 203.0.113.21 x1)"))
        #expect(nat.evidence.contains { $0.contains("flow 198.51.100.10:40001: (a) the client exchanged 1 packets with other ends than the VIP: from 203.0.113.21:80") })
        #expect(nat.summary.contains("1 flows whose replies did not cross dispatcher (rs1 1)"))
    }

    @Test func aRequestStillAddressedToTheVIPOnTheBackFailsNAT() {
        // The dispatcher forwards flow 40002 DR-style: rs2's MAC, destination still the VIP.
        var lab = L.run(.nat)
        lab.remove(at: ["dispatcher-eth1", "rs2"]) { f in self.isFlow(40002)(f) && f.tcp?.isInitialSYN == true }
        lab.see(Build.tcp(ethSrc: L.back.mac, ethDst: L.natRS2.mac, src: L.natClient.address, sport: 40002, dst: L.vip, dport: 80, flags: 0x02),
                at: ["dispatcher-eth1", "rs2"])
        let nat = lab.analyze().verdict("nat-path")!
        #expect(!nat.passed)
        #expect(nat.evidence.contains { $0.hasPrefix("(b)") && $0.hasSuffix("3/4") })
        #expect(nat.evidence.contains { $0.contains("(b) real servers that received the SYN on their own MAC: [rs2 (to the VIP)]") })
    }

    @Test func aServerWhoseGatewayNeverAnswersIsNamed() {
        // rs1's replies of flow 40001 never leave it; it asks ARP for its gateway and nobody answers.
        var lab = L.run(.nat)
        lab.remove(at: ["client", "dispatcher-eth0", "rs1", "dispatcher-eth1"]) { f in
            self.isFlow(40001)(f) && f.ipv4?.tcp?.sourcePort == 80
        }
        for _ in 0..<3 {
            lab.see(Build.arp(op: 1, senderMAC: L.natRS1.mac, senderIP: L.natRS1.address, targetMAC: MACAddress(bytes: [0, 0, 0, 0, 0, 0])!,
                              targetIP: L.back.address), at: ["rs1", "dispatcher-eth1", "rs2"])
        }
        let report = lab.analyze()
        let nat = report.verdict("nat-path")!
        #expect(!nat.passed)
        #expect(nat.summary == "1 flows whose replies did not cross dispatcher (rs1 1)")
        #expect(nat.evidence.contains("rs1 asked ARP for 203.0.113.1 x3 and got no reply (its gateway)"))
        #expect(nat.evidence.contains("  flow 198.51.100.10:40001: (c) replies: 0 from rs1 to dispatcher, 0 left dispatcher on the front with source 198.51.100.100, 0 reached the client from it"))
        // An ARP request the dispatcher answered is no evidence.
        var answered = lab
        answered.see(Build.arp(op: 2, senderMAC: L.back.mac, senderIP: L.back.address, targetMAC: L.natRS1.mac, targetIP: L.natRS1.address),
                     at: ["dispatcher-eth1", "rs1"])
        #expect(!answered.analyze().verdict("nat-path")!.evidence.contains { $0.hasPrefix("rs1 asked ARP") })
    }

    @Test func aDispatcherThatDoesNotForwardRepliesFailsNAT() {
        var lab = L.run(.nat)
        lab.spec.nodes[1].ipForward = false
        lab.remove(at: ["client", "dispatcher-eth0"]) { f in f.ipv4?.tcp?.sourcePort == 80 }
        let nat = lab.analyze().verdict("nat-path")!
        #expect(!nat.passed)
        #expect(nat.summary.hasPrefix("4 flows whose replies did not cross dispatcher (rs1 2, rs2 2)"))
        #expect(nat.evidence.contains("replies that did not come back through dispatcher, per real server: rs1 2, rs2 2"))
        #expect(nat.evidence.contains("12 of their replies reached dispatcher from the real servers and none left it on the front: it did not forward them (the lab turns ip_forward off on dispatcher)"))
        #expect(nat.evidence.contains { $0.hasPrefix("  flow 198.51.100.10:40001: (c) replies: 3 from rs1 to dispatcher, 0 left dispatcher on the front") })
    }

    @Test func aNATRunJudgedAsDRFailsTheDRPath() {
        let report = L.run(.nat).analyze(expect: ExpectSpec(path: .dr))
        #expect(report.verdicts.map(\.rule) == ["answered", "distribution", "dr-path", "arp"])
        let dr = report.verdict("dr-path")!
        #expect(!dr.passed)
        #expect(dr.evidence.contains { $0.contains("[rs1 (to its own address)]") })
        #expect(dr.evidence.contains { $0.hasPrefix("(d) packets with source 198.51.100.100 on the dispatcher's points (dispatcher-eth0, dispatcher-eth1): 12") })
        #expect(report.verdict("answered")!.passed && report.verdict("distribution")!.passed)
    }
}

@Suite struct TUNPathTests {
    typealias L = SyntheticLab

    @Test func aTUNRunPassesEveryRule() {
        let report = L.run(.tun).analyze()
        #expect(report.verdicts.map(\.rule) == ["answered", "distribution", "tun-path", "arp"])
        #expect(report.passed, "\(report.render())")
        #expect(report.fromCapture == ["rs1": 2, "rs2": 2])
        let tun = report.verdict("tun-path")!
        for clause in ["(a)", "(b)", "(c)"] { #expect(tun.evidence.contains { $0.hasPrefix(clause) && $0.hasSuffix("4/4") }, "\(clause): \(tun.evidence)") }
        // The same run is no DR run: the requests reach the servers tunnelled.
        let dr = L.run(.tun).analyze(expect: ExpectSpec(path: .dr)).verdict("dr-path")!
        #expect(!dr.passed && dr.evidence.contains { $0.contains("[rs1 (tunnelled (IP-in-IP))]") })
    }

    @Test func aDRRunIsNoTUNRun() {
        let report = L.run(.dr).analyze(expect: ExpectSpec(path: .tun))
        let tun = report.verdict("tun-path")!
        #expect(!tun.passed)
        #expect(tun.evidence.contains { $0.hasPrefix("(a)") && $0.hasSuffix("0/4") })
        #expect(tun.evidence.contains { $0.hasPrefix("(b)") && $0.hasSuffix("0/4") })
        #expect(tun.evidence.contains { $0.contains("(a) dispatcher: SYN arrived yes, tunnelled to []; no IP-in-IP SYN left it; 1 SYNs left it unwrapped") })
    }

    @Test func aTunnelToTheWrongInnerAddressFailsTUN() {
        var lab = L.run(.tun)
        let other = IPv4Address(198, 51, 100, 199)
        let inner = Build.ipv4TCP(src: L.client.address, sport: 40005, dst: other, dport: 80, flags: 0x02)
        lab.see(Build.tcp(ethSrc: L.client.mac, ethDst: L.dispatcher.mac, src: L.client.address, sport: 40005, dst: L.vip, dport: 80, flags: 0x02),
                at: ["client", "dispatcher"])
        lab.see(Build.ipip(ethSrc: L.dispatcher.mac, ethDst: L.rs1.mac, src: L.dispatcher.address, dst: L.rs1.address, inner: inner),
                at: ["dispatcher", "rs1"])
        let tun = lab.analyze().verdict("tun-path")!
        #expect(!tun.passed)
        #expect(tun.evidence.contains { $0.hasPrefix("(a)") && $0.hasSuffix("4/5") })
        #expect(tun.evidence.contains { $0.contains("IP-in-IP 198.51.100.2 -> 198.51.100.11 carrying -> 198.51.100.199:80") })
    }

    @Test func aTunnelOnAServersMACToAnotherAddressIsNoDelivery() {
        // Flow 40001's tunnelled SYN reaches rs1's MAC, but its outer destination is rs2's address.
        var lab = L.run(.tun)
        lab.remove(at: ["dispatcher", "rs1"]) { f in f.ipv4?.tunnelled?.tcp.map { $0.isInitialSYN && $0.sourcePort == 40001 } ?? false }
        let inner = Build.ipv4TCP(src: L.client.address, sport: 40001, dst: L.vip, dport: 80, flags: 0x02)
        lab.see(Build.ipip(ethSrc: L.dispatcher.mac, ethDst: L.rs1.mac, src: L.dispatcher.address, dst: L.rs2.address, inner: inner),
                at: ["dispatcher", "rs1"])
        let report = lab.analyze()
        #expect(report.fromCapture == ["rs1": 1, "rs2": 2, LabAnalyzer.unseen: 1])
        let tun = report.verdict("tun-path")!
        #expect(tun.evidence.contains { $0.contains("flow 198.51.100.10:40001: ") && $0.contains("(b) real servers that received the SYN on their own MAC: [], dispatcher tunnelled to [rs2]") })
    }

    @Test func repliesThroughTheDispatcherFailTUN() {
        var lab = L.run(.tun)
        lab.see(Build.tcp(ethSrc: L.dispatcher.mac, ethDst: L.client.mac, src: L.vip, sport: 80, dst: L.client.address, dport: 40003, flags: 0x10),
                at: ["dispatcher", "client"])
        let tun = lab.analyze().verdict("tun-path")!
        #expect(!tun.passed)
        #expect(tun.evidence.contains { $0.hasPrefix("(c)") && $0.hasSuffix("3/4") })
        #expect(tun.evidence.contains("(d) packets with source 198.51.100.100 on the dispatcher's wire: 1 (from dispatcher 02:00:00:00:00:02 x1)"))
        #expect(tun.evidence.contains { $0.contains("flow 198.51.100.10:40003: (c) replies with source 198.51.100.100: 3 from rs1 on its point, 3 at the client straight, 1 at the client through dispatcher") })
    }

    /// rs1 takes flow 40001's tunnelled requests and never answers: `icmp` says what it sends instead.
    func unanswered(icmp: Bool, rpFilter: Int? = nil, tunnel: Bool = true) -> RuleVerdict {
        var lab = L.run(.tun)
        lab.remove(at: ["rs1", "client"]) { f in f.ipv4?.tcp?.destinationPort == 40001 }
        if rpFilter != nil { lab.spec.nodes[2].rpFilter = rpFilter }
        if !tunnel { lab.facts.nodes[2].interfaces.removeAll { $0.kind == "ipip" } }
        if icmp {
            let inner = Build.ipv4TCP(src: L.client.address, sport: 40001, dst: L.vip, dport: 80, flags: 0x02)
            let ipip = Build.ipv4(src: L.dispatcher.address, dst: L.rs1.address, proto: 4, inner)
            lab.see(Build.icmpError(ethSrc: L.rs1.mac, ethDst: L.dispatcher.mac, src: L.rs1.address, dst: L.dispatcher.address,
                                    type: 3, code: 3, about: ipip), at: ["rs1", "dispatcher"])
        }
        lab.outcomes[0] = L.outcome(40001, nil, error: "timeout waiting for the response")
        let report = lab.analyze()
        #expect(!report.verdict("answered")!.passed)
        return report.verdict("tun-path")!
    }

    @Test func aServerWithoutATunnelAnswersWithICMPAndIsNamed() {
        let tun = unanswered(icmp: true, tunnel: false)
        #expect(!tun.passed)
        #expect(tun.summary == "1 flows without direct replies (never answered: rs1 1)")
        #expect(tun.evidence.contains("rs1 received 1 tunnelled requests and answered none: it sent ICMP destination unreachable (port unreachable) x1 about IP-in-IP (what the kernel answers when no tunnel interface takes the packet); the kernel shows no ipip interface holding 198.51.100.100 on rs1"))
        #expect(tun.evidence.contains { $0.contains("flow 198.51.100.10:40001: (c) replies with source 198.51.100.100: 0 from rs1 on its point") && $0.contains("; rs1 198.51.100.11 sent ICMP destination unreachable (port unreachable) about the tunnelled request") })
    }

    @Test func aServerThatDropsSilentlyIsNamedWithItsRPFilter() {
        let tun = unanswered(icmp: false, rpFilter: 1)
        #expect(!tun.passed)
        #expect(tun.summary == "1 flows without direct replies (never answered: rs1 1)")
        #expect(tun.evidence.contains("rs1 received 1 tunnelled requests and answered none: no reply and no ICMP error, its kernel dropped them silently; rs1 has ipip0 holding 198.51.100.100; the lab sets rp_filter=1 (strict) on rs1"))
    }
}
