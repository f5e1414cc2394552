import Foundation
import Testing

/// `lblab test` on the IPv6 labs: real IPv6 traffic through kernel IPVS, judged from the
/// captures; the NDP-flux variant (`--set rs1.vip_on=eth0`) fails the `ndp` rule naming rs1.
extension IntegrationTests {
@Suite struct IPv6VerdictTests {
    init() throws {
        for lab in ["dr-ipv6", "nat-ipv6"] { try Harness.lblab("down", lab) }
    }

    @Test(arguments: [("dr-ipv6", "dr-path"), ("nat-ipv6", "nat-path")])
    func ipv6LabPassesEveryRule(lab: String, path: String) throws {
        let r = try Harness.lblab("test", lab, "--set", "connections=60", "--json")
        #expect(r.status == 0, "\(r.all)")
        let json = try r.json()
        #expect(Harness.counts(json, "fromClient") == ["rs1": 30, "rs2": 30])
        #expect(Harness.counts(json, "fromCapture") == ["rs1": 30, "rs2": 30])
        for rule in ["answered", "distribution", path, "ndp"] {
            #expect(Harness.verdict(json, rule)?["passed"] as? Bool == true, "\(rule): \(Harness.verdict(json, rule) ?? [:])")
        }
        #expect(Harness.verdict(json, "arp") == nil, "an IPv6 lab is judged by ndp, not arp")
        let ndp = try #require(Harness.verdict(json, "ndp"))
        #expect((ndp["summary"] as? String ?? "").hasPrefix("only dispatcher answers neighbour solicitations (NDP) for 2001:db8:"))
        try Harness.expectNothingLeft(of: lab)
    }

    @Test func theVIPOnARealServersEth0FailsNDP() throws {
        let r = try Harness.lblab("test", "dr-ipv6", "--set", "rs1.vip_on=eth0", "--set", "connections=40", "--json")
        #expect(r.status == 1, "\(r.all)")
        let json = try r.json()
        let ndp = try #require(Harness.verdict(json, "ndp"))
        #expect(ndp["passed"] as? Bool == false)
        let summary = ndp["summary"] as? String ?? ""
        #expect(summary.contains("NDP for 2001:db8::100 also from rs1") && summary.contains("NDP flux"), "\(summary)")
        let evidence = (ndp["evidence"] as? [String] ?? []).joined(separator: "\n")
        #expect(evidence.contains("dispatcher") && evidence.contains("rs1"), "both advertisements must be shown: \(evidence)")
        try Harness.expectNothingLeft(of: "dr-ipv6")
    }
}
}
