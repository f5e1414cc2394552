import LblabModel
import LblabTypes

/// A run whose phases went to several services (several VIPs) is judged service by service: each
/// service's connections, with the captures' flows to its VIP, by the rules its part of the lab
/// selects (the capture check, the distribution, the path and ARP/NDP of its VIP); the verdicts of
/// one rule are then joined (it passes when it held for every service).
extension LabAnalyzer {
    /// The services the outcomes went to, in order of first use.
    static func services(of outcomes: [ConnectionOutcome]) -> [String] {
        var out: [String] = []
        for o in outcomes where !out.contains(o.service) { out.append(o.service) }
        return out
    }

    /// The lab and facts as one service's part of the run sees them: only the phases to that
    /// service, the facts naming its VIP, port and protocol (and its first phase's client).
    static func part(of spec: LabSpec, facts: RunFacts, service name: String) -> (spec: LabSpec, facts: RunFacts)? {
        guard let service = spec.service(named: name) else { return nil }
        var s = spec
        s.traffic.phases = spec.traffic.phases.filter { $0.service == name }
        var f = facts
        f.service = name
        f.vip = service.vip
        f.port = service.port
        f.protocol = service.proto
        if let client = s.traffic.phases.first?.clients.first { f.client = client }
        return (s, f)
    }

    static func analyzePerService(spec: LabSpec, facts: RunFacts, outcomes: [ConnectionOutcome], captures: [String: RawFrames],
                                  services names: [String], health: HealthTimeline? = nil) -> AnalysisReport {
        var parts: [(service: String, report: AnalysisReport)] = []
        for name in names {
            let mine = outcomes.filter { $0.service == name }
            guard let (s, f) = part(of: spec, facts: facts, service: name) else {
                let v = RuleVerdict(rule: Rules.Distribution.name, passed: false,
                                    summary: "the run's service \(name) is not in lab \(spec.name)", evidence: [])
                parts.append((name, AnalysisReport(verdicts: [v], fromClient: [:], fromCapture: [:], sent: mine.count, answered: 0, failed: mine.count)))
                continue
            }
            var report = analyze(spec: s, facts: f, outcomes: mine, captures: captures, health: health?.service == name ? health : nil)
            // IPVS is sampled for the traffic's own service only: the others have no timeline to judge.
            if health?.service != name { report.verdicts.removeAll { $0.rule == Rules.Health.name } }
            parts.append((name, report))
        }
        var rules: [String] = []
        for p in parts { for v in p.report.verdicts where !rules.contains(v.rule) { rules.append(v.rule) } }
        let verdicts = rules.map { rule -> RuleVerdict in
            let each = parts.compactMap { p in p.report.verdict(rule).map { (p.service, $0) } }
            let failed = each.filter { !$0.1.passed }
            let shown = failed.isEmpty ? each : failed
            // A rule some services do not select (arp for an IPv4 VIP, ndp for an IPv6 one) is
            // judged on those that do.
            return RuleVerdict(rule: rule, passed: failed.isEmpty && !each.isEmpty,
                               summary: (failed.isEmpty ? "\(each.count) services: " : "\(failed.count) of \(each.count) services: ")
                                   + shown.map { "\($0.0): \($0.1.summary)" }.joined(separator: " | "),
                               evidence: each.flatMap { s, v in ["\(s):"] + v.evidence.map { "  " + $0 } })
        }
        func sum(_ key: KeyPath<AnalysisReport, [String: Int]>) -> [String: Int] {
            parts.reduce(into: [String: Int]()) { acc, p in for (k, v) in p.report[keyPath: key] { acc[k, default: 0] += v } }
        }
        return AnalysisReport(verdicts: verdicts, fromClient: sum(\.fromClient), fromCapture: sum(\.fromCapture), sent: outcomes.count,
                              answered: outcomes.filter { $0.server != nil }.count, failed: outcomes.filter { $0.server == nil }.count)
    }
}
