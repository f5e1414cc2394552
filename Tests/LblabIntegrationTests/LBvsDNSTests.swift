import Foundation
import Testing

/// `lblab test lb-vs-dns` end to end (issue 9): the same fault under DNS round robin and under
/// keepalived + IPVS, and the article's comparison read from the side-by-side report.
extension IntegrationTests {
@Suite struct LBvsDNSTests {
    static func side(_ json: [String: Any], _ key: String) throws -> [String: Any] {
        try #require(json[key] as? [String: Any], "no \(key) side: \(json)")
    }

    static func window(_ side: [String: Any]) -> (Double, Double)? {
        guard let w = side["errorWindow"] as? [Double], w.count == 2 else { return nil }
        return (w[0], w[1])
    }

    @Test func loadBalancerNoticesTheDeadServerAndDNSDoesNot() throws {
        let t0 = Date()
        let r = try Harness.lblab("test", "lb-vs-dns", "--json")
        print(String(format: "lb-vs-dns wall time: %.1f s, exit %d", Date().timeIntervalSince(t0), r.status))
        #expect(r.status == 0, "\(r.all.suffix(3000))")
        let json = try r.json()
        let statuses = json["statuses"] as? [String: Int] ?? [:]
        #expect(statuses.count == 2 && statuses.values.allSatisfy { $0 == 0 }, "each lab's own verdicts: \(statuses)")
        let dns = try Self.side(json, "dns"), lb = try Self.side(json, "lb")
        print("lb-vs-dns dns: \(dns)\nlb-vs-dns lb: \(lb)")
        let down = try #require(lb["down"] as? Double), up = try #require(lb["up"] as? Double)
        // keepalived takes the dead server out before it is back.
        let removed = try #require(lb["removedAfter"] as? Double, "keepalived never removed the server: \(lb)")
        #expect(removed < up - down, "removed \(removed) s after down, later than the up")
        // DNS clients keep failing until the server is back; the load balancer's errors stop at the removal.
        let (_, dnsLast) = try #require(Self.window(dns), "no DNS errors after the fault: \(dns)")
        let dnsDown = try #require(dns["down"] as? Double), dnsUp = try #require(dns["up"] as? Double)
        #expect(dnsLast > (dnsUp - dnsDown) - 0.5, "DNS errors stopped at \(dnsLast) s, before the server came back")
        if let (_, lbLast) = Self.window(lb) { #expect(lbLast <= removed + 0.5, "LB errors until \(lbLast) s, removal at \(removed) s") }
        #expect((dns["failed"] as? Int ?? 0) > 0)
        // Both give the server traffic again once it is back.
        #expect(lb["readdedAfter"] as? Double != nil, "\(lb)")
        let lbAfter = lb["after"] as? [String: Double] ?? [:], dnsAfter = dns["after"] as? [String: Double] ?? [:]
        #expect((lbAfter["rs2"] ?? 0) > 0.2, "\(lbAfter)")
        #expect((dnsAfter["web2"] ?? 0) > 0.2, "\(dnsAfter)")
    }
}
}
