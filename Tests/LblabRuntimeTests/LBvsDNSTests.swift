import LblabAnalysis
import LblabDNS
import LblabModel
@testable import LblabRuntime
import LblabTypes
import Testing

@Suite struct LBvsDNSTests {
    /// 10 connections a second for 9 s, alternating two servers; `down` from 2 s to 5 s fails the
    /// second server's connections until `out` (DNS: until the up).
    static func connections(server: String, out: Double) -> [(Double, String?)] {
        (0..<90).map { k in
            let t = Double(k) / 10
            let s = k % 2 == 0 ? "\(server.dropLast())1" : server
            return (t, s == server && t >= 2 && t < out ? nil : s)
        }
    }

    static func dnsRun() -> DNSRun {
        let zero = 1_700_000_000.0
        let records = Self.connections(server: "web2", out: 5).map { t, s in
            ClientRecord(client: "client1", start: zero + t, latencyMillis: 1, addresses: [], chosen: nil, server: s, error: s == nil ? "connect:ECONNREFUSED" : nil)
        }
        let run = DNSRun(lab: "dns-rr-comeback", name: "www.lab.test", ttl: 5, servers: [], clients: [], resolvers: [],
                         faults: [.init(time: zero + 2, node: "web2", down: true), .init(time: zero + 5, node: "web2", down: false)],
                         timeout: 1, expect: DNSExpectations(spread: .none, errors: .any, cache: .any), records: records,
                         clientPackets: [:], resolverPackets: [:], deadDaemons: [])
        return run
    }

    @Test func dnsSideFromItsRecords() throws {
        let side = try #require(LBvsDNS.dnsSide(Self.dnsRun()))
        #expect(side.failed == 15 && side.connections == 90)
        #expect(side.errorWindow.map { abs($0.lowerBound - 0.1) < 1e-4 && abs($0.upperBound - 2.9) < 1e-4 } == true)
        #expect(side.before == ["web1": 0.5, "web2": 0.5])
        #expect(side.during == ["web1": 1.0])
        #expect(side.firstAnswerAfterUp.map { abs($0 - 0.1) < 1e-4 } == true)
    }

    @Test func keepalivedSideAndTheTable() throws {
        let outcomes = Self.connections(server: "rs2", out: 3.2).map { t, s in
            ConnectionOutcome(client: "client", localAddress: nil, localPort: 2000, service: "svc1", server: s, start: t)
        }
        let samples = (0...90).map { k -> HealthSample in
            let t = Double(k) / 10
            return HealthSample(at: t, servers: t >= 3.2 && t < 6.1 ? ["rs1"] : ["rs1", "rs2"])
        }
        // After the removal rs2 gets nothing until its re-add at 6.1 s.
        let shifted = outcomes.map { o -> ConnectionOutcome in
            var o = o
            if let t = o.start, t >= 3.2, t < 6.1, o.server == "rs2" { o.server = "rs1" }
            return o
        }
        var record = RunRecord(spec: LabSpec(name: "dr-keepalived", mode: .dr, segments: [], nodes: [], services: [], arpFix: true,
                                             traffic: TrafficSpec(timeout: 1, phases: []), expect: ExpectSpec()),
                               facts: RunFacts(client: "client", service: "svc1", vip: IPAddress("198.51.100.100")!, port: 80, protocol: .tcp, nodes: []),
                               outcomes: shifted)
        record.health = HealthTimeline(service: "svc1", samples: samples,
                                       faults: [AppliedFault(at: 2, node: "rs2", action: .down), AppliedFault(at: 5, node: "rs2", action: .up)])
        let lb = try #require(LBvsDNS.lbSide(record))
        #expect(lb.failed == 6)
        #expect(lb.removedAfter.map { abs($0 - 1.2) < 1e-4 } == true)
        #expect(lb.readdedAfter.map { abs($0 - 1.1) < 1e-4 } == true)
        #expect(lb.firstAnswerAfterUp.map { abs($0 - 1.1) < 1e-4 } == true)
        let dns = try #require(LBvsDNS.dnsSide(Self.dnsRun()))
        let rows = LBvsDNS.table(dns: dns, lb: lb).split(separator: "\n").map(String.init)
        let out = try #require(rows.first { $0.hasPrefix("dead server out of rotation") })
        #expect(out.contains("never (DNS keeps its address)") && out.contains("1.20 s after down"), "\(out)")
        let back = try #require(rows.first { $0.hasPrefix("back in rotation") })
        #expect(back.contains("at once (it never left)") && back.contains("1.10 s after up"), "\(back)")
        let failed = try #require(rows.first { $0.hasPrefix("failed") })
        #expect(failed.contains("15 (16.7%)") && failed.contains("6 (6.7%)"), "\(failed)")
    }
}
