import LblabModel
import LblabTypes

extension Rules {
    /// `distribution`: per real server, the connections the client says each answered and the flows
    /// the captures show each received must agree, table and connection by connection, and meet the
    /// lab's expectation. A flow counts for the server whose own point saw its SYN arrive on its own
    /// MAC (a copy the switch flooded to another port is not a delivery). Every lab has it.
    public struct Distribution: VerdictRule {
        public static let name = "distribution"

        /// How answered connections should spread over the service's real servers.
        public enum Expectation: Sendable, Equatable {
            /// max - min <= 1 among these servers; every other server gets 0.
            case equal(servers: [String])
            /// |count - N*w/W| <= max weight for each listed server; weight-0 and unlisted servers get 0.
            case weighted([String: Int])
            /// Only the client/capture agreement is checked.
            case none
            /// `distribution: scheduler`: each connection's server as the kernel's rule for this
            /// scheduler predicts it (`SchedulerOracle`), judged one by one where the kernel is
            /// deterministic and the run recorded what the rule reads.
            case scheduler(Scheduler)
        }

        public let expectation: Expectation

        public init(expectation: Expectation) { self.expectation = expectation }

        public static func selected(by spec: LabSpec) -> Self? {
            guard let service = spec.service(named: spec.traffic.service) else { return Self(expectation: .none) }
            let servers = service.servers.compactMap { spec.node(named: $0) }
            let active = servers.filter { $0.weight > 0 }.map(\.name)
            let weights = Dictionary(servers.map { ($0.name, $0.weight) }, uniquingKeysWith: { a, _ in a })
            switch spec.expect.distribution {
            case .scheduler: return Self(expectation: .scheduler(service.scheduler))
            case .equal: return Self(expectation: .equal(servers: active))
            case .weights: return Self(expectation: .weighted(weights))
            case .none: return Self(expectation: .none)
            }
        }

        public func judge(_ run: AnalyzedRun) -> RuleVerdict {
            let (fromClient, fromCapture) = run.distributionTables()
            let serverNames = run.target?.servers.map(\.name) ?? []
            var evidence: [String] = []
            let names = Self.orderedNames(serverNames, fromClient, fromCapture)
            evidence.append("from client:   " + Self.table(names, fromClient))
            let clientPoints = run.target.map { AnalyzedRun.points(of: $0.client) } ?? []
            evidence.append("from captures: " + Self.table(names, fromCapture)
                            + " (\(run.flows.count) client flows on point\(clientPoints.count == 1 ? "" : "s") \(clientPoints.joined(separator: ", ")))")
            let failed = run.outcomes.filter { $0.server == nil }.count
            if !(run.spec.faults ?? []).isEmpty, failed > 0 {
                evidence.append("\(failed) failed connections left out on both sides (the lab's faults: the health rule judges them)")
            }
            let missing = clientPoints.filter { run.points[$0] == nil }
            if !missing.isEmpty { evidence.append("no capture for the client point \(missing.joined(separator: ", "))") }

            // Per connection: every disagreement counted, the first few described.
            var mismatchCount = 0
            var mismatches: [String] = []
            for o in run.outcomes {
                guard let s = o.server else { continue }
                let c = run.flow(of: o).map(run.captureServer) ?? "no SYN on client point"
                if c != s {
                    mismatchCount += 1
                    if mismatches.count < 5 { mismatches.append("client port \(o.localPort): client says \(s), captures say \(c)") }
                }
            }
            let tablesAgree = Self.nonZero(fromClient) == Self.nonZero(fromCapture)
            evidence += RuleVerdict.examples(mismatches, count: mismatchCount, of: "connections disagree")

            let total = fromClient.values.reduce(0, +)
            let exp: (passed: Bool, problem: String, evidence: [String])
            if case .scheduler(let scheduler) = expectation {
                exp = Self.checkScheduler(scheduler, run)
            } else {
                exp = Self.check(expectation, counts: fromClient, total: total)
            }
            evidence += exp.evidence

            var problems: [String] = []
            if total == 0 { problems.append("no answered connections to judge") }
            if !tablesAgree { problems.append("client and capture counts disagree") }
            else if mismatchCount > 0 { problems.append("\(mismatchCount) connections reached a different server than the client reports") }
            if !exp.passed { problems.append(exp.problem) }
            let passed = problems.isEmpty
            let summary = passed
                ? "\(total) connections: \(Self.table(names.filter { fromClient[$0] != nil }, fromClient)); captures agree\(expectation == .none ? "" : "; " + exp.problem)"
                : problems.joined(separator: "; ")
            return RuleVerdict(rule: Self.name, passed: passed, summary: summary, evidence: evidence)
        }

        /// `problem` is a one-line description either way (used in the summary).
        static func check(_ e: Expectation, counts: [String: Int], total: Int) -> (passed: Bool, problem: String, evidence: [String]) {
            switch e {
            case .none:
                return (true, "no share expected", ["expected shares: none (only agreement checked)"])
            case .scheduler(let scheduler):
                return (false, "scheduler \(scheduler.rawValue) is judged from the run's connections", [])
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

        /// Every connection against the kernel's rule for `scheduler`: the first one that went
        /// against it is named with the server expected, why, and the server it got.
        static func checkScheduler(_ scheduler: Scheduler, _ run: AnalyzedRun) -> (passed: Bool, problem: String, evidence: [String]) {
            let results = SchedulerOracle.judge(spec: run.spec, outcomes: run.outcomes, scheduler: scheduler)
            var ev = ["scheduler \(SchedulerOracle.explanation(scheduler))"]
            var problems: [String] = []
            var good: [String] = []
            for (service, j) in results {
                let label = results.count > 1 ? "\(service.name): " : ""
                ev += j.notes.map { label + "note: " + $0 }
                if let why = j.cannotJudge {
                    problems.append(label + "cannot judge \(scheduler.rawValue) from this run: " + why)
                    continue
                }
                ev.append(label + "decisions (\(j.method); server chosen, [active/inactive seen]):")
                ev += SchedulerOracle.compact(j).map { "  " + $0 }
                if let w = j.firstWrong {
                    let c = w.connection
                    problems.append(label + "\(j.wrongCount) of \(j.judged) connections against the \(scheduler.rawValue) rule; first: \(c.label) got \(c.server ?? "no server"), expected \(w.expectedText) (\(w.reason))")
                } else if j.judged == 0 {
                    problems.append(label + "no connection to judge")
                } else {
                    good.append(label + "all \(j.judged) connections as the \(scheduler.rawValue) rule predicts (\(j.method))")
                }
            }
            if results.isEmpty { problems.append("no connections to judge") }
            return problems.isEmpty ? (true, good.joined(separator: "; "), ev) : (false, problems.joined(separator: "; "), ev)
        }

        static func orderedNames(_ servers: [String], _ a: [String: Int], _ b: [String: Int]) -> [String] {
            var names = servers
            for k in Set(a.keys).union(b.keys).sorted() where !names.contains(k) { names.append(k) }
            return names
        }

        static func table(_ names: [String], _ counts: [String: Int]) -> String {
            let parts = names.filter { counts[$0] != nil || !$0.hasPrefix("(") }.map { "\($0) \(counts[$0] ?? 0)" }
            return parts.isEmpty ? "none" : parts.joined(separator: ", ")
        }

        static func nonZero(_ d: [String: Int]) -> [String: Int] { d.filter { $0.value != 0 } }

        static func fmt(_ x: Double) -> String {
            let r = (x * 100).rounded() / 100
            return r == r.rounded() ? String(Int(r)) : String(r)
        }
    }
}
