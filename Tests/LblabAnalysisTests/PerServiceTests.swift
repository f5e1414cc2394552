import LblabAnalysis
import LblabModel
import LblabTypes
import Testing

/// A run whose phases went to several services is judged service by service, each rule's
/// verdicts joined: it holds when it held for every service, and names the one where it did not.
@Suite struct PerServiceTests {
    typealias L = SyntheticLab

    /// Two services on the VIP (web on port 80, alt on 8080); only web's four connections captured.
    static func twoServices() -> L {
        var lab = L(mode: .dr, weights: [1, 1], scheduler: .rr, expect: ExpectSpec())
        var alt = lab.spec.services[0]
        alt.name = "alt"
        alt.port = 8080
        lab.spec.services.append(alt)
        lab.spec.traffic.phases.append(TrafficPhase(name: "alt", clients: ["client"], service: "alt", connections: 2, concurrency: 1))
        lab.arpExchange()
        for (i, rs) in [L.rs2, L.rs1, L.rs2, L.rs1].enumerated() { lab.drFlow(port: 40001 + UInt16(i), rs: rs) }
        // The alt service's connections: answered, but never in the captures.
        for (i, rs) in [L.rs2, L.rs1].enumerated() {
            var o = L.outcome(41001 + UInt16(i), rs.name)
            o.service = "alt"
            lab.outcomes.append(o)
        }
        return lab
    }

    @Test func eachServiceIsJudgedAndTheVerdictsJoined() {
        let report = Self.twoServices().analyze()
        let d = report.verdict("distribution")
        #expect(d?.passed == false, "\(report.render())")
        #expect(d?.summary.hasPrefix("1 of 2 services: alt: ") == true, "\(d?.summary ?? "")")
        #expect(d?.evidence.contains("web:") == true && d?.evidence.contains("alt:") == true)
        #expect(report.verdict("answered")?.passed == true && report.verdict("answered")?.summary.hasPrefix("2 services: ") == true)
        #expect(report.fromClient == ["rs1": 3, "rs2": 3] && report.sent == 6)
    }
}
