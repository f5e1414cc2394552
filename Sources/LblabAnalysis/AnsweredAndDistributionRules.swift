import LblabTypes

// The `answered` and `distribution` rules.
extension LabAnalyzer {
    // MARK: - answered

    static func answeredRule(_ outcomes: [ConnectionOutcome]) -> (verdict: RuleVerdict, answered: Int, failed: Int) {
        let sent = outcomes.count
        let answered = outcomes.filter { $0.server != nil }.count
        let failedOutcomes = outcomes.filter { $0.server == nil || $0.error != nil }
        let failed = outcomes.filter { $0.server == nil }.count
        var evidence = ["sent \(sent), answered \(answered), failed \(failed)"]
        var byError: [String: [UInt16]] = [:]
        for o in failedOutcomes {
            byError[o.error ?? (o.server == nil ? "no answer, no error recorded" : "answered but error recorded"), default: []].append(o.localPort)
        }
        for (err, ports) in byError.sorted(by: { $0.value.count > $1.value.count || ($0.value.count == $1.value.count && $0.key < $1.key) }) {
            let shown = ports.prefix(5).map(String.init).joined(separator: ", ")
            evidence.append("\(ports.count) x \(err) (client ports \(shown)\(ports.count > 5 ? ", ..." : ""))")
        }
        let passed = sent > 0 && answered == sent && failedOutcomes.isEmpty && answered + failed == sent
        let summary: String
        if sent == 0 { summary = "no connections were sent" }
        else if passed { summary = "all \(sent) connections answered" }
        else { summary = "\(failedOutcomes.count) of \(sent) connections failed" }
        return (RuleVerdict(rule: "answered", passed: passed, summary: summary, evidence: evidence), answered, failed)
    }

    // MARK: - distribution

    static func distributionRule(_ run: Run, outcomes: [ConnectionOutcome], expectation: DistributionExpectation)
        -> (verdict: RuleVerdict, fromClient: [String: Int], fromCapture: [String: Int]) {
        let facts = run.facts
        var fromClient: [String: Int] = [:]
        for o in outcomes { if let s = o.server { fromClient[s, default: 0] += 1 } }

        var fromCapture: [String: Int] = [:]
        var captureServer: [UInt16: String] = [:]
        for (f, flow) in run.flows.enumerated() {
            let rs = run.receivingServers(f)
            let key = rs.count == 1 ? rs[0].name : (rs.isEmpty ? unseen : several)
            fromCapture[key, default: 0] += 1
            if flow.client == facts.client.address { captureServer[flow.port] = key }
        }

        var evidence: [String] = []
        let names = orderedNames(facts, fromClient, fromCapture)
        evidence.append("from client:   " + table(names, fromClient))
        evidence.append("from captures: " + table(names, fromCapture) + " (\(run.flows.count) client flows on point \(facts.client.name))")
        if run.points[facts.client.name] == nil { evidence.append("no capture for the client point \(facts.client.name)") }

        // Per-connection agreement: every disagreement counted, the first few described.
        var mismatchCount = 0
        var mismatches: [String] = []
        for o in outcomes {
            guard let s = o.server else { continue }
            let c = captureServer[o.localPort] ?? "no SYN on client point"
            if c != s {
                mismatchCount += 1
                if mismatches.count < 5 { mismatches.append("client port \(o.localPort): client says \(s), captures say \(c)") }
            }
        }
        let tablesAgree = nonZero(fromClient) == nonZero(fromCapture)
        if mismatchCount > 0 {
            evidence.append("\(mismatchCount) connections disagree, e.g.:")
            evidence += mismatches.map { "  " + $0 }
        }

        let total = fromClient.values.reduce(0, +)
        let exp = checkExpectation(expectation, counts: fromClient, total: total)
        evidence += exp.evidence

        var problems: [String] = []
        if total == 0 { problems.append("no answered connections to judge") }
        if !tablesAgree { problems.append("client and capture counts disagree") }
        else if mismatchCount > 0 { problems.append("\(mismatchCount) connections reached a different server than the client reports") }
        if !exp.passed { problems.append(exp.problem) }
        let passed = problems.isEmpty
        let summary = passed
            ? "\(total) connections: \(table(names.filter { fromClient[$0] != nil }, fromClient)); captures agree\(expectation == .none ? "" : "; " + exp.problem)"
            : problems.joined(separator: "; ")
        return (RuleVerdict(rule: "distribution", passed: passed, summary: summary, evidence: evidence), fromClient, fromCapture)
    }

    /// `problem` is a one-line description either way (used in the summary).
    static func checkExpectation(_ e: DistributionExpectation, counts: [String: Int], total: Int)
        -> (passed: Bool, problem: String, evidence: [String]) {
        switch e {
        case .none:
            return (true, "no share expected", ["expected shares: none (only agreement checked)"])
        case .equal(let servers):
            let listed = Set(servers)
            let among = servers.map { counts[$0] ?? 0 }
            let spread = (among.max() ?? 0) - (among.min() ?? 0)
            let strays = counts.filter { !listed.contains($0.key) && $0.value > 0 }.sorted { $0.key < $1.key }
            var ev = ["expected shares: equal among \(servers.joined(separator: ", ")) (max - min <= 1), others 0; spread \(spread)"]
            if !strays.isEmpty { ev.append("unexpected servers: " + strays.map { "\($0.key) \($0.value)" }.joined(separator: ", ")) }
            let ok = !servers.isEmpty && spread <= 1 && strays.isEmpty
            let problem = ok ? "equal share holds (spread \(spread))"
                : (servers.isEmpty ? "equal share among no servers" : "equal share broken (spread \(spread)\(strays.isEmpty ? "" : ", answers from " + strays.map(\.key).joined(separator: ", ")))")
            return (ok, problem, ev)
        case .weighted(let weights):
            let w = weights.values.reduce(0, +)
            let tolerance = weights.values.max() ?? 0
            var ok = w > 0
            var parts: [String] = []
            var bad: [String] = []
            for (name, weight) in weights.sorted(by: { $0.key < $1.key }) {
                let c = counts[name] ?? 0
                if weight <= 0 {
                    parts.append("\(name) 0 (w=0), got \(c)")
                    if c != 0 { ok = false; bad.append(name) }
                    continue
                }
                let expected = w > 0 ? Double(total) * Double(weight) / Double(w) : 0
                parts.append("\(name) \(fmt(expected)) ± \(tolerance) (w=\(weight)), got \(c)")
                if abs(Double(c) - expected) > Double(tolerance) { ok = false; bad.append(name) }
            }
            let strays = counts.filter { weights[$0.key] == nil && $0.value > 0 }.sorted { $0.key < $1.key }
            if !strays.isEmpty { ok = false; bad += strays.map(\.key) }
            var ev = ["expected shares (weighted, N=\(total), W=\(w)): " + parts.joined(separator: "; ")]
            if !strays.isEmpty { ev.append("unexpected servers: " + strays.map { "\($0.key) \($0.value)" }.joined(separator: ", ")) }
            let problem = ok ? "weighted share holds" : (w <= 0 ? "weights sum to 0" : "weighted share broken for \(bad.joined(separator: ", "))")
            return (ok, problem, ev)
        }
    }

}
