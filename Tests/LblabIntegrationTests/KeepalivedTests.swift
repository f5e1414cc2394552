import Foundation
import Testing

/// keepalived on the dispatcher (issue 9): its IPVS table read back, a dead server removed and
/// re-added during paced traffic (DR and NAT), and the wrong variants failing on the right rule.
extension IntegrationTests {
@Suite(.serialized) struct KeepalivedTests {
    static func healthVerdict(_ r: Harness.Run) throws -> [String: Any] {
        try #require(Harness.verdict(try r.json(), "health"), "no health verdict: \(r.all.suffix(1500))")
    }

    static func evidence(_ v: [String: Any]) -> [String] { v["evidence"] as? [String] ?? [] }

    /// The lab up: keepalived's table (ipvsadm as the witness) holds both servers, added by its
    /// checks, DR; the test passes on the running lab; keepalived killed, liveness names it.
    @Test func drKeepalivedPassesAndLivenessNamesKeepalived() throws {
        try Harness.lblab("down", "dr-keepalived")
        let up = try Harness.lblab("up", "dr-keepalived")
        #expect(up.status == 0, "\(up.all)")
        defer { _ = try? Harness.lblab("down", "dr-keepalived") }
        let table = try Harness.ipvsadm("lblab-dr-keepalived-dispatcher").out
        #expect(table.contains("TCP  198.51.100.100:80 rr"), "\(table)")
        for rs in ["198.51.100.21:80", "198.51.100.22:80"] {
            #expect(table.split(separator: "\n").contains { $0.contains(rs) && $0.contains("Route") }, "\(rs) missing: \(table)")
        }
        let conf = try String(contentsOfFile: "/run/lblab/dr-keepalived/dispatcher.keepalived.conf", encoding: .utf8)
        #expect(conf.contains("TCP_CHECK") && conf.contains("lvs_method DR"))

        let r = try Harness.lblab("test", "dr-keepalived", "--json")
        #expect(r.status == 0, "\(r.all.suffix(3000))")
        let health = try Self.healthVerdict(r)
        #expect(health["passed"] as? Bool == true, "\(health)")
        let ev = Self.evidence(health)
        #expect(ev.contains { $0.hasPrefix("rs2 out of IPVS at") }, "\(ev)")
        #expect(ev.contains { $0.hasPrefix("rs2 back in IPVS at") }, "\(ev)")
        #expect(ev.contains { $0.hasPrefix("health checks: ") && !$0.contains(" 0 to ") }, "\(ev)")
        print("dr-keepalived health: \(health["summary"] ?? "")\n  " + ev.joined(separator: "\n  "))
        #expect(Harness.verdict(try r.json(), "dr-path")?["passed"] as? Bool == true)
        // The fault's server is itself again after the test.
        #expect(try Harness.ipvsadm("lblab-dr-keepalived-dispatcher").out.contains("198.51.100.22:80"))

        // keepalived killed: the next test fails liveness, naming it.
        let pidText = try String(contentsOfFile: "/run/lblab/dr-keepalived/dispatcher.keepalived.pid", encoding: .utf8)
        let pid = try #require(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(kill(pid, SIGKILL) == 0)
        usleep(200_000)
        let dead = try Harness.lblab("test", "dr-keepalived", "--set", "connections=20", "--json")
        #expect(dead.status == 1, "\(dead.all.suffix(1500))")
        let liveness = try #require(Harness.verdict(try dead.json(), "liveness"))
        #expect(liveness["passed"] as? Bool == false)
        #expect(Self.evidence(liveness).contains { $0.contains("keepalived of dispatcher") }, "\(liveness)")
        #expect(try Harness.lblab("down", "dr-keepalived").status == 0)
        try Harness.expectNothingLeft(of: "dr-keepalived")
    }

    @Test func natKeepalivedPasses() throws {
        let r = try Harness.lblab("test", "nat-keepalived", "--json")
        #expect(r.status == 0, "\(r.all.suffix(3000))")
        let health = try Self.healthVerdict(r)
        #expect(health["passed"] as? Bool == true, "\(health)")
        print("nat-keepalived health: \(health["summary"] ?? "")\n  " + Self.evidence(health).joined(separator: "\n  "))
        #expect(Harness.verdict(try r.json(), "nat-path")?["passed"] as? Bool == true)
        try Harness.expectNothingLeft(of: "nat-keepalived")
    }

    /// Checks on a port nothing listens on: no server ever joins, the health rule says so.
    @Test func checksOnTheWrongPortNeverAddTheServers() throws {
        let r = try Harness.lblab("test", "dr-keepalived", "--set", "service.health_check.port=81", "--set", "connections=15", "--json")
        #expect(r.status == 1, "\(r.all.suffix(1500))")
        let health = try Self.healthVerdict(r)
        #expect(health["passed"] as? Bool == false)
        let summary = health["summary"] as? String ?? ""
        #expect(summary.contains("rs1, rs2 never in IPVS") && summary.contains("servers never added") && summary.contains("port 81"), "\(summary)")
    }

    /// Checks on a port that stays up (8080) while the service's agent (80) dies: keepalived never
    /// removes the dead server, and connections keep failing: the health rule says so.
    @Test func checksThatCannotSeeTheServerDieNeverRemoveIt() throws {
        let lab = """
            name: ka-blind
            mode: dr
            services:
              - {name: web, vip: 198.51.100.100, port: 80, health_check: {port: 8080}}
              - {name: alt, vip: 198.51.100.100, port: 8080}
            nodes:
              client:     {role: client,     address: 198.51.100.10/24}
              dispatcher: {role: dispatcher, address: 198.51.100.2/24}
              rs1:        {role: real,       address: 198.51.100.21/24}
              rs2:        {role: real,       address: 198.51.100.22/24}
            traffic: {service: web, connections: 250, interval_ms: 20, timeout: 1}
            faults:
              - {at: 1.0, node: rs2, action: down, port: 80}
            expect: {distribution: none}
            """
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ka-blind.yaml").path
        try lab.write(toFile: path, atomically: true, encoding: .utf8)
        let r = try Harness.lblab("test", path, "--json")
        #expect(r.status == 1, "\(r.all.suffix(1500))")
        let health = try Self.healthVerdict(r)
        #expect(health["passed"] as? Bool == false)
        let summary = health["summary"] as? String ?? ""
        #expect(summary.contains("rs2 stayed in IPVS after its down") && summary.contains("TCP_CHECK on port 8080"), "\(summary)")
        try Harness.expectNothingLeft(of: "ka-blind")
    }
}
}
