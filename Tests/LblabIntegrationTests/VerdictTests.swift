import Foundation
import Testing

/// `lblab test` end to end: real traffic through kernel IPVS, captures, verdicts that can fail.
extension IntegrationTests {
@Suite struct VerdictTests {
    init() throws {
        for lab in ["dr-basic", "seed-dr"] { try Harness.lblab("down", lab) }
    }

    @Test func drBasicPassesEveryRule() throws {
        let r = try Harness.lblab("test", "dr-basic", "--set", "connections=200", "--json")
        #expect(r.status == 0, "\(r.all)")
        let json = try r.json()
        let analysis = try #require(json["analysis"] as? [String: Any])
        #expect(analysis["sent"] as? Int == 200)
        #expect(analysis["answered"] as? Int == 200)
        #expect(analysis["failed"] as? Int == 0)
        #expect(Harness.counts(json, "fromClient") == ["rs1": 100, "rs2": 100])
        #expect(Harness.counts(json, "fromCapture") == ["rs1": 100, "rs2": 100])
        for rule in ["answered", "distribution", "dr-path", "arp"] {
            #expect(Harness.verdict(json, rule)?["passed"] as? Bool == true, "\(rule): \(Harness.verdict(json, rule) ?? [:])")
        }
        // The saved run: one fresh client source port per connection.
        let record = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: "/tmp/lblab-captures/dr-basic/run.json"))) as? [String: Any])
        let ports = (record["outcomes"] as? [[String: Any]] ?? []).compactMap { $0["localPort"] as? Int }
        #expect(ports.count == 200 && Set(ports).count == 200, "\(ports.count) outcomes, \(Set(ports).count) distinct ports")
        try Harness.expectNothingLeft(of: "dr-basic")
    }

    @Test func seedDRPassesWithTheArticlesAddresses() throws {
        let r = try Harness.lblab("test", "seed-dr", "--json")
        #expect(r.status == 0, "\(r.all)")
        let json = try r.json()
        #expect(Harness.counts(json, "fromClient") == ["web1": 50, "web2": 50])
        let facts = try #require(json["facts"] as? [String: Any])
        #expect(facts["vip"] as? String == "192.168.219.100")
        try Harness.expectNothingLeft(of: "seed-dr")
    }

    @Test func arpFluxFailsTheARPRuleWithTheRealServersReplies() throws {
        let r = try Harness.lblab("test", "dr-basic", "--set", "arp_fix=false", "--set", "connections=40", "--json")
        #expect(r.status == 1, "\(r.all)")
        let json = try r.json()
        let arp = try #require(Harness.verdict(json, "arp"))
        #expect(arp["passed"] as? Bool == false)
        let evidence = (arp["evidence"] as? [String] ?? []).joined(separator: "\n")
        #expect(evidence.contains("rs1") && evidence.contains("rs2"), "the real servers' ARP replies must be shown: \(evidence)")
        try Harness.expectNothingLeft(of: "dr-basic")
    }

    @Test func weightsThatContradictTheExpectationFail() throws {
        // wrr 3:1 checked against "equal": must fail, with the skewed counts as evidence.
        let bad = try Harness.lblab("test", "dr-basic", "--set", "scheduler=wrr", "--set", "rs1.weight=3",
                                    "--set", "distribution=equal", "--set", "connections=80", "--json")
        #expect(bad.status == 1, "\(bad.all)")
        let badJSON = try bad.json()
        #expect(Harness.verdict(badJSON, "distribution")?["passed"] as? Bool == false)
        #expect(Harness.counts(badJSON, "fromClient") == ["rs1": 60, "rs2": 20])

        // The same lab checked against its scheduler (wrr: by weight) passes.
        let good = try Harness.lblab("test", "dr-basic", "--set", "scheduler=wrr", "--set", "rs1.weight=3",
                                     "--set", "connections=80", "--json")
        #expect(good.status == 0, "\(good.all)")
        #expect(Harness.counts(try good.json(), "fromClient") == ["rs1": 60, "rs2": 20])
    }

    @Test func forwardingThatContradictsTheModeFails() throws {
        // NAT forwarding for rs2 inside a DR topology: the DR path rule must catch it.
        let r = try Harness.lblab("test", "dr-basic", "--set", "rs2.forward=masq", "--set", "connections=24",
                                  "--set", "timeout=1", "--json")
        #expect(r.status == 1, "\(r.all)")
        let json = try r.json()
        #expect(Harness.verdict(json, "dr-path")?["passed"] as? Bool == false, "\(Harness.verdict(json, "dr-path") ?? [:])")
        try Harness.expectNothingLeft(of: "dr-basic")
    }
}
}
