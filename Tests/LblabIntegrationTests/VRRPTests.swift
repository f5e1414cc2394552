import Foundation
import Testing

/// A redundant dispatcher (labs/dr-vrrp.yaml): keepalived VRRP on two dispatchers, the primary's
/// keepalived stopped 3 s into the traffic, the IPVS sync daemon on and off; each wrong variant
/// fails on its rule. `ip`/`ipvsadm` are the witnesses.
extension IntegrationTests {
@Suite struct VRRPTests {
    static let lab = "dr-vrrp"

    /// `lblab test dr-vrrp --json` with `settings`: exit status, the JSON report, wall time.
    static func test(_ settings: [String] = []) throws -> (status: Int32, json: [String: Any], all: String) {
        let t0 = Date()
        let r = try Harness.run([Harness.lblabPath, "test", lab, "--json"] + settings.flatMap { ["--set", $0] })
        print(String(format: "dr-vrrp wall time: %@: %.1f s, exit %d", settings.joined(separator: " "), Date().timeIntervalSince(t0), r.status))
        return (r.status, (try? r.json()) ?? [:], r.all)
    }

    static func failed(_ json: [String: Any]) -> [String] {
        ((json["analysis"] as? [String: Any])?["verdicts"] as? [[String: Any]] ?? []).filter { $0["passed"] as? Bool != true }.compactMap { $0["rule"] as? String }
    }

    static func summary(_ json: [String: Any], _ rule: String) -> String { Harness.verdict(json, rule)?["summary"] as? String ?? "" }

    /// "N of M connections held across the failover answered their second request" -> (N, M).
    static func survivors(_ json: [String: Any]) throws -> (Int, Int) {
        let words = summary(json, "sync").split(separator: " ")
        let i = try #require(words.firstIndex(of: "of"), "\(summary(json, "sync"))")
        return (Int(words[i - 1]) ?? -1, Int(words[i + 1]) ?? -1)
    }

    static func ip(_ node: String, _ args: String...) throws -> Harness.Run {
        try Harness.run(["ip", "netns", "exec", "lblab-\(lab)-\(node)"] + args)
    }

    /// Until ipvsadm shows a master sync daemon on the primary and a backup one on the backup (VRRP settled).
    static func waitForDaemons() throws {
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if try Self.ip("primary", "ipvsadm", "-L", "--daemon").out.contains("master sync daemon"),
               try Self.ip("backup", "ipvsadm", "-L", "--daemon").out.contains("backup sync daemon") { return }
            usleep(200_000)
        }
    }

    /// Without sync the backup resets the connections held through the primary; with it they
    /// answer their second request through the backup. Both runs fail over and are measured.
    @Test func failoverWithAndWithoutSync() throws {
        _ = try Harness.lblab("down", Self.lab)
        let off = try Self.test(["sync=false"])
        #expect(off.status == 0, "\(off.all)")
        let (keptOff, heldOff) = try Self.survivors(off.json)
        #expect(heldOff == 6 && keptOff == 0, "\(Self.summary(off.json, "sync"))")
        print("dr-vrrp sync off: \(Self.summary(off.json, "failover"))")

        let up = try Harness.lblab("up", Self.lab)
        try #require(up.status == 0, "\(up.all)")
        defer { _ = try? Harness.lblab("down", Self.lab) }
        // ipvsadm and ip, not lblab, show what keepalived did once VRRP elected (a BACKUP waits
        // 3 adverts): the VIP on the primary only, a master sync daemon there, a backup one beside.
        try Self.waitForDaemons()
        #expect(try Self.ip("primary", "ipvsadm", "-L", "--daemon").out.contains("master sync daemon (mcast=eth0, syncid=51"))
        #expect(try Self.ip("backup", "ipvsadm", "-L", "--daemon").out.contains("backup sync daemon (mcast=eth0, syncid=51"))
        #expect(try Self.ip("primary", "ip", "-4", "addr", "show", "dev", "eth0").out.contains("198.51.100.100/32"))
        #expect(try !Self.ip("backup", "ip", "-4", "addr", "show", "dev", "eth0").out.contains("198.51.100.100/32"))

        let on = try Self.test()
        #expect(on.status == 0, "\(on.all)")
        for rule in ["vrrp", "takeover", "neighbour", "failover", "sync", "liveness"] {
            #expect(Harness.verdict(on.json, rule)?["passed"] as? Bool == true, "\(rule): \(Self.summary(on.json, rule))")
        }
        let (keptOn, heldOn) = try Self.survivors(on.json)
        #expect(heldOn == 6 && keptOn == 6, "\(Harness.verdict(on.json, "sync") ?? [:])")
        #expect(keptOn > keptOff, "sync keeps the held connections, no sync loses them")
        print("dr-vrrp sync on: \(Self.summary(on.json, "failover"))")

        // Sync expected but not running: the backup's daemon stopped behind keepalived's back, once
        // the primary (started again after the test) is MASTER again (keepalived restarts the
        // daemons at each VRRP transition). The fault is turned into `up` (the primary's keepalived
        // runs already): no failover now, so nothing restarts the daemon.
        try Self.waitForDaemons()
        _ = try Self.ip("backup", "ipvsadm", "--stop-daemon", "backup")
        let stopped = try Self.test(["faults.0.action=up"])
        #expect(stopped.status == 1)
        #expect(Self.failed(stopped.json).contains("sync"), "\(stopped.all)")
        #expect(Self.summary(stopped.json, "sync").hasPrefix("sync expected but not running on backup"), "\(Self.summary(stopped.json, "sync"))")

        // A dead keepalived: liveness names it, even where the traffic went through.
        let down = try Harness.lblab("fault", Self.lab, "backup", "down")
        #expect(down.status == 0, "\(down.all)")
        let dead = try Self.test(["faults.0.action=up"])
        #expect(dead.status == 1)
        let liveness = Harness.verdict(dead.json, "liveness")
        #expect(liveness?["passed"] as? Bool == false)
        #expect((liveness?["evidence"] as? [String] ?? []).contains { $0.hasPrefix("keepalived of backup") }, "\(liveness ?? [:])")
    }

    /// Equal priorities: no primary; the rule says so and who VRRP's tie-break made MASTER.
    @Test func equalPrioritiesFailOnVRRP() throws {
        _ = try Harness.lblab("down", Self.lab)
        let r = try Self.test(["backup.vrrp.priority=150"])
        #expect(r.status == 1)
        #expect(Self.failed(r.json).contains("vrrp"), "\(r.all)")
        #expect(Self.summary(r.json, "vrrp").hasPrefix("priorities are equal (primary 150, backup 150)"), "\(Self.summary(r.json, "vrrp"))")
    }

    /// Different virtual router ids: two virtual routers, each MASTER, both holding the VIP.
    @Test func mismatchedRouterIDsFailOnVRRP() throws {
        _ = try Harness.lblab("down", Self.lab)
        let r = try Self.test(["backup.vrrp.router_id=52"])
        #expect(r.status == 1)
        #expect(Self.failed(r.json).contains("vrrp"), "\(r.all)")
        let v = Harness.verdict(r.json, "vrrp")
        #expect(Self.summary(r.json, "vrrp").hasPrefix("the dispatchers have different virtual_router_ids (primary 51, backup 52)"))
        #expect((v?["evidence"] as? [String] ?? []).contains("VIP 198.51.100.100 held before the fault by: primary, backup"), "\(v ?? [:])")
    }
}
}
