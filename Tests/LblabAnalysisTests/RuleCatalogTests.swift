import LblabAnalysis
import LblabModel
import LblabTypes
import Testing

/// Which rules a lab gets comes from its spec alone: mode, expect, services.
@Suite struct RuleCatalogTests {
    func names(_ mode: LabMode, _ expect: ExpectSpec = ExpectSpec(), scheduler: Scheduler = .rr) -> [String] {
        RuleCatalog.rules(for: SyntheticLab(mode: mode, scheduler: scheduler, expect: expect).spec).map { type(of: $0).name }
    }

    @Test func eachModeGetsItsOwnPathRule() {
        #expect(names(.dr) == ["answered", "distribution", "dr-path", "arp"])
        #expect(names(.nat) == ["answered", "distribution", "nat-path", "arp"])
        #expect(names(.tun) == ["answered", "distribution", "tun-path", "arp"])
    }

    @Test func expectPathNamesAnotherModesRuleOrNone() {
        #expect(names(.nat, ExpectSpec(path: .dr)) == ["answered", "distribution", "dr-path", "arp"])
        #expect(names(.dr, ExpectSpec(path: .tun)) == ["answered", "distribution", "tun-path", "arp"])
        #expect(names(.tun, ExpectSpec(path: .nat)) == ["answered", "distribution", "nat-path", "arp"])
        #expect(names(.dr, ExpectSpec(path: .none)) == ["answered", "distribution", "arp"])
        #expect(names(.nat, ExpectSpec(path: .none, arp: .none)) == ["answered", "distribution"])
    }

    @Test func everyModeMapsToAPathRuleOfThatMode() {
        var seen = Set<String>()
        for mode in LabMode.allCases where mode.usesIPVS {
            guard let rule = RuleCatalog.pathRule(for: mode) else { Issue.record("IPVS mode \(mode) has no path rule"); continue }
            #expect(rule.mode == mode, "\(mode) -> \(rule.name)")
            seen.insert(rule.name)
            // Exactly one path rule is selected for a lab of that mode, and it is that one.
            let selected = RuleCatalog.rules(for: SyntheticLab(mode: mode).spec).filter { $0 is any PacketPathRule }
            #expect(selected.map { type(of: $0).name } == [rule.name])
        }
        #expect(seen.count == LabMode.allCases.filter(\.usesIPVS).count)
        #expect(RuleCatalog.pathRule(for: .dns) == nil, "a DNS lab has no IPVS path")
        #expect(Set(RuleCatalog.all.map { $0.name }).count == RuleCatalog.all.count)
    }

    @Test func distributionFollowsTheSchedulerAndWeights() {
        func expectation(_ lab: SyntheticLab) -> Rules.Distribution.Expectation? { Rules.Distribution.selected(by: lab.spec)?.expectation }
        #expect(expectation(SyntheticLab(mode: .dr)) == .scheduler(.rr))
        #expect(expectation(SyntheticLab(mode: .dr, weights: [3, 0])) == .scheduler(.rr))
        #expect(expectation(SyntheticLab(mode: .dr, weights: [3, 1], scheduler: .wrr)) == .scheduler(.wrr))
        #expect(expectation(SyntheticLab(mode: .dr, weights: [3, 1], expect: ExpectSpec(distribution: .weights))) == .weighted(["rs1": 3, "rs2": 1]))
        #expect(expectation(SyntheticLab(mode: .dr, expect: ExpectSpec(distribution: .none))) == Rules.Distribution.Expectation.none)
        #expect(expectation(SyntheticLab(mode: .dr, scheduler: .sh)) == .scheduler(.sh))
    }
}
