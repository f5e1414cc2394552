import LblabModel

extension Rules {
    /// `answered`: every connection got an answer, none recorded an error, and answered + failed
    /// equals sent (sent > 0). Every lab has it but an IPVS lab with faults, whose failed
    /// connections `health` judges against the faults' error windows.
    public struct Answered: VerdictRule {
        public static let name = "answered"
        /// Not in a lab with faults (IPVS labs): connections during a fault may fail; the `health` rule
        /// (health checks) or the `failover` rule (VRRP) judges them.
        public static func selected(by spec: LabSpec) -> Self? { spec.mode.usesIPVS && !(spec.faults ?? []).isEmpty ? nil : Self() }

        public func judge(_ run: AnalyzedRun) -> RuleVerdict {
            let outcomes = run.outcomes
            let sent = outcomes.count
            let answered = outcomes.filter { $0.server != nil }.count
            let failed = outcomes.filter { $0.server == nil }.count
            // An answer with an error recorded is no clean answer either.
            let failedOutcomes = outcomes.filter { $0.server == nil || $0.error != nil }
            var evidence = ["sent \(sent), answered \(answered), failed \(failed)"]
            var byError: [String: [UInt16]] = [:]
            for o in failedOutcomes {
                let text = o.server == nil ? (o.error ?? "no answer, no error recorded") : "answered by \(o.server!) but error recorded: \(o.error!)"
                byError[text, default: []].append(o.localPort)
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
            return RuleVerdict(rule: Self.name, passed: passed, summary: summary, evidence: evidence)
        }
    }
}
