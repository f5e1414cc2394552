import LblabAnalysis
import LblabModel
import LblabTypes
import Testing

/// The `health` rule judged from synthetic timelines: rs2 dies at 2 s, comes back at 5 s.
@Suite struct HealthRuleTests {
    typealias L = SyntheticLab

    /// A DR lab with TCP checks (bounds: detection 4 s, re-add 3 s), a down at 2 s and an up at 5 s,
    /// connections every 0.1 s from 0 to 9 s; `removed`/`readded` say when IPVS dropped and took
    /// rs2 back (nil: never), `failing` which connections failed.
    static func judge(removed: Double?, readded: Double?, failing: (Double) -> Bool, healthCheck: Bool = true,
                      checks: Int = 3, fast: Bool = false, rs1Out: Range<Double>? = nil, missed: [FaultSpec]? = nil) -> RuleVerdict? {
        var lab = SyntheticLab(mode: .dr, expect: ExpectSpec(distribution: .none))
        // fast: detection bound 0.5 + 0.5 = 1 s, re-add bound 1 s (each + 1 s slack).
        let hc = fast ? HealthCheckSpec(port: 80, interval: 0.5, timeout: 0.5, retries: 0) : HealthCheckSpec(port: 80)
        if healthCheck { lab.spec.services[0].healthCheck = hc }
        lab.spec.faults = [FaultSpec(at: 2, node: "rs2", action: .down), FaultSpec(at: 5, node: "rs2", action: .up)]
        var samples: [HealthSample] = []
        for k in 0...90 {
            let t = Double(k) / 10
            let out = removed.map { t >= $0 } == true && !(readded.map { t >= $0 } ?? false)
            let rs1 = rs1Out.map { $0.contains(t) } == true ? [] : ["rs1"]
            samples.append(HealthSample(at: t, servers: out ? rs1 : rs1 + ["rs2"]))
        }
        let timeline = HealthTimeline(service: L.service, samples: samples,
                                      faults: [AppliedFault(at: 2.0, node: "rs2", action: .down), AppliedFault(at: 5.0, node: "rs2", action: .up)],
                                      missed: missed)
        var outcomes: [ConnectionOutcome] = []
        for k in 0..<90 {
            let t = Double(k) / 10
            var o = SyntheticLab.outcome(UInt16(3000 + k), k % 2 == 0 ? "rs1" : "rs2")
            o.start = t
            if failing(t) { o.server = nil; o.error = "connect: Connection refused" }
            outcomes.append(o)
        }
        // Three health-check SYNs from the dispatcher to rs1's own address, one to rs2's.
        for (n, rs) in [(checks, L.rs1), (1, L.rs2)] {
            for i in 0..<n {
                lab.see(Build.tcp(ethSrc: L.dispatcher.mac, ethDst: rs.mac, src: L.dispatcher.address, sport: UInt16(40000 + i), dst: rs.address,
                                  dport: 80, flags: 0x02, payload: 0, tcpOptions: 20), at: ["dispatcher", rs.point])
            }
        }
        let report = LabAnalyzer.analyze(spec: lab.spec, facts: lab.facts, outcomes: outcomes, captures: lab.captures, health: timeline)
        return report.verdicts.first { $0.rule == "health" }
    }

    /// rs2 fails from its death until keepalived removed it, and rs2's connections after the re-add succeed.
    static func windowFailures(_ removed: Double) -> (Double) -> Bool {
        { t in t >= 2 && t < removed && Int((t * 10).rounded()) % 2 == 1 }
    }

    @Test func removedAndReaddedWithinTheBoundsPasses() throws {
        let v = try #require(Self.judge(removed: 3.5, readded: 6.5, failing: Self.windowFailures(3.5)))
        #expect(v.passed, "\(v.summary) \(v.evidence)")
        #expect(v.summary.contains("rs2 removed 1.50 s after its down") && v.summary.contains("rs2 re-added 1.50 s after its up"), "\(v.summary)")
        #expect(v.evidence.contains { $0.hasPrefix("error window after rs2's down: 7 failed connections from 2.10 s to 3.30 s (1.20 s)") }, "\(v.evidence)")
        #expect(v.evidence.contains("health checks: 3 to rs1, 1 to rs2 (SYNs from dispatcher to each server's own address; not client flows)"), "\(v.evidence)")
    }

    @Test func aServerWithNoFaultLeavingAfterTheFirstFaultFails() throws {
        let v = try #require(Self.judge(removed: 3.5, readded: 6.5, failing: Self.windowFailures(3.5), rs1Out: 7.0..<7.35))
        #expect(!v.passed)
        #expect(v.summary.contains("rs1 left IPVS at 7.00 s with no fault on it"), "\(v.summary)")
        let late = try #require(Self.judge(removed: 3.5, readded: 6.5, failing: Self.windowFailures(3.5), rs1Out: 0..<2.5))
        #expect(!late.passed)
        #expect(late.summary.contains("rs1 joined IPVS only at 2.50 s, after the first fault at 2.00 s"), "\(late.summary)")
    }

    @Test func aFaultNeverAppliedFails() throws {
        let v = try #require(Self.judge(removed: 3.5, readded: 6.5, failing: Self.windowFailures(3.5),
                                        missed: [FaultSpec(at: 12, node: "rs1", action: .down)]))
        #expect(!v.passed)
        #expect(v.summary.contains("fault rs1 down at 12.0 s was never applied: the traffic ended first"), "\(v.summary)")
    }

    @Test func aSlowRemovalFailsOnItsBound() throws {
        let v = try #require(Self.judge(removed: 4.5, readded: 6.5, failing: Self.windowFailures(4.5), fast: true))
        #expect(!v.passed)
        #expect(v.summary.contains("rs2 left IPVS 2.50 s after its down, more than the detection bound 2.0 s"), "\(v.summary)")
    }

    @Test func neverRemovedFailsAndSaysWhy() throws {
        let v = try #require(Self.judge(removed: nil, readded: nil, failing: { $0 >= 2 && Int(($0 * 10).rounded()) % 2 == 1 }))
        #expect(!v.passed)
        #expect(v.summary.contains("rs2 stayed in IPVS after its down at 2.00 s: keepalived's check (TCP_CHECK on port 80) did not see it die"), "\(v.summary)")
        let noCheck = try #require(Self.judge(removed: nil, readded: nil, failing: { _ in false }, healthCheck: false))
        #expect(noCheck.summary.contains("the service has no health_check"), "\(noCheck.summary)")
    }

    @Test func failuresAfterTheRemovalOrOutsideAWindowFail() throws {
        let inWindowAndOneLate: (Double) -> Bool = { t in
            let inWindow = t >= 2 && t < 3.5
            return inWindow || (t > 8 && t < 8.15)
        }
        let late = try #require(Self.judge(removed: 3.5, readded: 6.5, failing: inWindowAndOneLate))
        #expect(!late.passed)
        #expect(late.summary.contains("1 connections started after rs2 left IPVS failed, e.g. client port 3081 at 8.10 s"), "\(late.summary)")
        let early = try #require(Self.judge(removed: 3.5, readded: 6.5, failing: { t in t < 0.05 }))
        #expect(early.summary.contains("1 connections failed outside any fault's error window"), "\(early.summary)")
    }

    @Test func notReaddedOrNoTrafficAfterwardsFails() throws {
        let never = try #require(Self.judge(removed: 3.5, readded: nil, failing: Self.windowFailures(3.5)))
        #expect(never.summary.contains("rs2 was not re-added after its up at 5.00 s"), "\(never.summary)")
        let late = try #require(Self.judge(removed: 2.5, readded: 8.95, failing: Self.windowFailures(2.5), fast: true))
        #expect(late.summary.contains("more than the re-add bound 2.0 s") && late.summary.contains("rs2 answered no connection after it was re-added"), "\(late.summary)")
    }

    @Test func serversNeverAddedFailFirst() throws {
        var lab = SyntheticLab(mode: .dr)
        lab.spec.services[0].healthCheck = HealthCheckSpec(port: 81)
        let timeline = HealthTimeline(service: L.service, samples: [HealthSample(at: 0, servers: []), HealthSample(at: 1, servers: [])], faults: [])
        let outcomes = [SyntheticLab.outcome(3000, nil, error: "connect: Connection refused")]
        let report = LabAnalyzer.analyze(spec: lab.spec, facts: lab.facts, outcomes: outcomes, captures: lab.captures, health: timeline)
        let v = try #require(report.verdicts.first { $0.rule == "health" })
        #expect(!v.passed)
        #expect(v.summary == "rs1, rs2 never in IPVS: their health checks never passed (TCP_CHECK on port 81): servers never added; 1 of 1 connections failed")
    }

    @Test func selection() {
        var lab = SyntheticLab(mode: .dr)
        #expect(!RuleCatalog.rules(for: lab.spec).contains { type(of: $0).name == "health" })
        lab.spec.services[0].healthCheck = HealthCheckSpec(port: 80)
        let names = RuleCatalog.rules(for: lab.spec).map { type(of: $0).name }
        #expect(names == ["answered", "health", "distribution", "dr-path", "arp"])
        // With faults, failed connections are health's to judge: no answered rule.
        lab.spec.faults = [FaultSpec(at: 1, node: "rs2", action: .down)]
        #expect(RuleCatalog.rules(for: lab.spec).map { type(of: $0).name } == ["health", "distribution", "dr-path", "arp"])
    }
}
