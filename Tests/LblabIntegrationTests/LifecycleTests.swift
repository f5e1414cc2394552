import Foundation
import Testing

/// up / status / exec / down against real kernel IPVS, checked with `ip` and `ipvsadm`.
extension IntegrationTests {
@Suite struct LifecycleTests {
    init() throws {
        for lab in ["dr-basic", "seed-dr"] { try Harness.lblab("down", lab) }
    }

    @Test func upStatusExecDownLeavesNothing() throws {
        let up = try Harness.lblab("up", "dr-basic")
        #expect(up.status == 0, "\(up.all)")

        let names = try Harness.netns()
        for node in ["switch", "client", "dispatcher", "rs1", "rs2"] {
            #expect(names.contains("lblab-dr-basic-\(node)"), "ip netns list lacks lblab-dr-basic-\(node): \(names)")
        }
        // The kernel's own view, read by ipvsadm: the article's `ipvsadm -Ln` output.
        let table = try Harness.ipvsadm("lblab-dr-basic-dispatcher").out
        #expect(table.contains("TCP  198.51.100.100:80 rr"), "\(table)")
        #expect(table.range(of: #"198\.51\.100\.21:80\s+Route\s+1"#, options: .regularExpression) != nil, "\(table)")
        #expect(table.range(of: #"198\.51\.100\.22:80\s+Route\s+1"#, options: .regularExpression) != nil, "\(table)")
        #expect(Harness.agentPIDs().count >= 2)

        // ARP fix as the kernel holds it on a real server.
        let sysctl = try Harness.run(["ip", "netns", "exec", "lblab-dr-basic-rs1", "sysctl", "-n", "net.ipv4.conf.all.arp_ignore", "net.ipv4.conf.all.arp_announce"]).out
        #expect(sysctl.split(separator: "\n") == ["1", "2"], "\(sysctl)")

        let status = try Harness.lblab("status", "dr-basic")
        #expect(status.status == 0, "\(status.all)")
        #expect(status.out.contains("-> 198.51.100.21:80"), "\(status.out)")
        #expect(status.out.contains("Route"), "\(status.out)")
        #expect(status.out.contains("198.51.100.100/32 dev lo"), "the VIP on a real server's lo: \(status.out)")
        let json = try Harness.lblab("status", "dr-basic", "--json")
        let labs = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [[String: Any]])
        let services = try #require(labs.first?["services"] as? [[String: Any]])
        #expect(services.count == 1)
        #expect((services.first?["destinations"] as? [Any])?.count == 2)

        let again = try Harness.lblab("up", "dr-basic")
        #expect(again.status == 2)
        #expect(again.err.contains("already up"), "\(again.err)")

        let exec = try Harness.lblab("exec", "dr-basic", "client", "--", "ip", "-o", "-4", "addr", "show", "dev", "eth0")
        #expect(exec.status == 0 && exec.out.contains("198.51.100.10/24"), "\(exec.all)")
        let unknown = try Harness.lblab("exec", "dr-basic", "nosuch", "--", "true")
        #expect(unknown.status == 2 && unknown.err.contains("no node named 'nosuch'"), "\(unknown.all)")

        let down = try Harness.lblab("down", "dr-basic")
        #expect(down.status == 0, "\(down.all)")
        try Harness.expectNothingLeft(of: "dr-basic")
        #expect(Harness.agentPIDs().isEmpty, "agents left: \(Harness.agentPIDs())")

        let downAgain = try Harness.lblab("down", "dr-basic")
        #expect(downAgain.status == 2 && downAgain.err.contains("not up"), "\(downAgain.all)")
    }

    @Test func failedUpRollsBackEverything() throws {
        // Fail part-way, after the namespaces and the IPVS table exist.
        let up = try Harness.lblab("up", "dr-basic", environment: ["LBLAB_FAIL_AFTER_STEPS": "50"])
        #expect(up.status == 2)
        #expect(up.err.contains("rolled back"), "\(up.err)")
        try Harness.expectNothingLeft(of: "dr-basic")
        #expect(Harness.agentPIDs().isEmpty)

        // A namespace lblab did not create in this run stops `up` before it changes anything,
        // and is left alone.
        try Harness.run(["ip", "netns", "add", "lblab-dr-basic-rs2"])
        let blocked = try Harness.lblab("up", "dr-basic")
        #expect(blocked.status == 2)
        #expect(blocked.err.contains("lblab clean"), "\(blocked.err)")
        let names = try Harness.netns()
        #expect(names.contains("lblab-dr-basic-rs2"))
        #expect(!names.contains("lblab-dr-basic-client"))
        try Harness.run(["ip", "netns", "del", "lblab-dr-basic-rs2"])
    }

    @Test func cleanRemovesWhatACrashLeftAndNothingElse() throws {
        #expect(try Harness.lblab("up", "dr-basic").status == 0)
        // A crash: the state is gone, namespaces and agents are not.
        try FileManager.default.removeItem(atPath: "/run/lblab/dr-basic")
        let up = try Harness.lblab("up", "dr-basic")
        #expect(up.status == 2 && up.err.contains("lblab clean"), "\(up.all)")

        let foreign = "lbtest-foreign-\(getpid())"
        try Harness.run(["ip", "netns", "add", foreign])
        defer { _ = try? Harness.run(["ip", "netns", "del", foreign]) }

        let clean = try Harness.lblab("clean")
        #expect(clean.status == 0, "\(clean.all)")
        #expect(clean.out.contains("removed namespace lblab-dr-basic-dispatcher"), "\(clean.out)")
        let names = try Harness.netns()
        #expect(!names.contains { $0.hasPrefix("lblab-") }, "\(names)")
        #expect(names.contains(foreign), "clean removed a namespace lblab does not own")
        #expect(Harness.agentPIDs().isEmpty)
    }

    @Test func twoLabsUpAtOnceDoNotCollide() throws {
        #expect(try Harness.lblab("up", "dr-basic").status == 0)
        #expect(try Harness.lblab("up", "seed-dr").status == 0)
        #expect(try Harness.ipvsadm("lblab-dr-basic-dispatcher").out.contains("198.51.100.100:80"))
        #expect(try Harness.ipvsadm("lblab-seed-dr-dispatcher").out.contains("192.168.219.100:80"))

        // Testing a running lab with other traffic settings keeps it up.
        let test = try Harness.lblab("test", "seed-dr", "--set", "connections=40", "--json")
        #expect(test.status == 0, "\(test.all)")
        #expect(try Harness.netns().contains("lblab-seed-dr-dispatcher"))
        let changed = try Harness.lblab("test", "seed-dr", "--set", "scheduler=wrr")
        #expect(changed.status == 2 && changed.err.contains("different topology"), "\(changed.all)")

        #expect(try Harness.lblab("down", "seed-dr").status == 0)
        #expect(try Harness.ipvsadm("lblab-dr-basic-dispatcher").out.contains("198.51.100.100:80"), "dr-basic must survive seed-dr's down")
        #expect(try Harness.lblab("down", "dr-basic").status == 0)
        try Harness.expectNothingLeft(of: "dr-basic")
        try Harness.expectNothingLeft(of: "seed-dr")
    }

    @Test func withoutRootItSaysSo() throws {
        let r = try Harness.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", Harness.lblabPath, "up", "dr-basic"])
        #expect(r.status == 2)
        #expect(r.err.contains("root"), "\(r.all)")
        try Harness.expectNothingLeft(of: "dr-basic")
    }
}
}
