import Foundation
import Testing

/// NAT and TUN labs against real kernel IPVS: what the kernel holds (checked with `ip` and
/// `ipvsadm`), the correct run passing every rule, and each wrong variant failing on the rule
/// that names what is wrong.
extension IntegrationTests {
@Suite struct ModeTests {
    init() throws {
        for lab in ["nat-basic", "seed-nat", "tun-basic", "dr-scale"] { try Harness.lblab("down", lab) }
    }

    func verdicts(_ r: Harness.Run) throws -> [String: Bool] {
        let json = try r.json()
        let list = (json["analysis"] as? [String: Any])?["verdicts"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: list.compactMap { v in (v["rule"] as? String).map { ($0, v["passed"] as? Bool ?? false) } })
    }

    func evidence(_ r: Harness.Run, _ rule: String) throws -> String {
        let v = Harness.verdict(try r.json(), rule)
        return ([v?["summary"] as? String ?? ""] + (v?["evidence"] as? [String] ?? [])).joined(separator: "\n")
    }

    @Test func natTopologyIsWhatTheArticleBuilds() throws {
        let up = try Harness.lblab("up", "seed-nat")
        #expect(up.status == 0, "\(up.all)")
        defer { _ = try? Harness.lblab("down", "seed-nat") }
        let table = try Harness.ipvsadm("lblab-seed-nat-dispatcher").out
        #expect(table.contains("TCP  192.168.219.100:80 rr"), "\(table)")
        #expect(table.range(of: #"192\.168\.56\.135:80\s+Masq\s+1"#, options: .regularExpression) != nil, "\(table)")
        #expect(table.range(of: #"192\.168\.56\.136:80\s+Masq\s+1"#, options: .regularExpression) != nil, "\(table)")
        // The dispatcher on both networks, forwarding; the real servers route through it.
        let addrs = try Harness.run(["ip", "-n", "lblab-seed-nat-dispatcher", "-o", "-4", "addr"]).out
        #expect(addrs.contains("192.168.219.134/24") && addrs.contains("192.168.219.100/32") && addrs.contains("192.168.56.100/24"), "\(addrs)")
        let forwarding = try Harness.run(["ip", "netns", "exec", "lblab-seed-nat-dispatcher", "sysctl", "-n", "net.ipv4.ip_forward"]).out
        #expect(forwarding.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        for rs in ["web1", "web2"] {
            let routes = try Harness.run(["ip", "-n", "lblab-seed-nat-\(rs)", "route", "show", "default"]).out
            #expect(routes.contains("default via 192.168.56.100"), "\(rs): \(routes)")
            let lo = try Harness.run(["ip", "-n", "lblab-seed-nat-\(rs)", "-o", "-4", "addr", "show", "dev", "lo"]).out
            #expect(!lo.contains("192.168.219.100"), "no VIP on a NAT real server: \(lo)")
        }
        // The client reaches the VIP and is answered by a real server through the dispatcher.
        let curl = try Harness.lblab("exec", "seed-nat", "client", "--", "curl", "-s", "-m", "5", "http://192.168.219.100/")
        #expect(curl.status == 0 && ["web1", "web2"].contains(curl.out.trimmingCharacters(in: .whitespacesAndNewlines)), "\(curl.all)")
        // One switch port per interface: the dispatcher's two.
        let ports = try Harness.run(["ip", "-n", "lblab-seed-nat-switch", "-o", "link"]).out
        #expect(ports.contains("dispatcher-eth0") && ports.contains("dispatcher-eth1"), "\(ports)")
    }

    @Test func natPassesEveryRule() throws {
        let r = try Harness.lblab("test", "nat-basic", "--set", "connections=100", "--json")
        #expect(r.status == 0, "\(r.all)")
        let v = try verdicts(r)
        #expect(v == ["answered": true, "distribution": true, "nat-path": true, "arp": true, "liveness": true], "\(v)")
        #expect(Harness.counts(try r.json(), "fromClient") == ["rs1": 50, "rs2": 50])
        try Harness.expectNothingLeft(of: "nat-basic")
    }

    @Test func natWrongVariantsFailOnTheRightRule() throws {
        // A real server whose gateway is not the dispatcher: its replies never cross it.
        let gw = try Harness.lblab("test", "nat-basic", "--set", "rs1.gateway=203.0.113.254", "--set", "connections=20",
                                   "--set", "timeout=1", "--json")
        #expect(gw.status == 1, "\(gw.all)")
        let gwV = try verdicts(gw)
        #expect(gwV["nat-path"] == false && gwV["answered"] == false, "\(gwV)")
        let gwEvidence = try evidence(gw, "nat-path")
        #expect(gwEvidence.contains("rs1"), "the evidence names rs1: \(gwEvidence)")

        // No forwarding on the dispatcher: NAT replies cannot pass it.
        let fwd = try Harness.lblab("test", "nat-basic", "--set", "dispatcher.ip_forward=false", "--set", "connections=20",
                                    "--set", "timeout=1", "--json")
        #expect(fwd.status == 1, "\(fwd.all)")
        let fwdV = try verdicts(fwd)
        #expect(fwdV["nat-path"] == false && fwdV["answered"] == false, "\(fwdV)")

        // A NAT lab that claims the DR path fails the DR path rule, though every connection is answered.
        let claim = try Harness.lblab("test", "nat-basic", "--set", "path=dr", "--set", "connections=20", "--json")
        #expect(claim.status == 1, "\(claim.all)")
        let claimV = try verdicts(claim)
        #expect(claimV["dr-path"] == false && claimV["answered"] == true && claimV["nat-path"] == nil, "\(claimV)")
        try Harness.expectNothingLeft(of: "nat-basic")
    }

    @Test func tunTopologyHasAnIPIPInterfaceHoldingTheVIP() throws {
        let up = try Harness.lblab("up", "tun-basic")
        #expect(up.status == 0, "\(up.all)")
        defer { _ = try? Harness.lblab("down", "tun-basic") }
        let table = try Harness.ipvsadm("lblab-tun-basic-dispatcher").out
        #expect(table.range(of: #"198\.51\.100\.21:80\s+Tunnel\s+1"#, options: .regularExpression) != nil, "\(table)")
        let link = try Harness.run(["ip", "-n", "lblab-tun-basic-rs1", "-d", "link", "show", "ipip0"]).out
        #expect(link.contains("ipip") && link.contains("local 198.51.100.21") && link.contains("UP"), "\(link)")
        let addr = try Harness.run(["ip", "-n", "lblab-tun-basic-rs1", "-o", "-4", "addr", "show", "dev", "ipip0"]).out
        #expect(addr.contains("198.51.100.100/32"), "\(addr)")
        let rp = try Harness.run(["ip", "netns", "exec", "lblab-tun-basic-rs1", "sysctl", "-n",
                                  "net.ipv4.conf.all.rp_filter", "net.ipv4.conf.eth0.rp_filter", "net.ipv4.conf.ipip0.rp_filter"]).out
        #expect(rp.split(separator: "\n") == ["0", "0", "0"], "\(rp)")
    }

    @Test func tunPassesEveryRule() throws {
        let r = try Harness.lblab("test", "tun-basic", "--set", "connections=100", "--json")
        #expect(r.status == 0, "\(r.all)")
        let v = try verdicts(r)
        #expect(v == ["answered": true, "distribution": true, "tun-path": true, "arp": true, "liveness": true], "\(v)")
        #expect(Harness.counts(try r.json(), "fromClient") == ["rs1": 50, "rs2": 50])
        try Harness.expectNothingLeft(of: "tun-basic")
    }

    @Test func tunWrongVariantsFailOnTheRightRule() throws {
        // Strict reverse-path filtering on rs1: the unwrapped request arrives on ipip0, the client lies
        // beyond eth0, so the kernel drops it.
        let strict = try Harness.lblab("test", "tun-basic", "--set", "rs1.rp_filter=1", "--set", "connections=20",
                                       "--set", "timeout=1", "--json")
        #expect(strict.status == 1, "\(strict.all)")
        let strictV = try verdicts(strict)
        #expect(strictV["tun-path"] == false && strictV["answered"] == false, "\(strictV)")
        let strictEvidence = try evidence(strict, "tun-path")
        #expect(strictEvidence.contains("rs1"), "\(strictEvidence)")

        // No tunnel interface on rs1: nothing unwraps what the dispatcher sends it.
        let none = try Harness.lblab("test", "tun-basic", "--set", "rs1.tunnel=false", "--set", "connections=20",
                                     "--set", "timeout=1", "--json")
        #expect(none.status == 1, "\(none.all)")
        let noneV = try verdicts(none)
        #expect(noneV["tun-path"] == false && noneV["answered"] == false, "\(noneV)")
        try Harness.expectNothingLeft(of: "tun-basic")
    }

    @Test func sixtyFourRealServersGetExactlyTheirRoundRobinShare() throws {
        try Harness.lblab("down", "dr-scale")
        let r = try Harness.lblab("test", "dr-scale", "--set", "connections=640", "--json")
        #expect(r.status == 0, "\(r.all.prefix(3000))")
        let counts = Harness.counts(try r.json(), "fromClient")
        #expect(counts.count == 64 && counts.values.allSatisfy { $0 == 10 }, "\(counts)")
        try Harness.expectNothingLeft(of: "dr-scale")
    }
}
}
