import Foundation
import Testing

/// The IPv6 labs against real kernel IPVS: `lblab up` builds what the plan says (witnessed with
/// `ip -6` and `ipvsadm -Ln`), `lblab status` prints the IPv6 table as ipvsadm does, HTTP over
/// IPv6 reaches both real servers through the VIP, and the NDP rule's premise holds in the
/// kernel: a real server with the VIP on lo never answers neighbour solicitations for it, one
/// with the VIP on eth0 (`--set rs1.vip_on=eth0`) does (NDP flux).
extension IntegrationTests {
@Suite struct IPv6Tests {
    static let vip = "2001:db8::100"

    init() throws {
        try Harness.lblab("down", "dr-ipv6")
        try Harness.lblab("down", "nat-ipv6")
    }

    static func ip6(_ ns: String, _ args: String...) throws -> String {
        try Harness.run(["ip", "-n", ns, "-6"] + args).out
    }

    /// `curl` from the lab's client through `lblab exec`, `n` times: the servers that answered.
    static func curl(_ lab: String, _ vip: String, times n: Int) throws -> [String] {
        try (0..<n).map { _ in
            let r = try Harness.lblab("exec", lab, "client", "--", "curl", "-g", "-s", "-m", "5", "http://[\(vip)]/")
            #expect(r.status == 0, "curl through \(lab): \(r.all)")
            return r.out.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// lblab status's IPVS table (header to blank line) equals `ipvsadm -Ln` in the dispatcher.
    static func expectStatusTableIsIpvsadm(_ lab: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dispatcher = "lblab-\(lab)-dispatcher"
        let before = try Harness.ipvsadm(dispatcher)
        let status = try Harness.lblab("status", lab)
        #expect(status.status == 0, "\(status.all)", sourceLocation: sourceLocation)
        let lines = status.out.components(separatedBy: "\n")
        let start = try #require(lines.firstIndex { $0.hasPrefix("IP Virtual Server version ") }, "no table in \(status.out)", sourceLocation: sourceLocation)
        let table = lines[start...].prefix { !$0.isEmpty }.map { $0 + "\n" }.joined()
        #expect(table == before.out, "lblab status:\n\(table)ipvsadm -Ln:\n\(before.out)", sourceLocation: sourceLocation)
    }

    @Test func drIPv6IsBuiltAsPlannedAndServesOverIPv6() throws {
        let up = try Harness.lblab("up", "dr-ipv6")
        #expect(up.status == 0, "\(up.all)")
        #expect(up.out.contains("curl -g -s http://[2001:db8::100]:80/"), "the hint's curl must take the IPv6 URL: \(up.out)")
        let d = "lblab-dr-ipv6-dispatcher"
        #expect(try Self.ip6(d, "addr", "show", "dev", "eth0").contains("inet6 2001:db8::100/128 scope global nodad"))
        #expect(try Self.ip6(d, "addr", "show", "dev", "eth0").contains("inet6 2001:db8::2/64 scope global nodad"))
        for rs in ["rs1", "rs2"] {
            let lo = try Self.ip6("lblab-dr-ipv6-\(rs)", "addr", "show", "dev", "lo")
            #expect(lo.contains("inet6 2001:db8::100/128 scope global nodad"), "\(rs) lo: \(lo)")
            #expect(try !Self.ip6("lblab-dr-ipv6-\(rs)", "addr", "show", "dev", "eth0").contains("2001:db8::100"))
        }
        let table = try Harness.ipvsadm(d).out
        #expect(table.contains("TCP  [2001:db8::100]:80 rr\n"), "\(table)")
        #expect(table.range(of: #"-> \[2001:db8::21\]:80\s+Route\s+1 "#, options: .regularExpression) != nil, "\(table)")
        #expect(table.range(of: #"-> \[2001:db8::22\]:80\s+Route\s+1 "#, options: .regularExpression) != nil, "\(table)")
        try Self.expectStatusTableIsIpvsadm("dr-ipv6")

        let answers = try Self.curl("dr-ipv6", Self.vip, times: 4)
        #expect(answers.sorted() == ["rs1", "rs1", "rs2", "rs2"], "round robin over IPv6: \(answers)")
        // The client resolved the VIP to the dispatcher's MAC.
        let mac = try #require(try Harness.run(["ip", "-n", d, "-br", "link", "show", "eth0"]).out.split(separator: " ").filter { !$0.isEmpty }.dropFirst(2).first)
        let neigh = try Self.ip6("lblab-dr-ipv6-client", "neigh", "show", Self.vip)
        #expect(neigh.contains("lladdr \(mac)"), "client's neighbour entry for the VIP: \(neigh) (dispatcher \(mac))")
        try Self.expectStatusTableIsIpvsadm("dr-ipv6")
        #expect(try Harness.lblab("down", "dr-ipv6").status == 0)
        try Harness.expectNothingLeft(of: "dr-ipv6")
    }

    @Test func natIPv6RoutesThroughTheDispatcher() throws {
        let up = try Harness.lblab("up", "nat-ipv6")
        #expect(up.status == 0, "\(up.all)")
        let d = "lblab-nat-ipv6-dispatcher"
        #expect(try Harness.run(["ip", "netns", "exec", d, "sysctl", "-n", "net.ipv6.conf.all.forwarding"]).out.hasPrefix("1"))
        for rs in ["rs1", "rs2"] {
            let routes = try Self.ip6("lblab-nat-ipv6-\(rs)", "route", "show", "default")
            #expect(routes.contains("default via 2001:db8:2::1 dev eth0"), "\(rs): \(routes)")
        }
        let table = try Harness.ipvsadm(d).out
        #expect(table.contains("TCP  [2001:db8:1::100]:80 rr\n"), "\(table)")
        #expect(table.range(of: #"-> \[2001:db8:2::21\]:80\s+Masq\s+1 "#, options: .regularExpression) != nil, "\(table)")
        let answers = try Self.curl("nat-ipv6", "2001:db8:1::100", times: 4)
        #expect(answers.sorted() == ["rs1", "rs1", "rs2", "rs2"], "round robin over IPv6 NAT: \(answers)")
        try Self.expectStatusTableIsIpvsadm("nat-ipv6")
        #expect(try Harness.lblab("down", "nat-ipv6").status == 0)
        try Harness.expectNothingLeft(of: "nat-ipv6")
    }

    /// Neighbour advertisements for the VIP that rs1 sends (tcpdump on its switch port, frames
    /// from its MAC) while the client, its neighbour cache flushed, opens a connection to the VIP.
    static func advertisementsFromRS1(_ lab: String) throws -> String {
        let link = try Harness.run(["ip", "-n", "lblab-\(lab)-rs1", "-br", "link", "show", "eth0"]).out
        let mac = try #require(link.split(separator: " ").filter { !$0.isEmpty }.dropFirst(2).first.map(String.init), "no MAC in \(link)")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("lblab-ndp-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out) }
        let tcpdump = Process()
        tcpdump.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tcpdump.arguments = ["ip", "netns", "exec", "lblab-\(lab)-switch", "timeout", "-s", "KILL", "12", "tcpdump", "-i", "rs1", "-n", "-l", "-c", "1",
                             "ether src \(mac) and icmp6 and ip6[40] == 136"]
        // SIGKILL: a child of this test process may inherit SIGTERM blocked, and then outlives a
        // plain `timeout`. With -l each line is out before the kill.
        tcpdump.standardOutput = try FileHandle(forWritingTo: out)
        tcpdump.standardError = FileHandle.nullDevice
        tcpdump.standardInput = FileHandle.nullDevice
        try tcpdump.run()
        Thread.sleep(forTimeInterval: 4)   // tcpdump starts slowly under emulation
        try Harness.run(["ip", "-n", "lblab-\(lab)-client", "-6", "neigh", "flush", "dev", "eth0"])
        try Harness.run(["timeout", "10", "ip", "netns", "exec", "lblab-\(lab)-client", "curl", "-g", "-s", "-m", "3", "-o", "/dev/null", "http://[\(vip)]/"])
        tcpdump.waitUntilExit()
        return String(decoding: try Data(contentsOf: out), as: UTF8.self)
    }

    @Test func theVIPOnEth0MakesARealServerAnswerNDP() throws {
        #expect(try Harness.lblab("up", "dr-ipv6").status == 0)
        let hidden = try Self.advertisementsFromRS1("dr-ipv6")
        #expect(!hidden.contains("neighbor advertisement"), "rs1 with the VIP on lo advertised it: \(hidden)")
        #expect(try Harness.lblab("down", "dr-ipv6").status == 0)

        let flux = try Harness.lblab("up", "dr-ipv6", "--set", "rs1.vip_on=eth0")
        #expect(flux.status == 0, "\(flux.all)")
        #expect(try Self.ip6("lblab-dr-ipv6-rs1", "addr", "show", "dev", "eth0").contains("inet6 2001:db8::100/128"))
        let seen = try Self.advertisementsFromRS1("dr-ipv6")
        #expect(seen.contains("neighbor advertisement, tgt is 2001:db8::100"), "rs1 with the VIP on eth0 did not answer for it: \(seen)")
        #expect(try Harness.lblab("down", "dr-ipv6").status == 0)
        try Harness.expectNothingLeft(of: "dr-ipv6")
    }
}
}
