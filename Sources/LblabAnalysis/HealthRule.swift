import Foundation
import LblabModel

extension Rules {
    /// `health` (IPVS labs with `health_check:` on the traffic's service, or with `faults:`), judged
    /// over time from the run's IPVS samples, faults and connections:
    /// - every real server is in IPVS before the first fault (its checks passed);
    /// - after a fault that breaks a server (`down`, `unplug`) it leaves IPVS within the detection
    ///   bound (`HealthCheckSpec.detectionBound` + `slack`), and every connection started after
    ///   that succeeds;
    /// - the error window, first to last failed connection, is measured and stays within that
    ///   bound; no connection fails outside a fault's window;
    /// - after `up`/`plug` the server is back in IPVS within the re-add bound and answers again.
    /// Health-check packets (SYNs from the dispatcher's own address to a server's) are counted.
    public struct Health: VerdictRule {
        public static let name = "health"
        /// Added to each bound: sampling (100 ms), fault application and TCG's slowness.
        public static let slack = 1.0

        let service: ServiceSpec

        public static func selected(by spec: LabSpec) -> Self? {
            guard spec.mode.usesIPVS, let s = spec.service(named: spec.traffic.service),
                  s.healthCheck != nil || (!(spec.faults ?? []).isEmpty && !spec.usesVRRP) else { return nil }   // VRRP faults: VRRPRules
            return Self(service: s)
        }

        public func judge(_ run: AnalyzedRun) -> RuleVerdict {
            guard let timeline = run.health, !timeline.samples.isEmpty else {
                return RuleVerdict(rule: Self.name, passed: false, summary: "the run recorded no IPVS samples of \(service.name) to judge", evidence: [])
            }
            var j = Judgement(service: service, timeline: timeline, outcomes: run.outcomes, timeout: run.spec.traffic.timeout)
            j.judge()
            var evidence = j.evidence
            evidence.append(Self.healthChecks(run))
            let passed = j.problems.isEmpty
            let summary = passed ? j.summaryLine : j.problems.joined(separator: "; ")
            return RuleVerdict(rule: Self.name, passed: passed, summary: summary, evidence: evidence)
        }

        /// `health checks: 14 to rs1, 13 to rs2 (...)`: initial SYNs from the dispatcher's own
        /// addresses to each real server's, on the dispatcher's points. No client flow is one.
        static func healthChecks(_ run: AnalyzedRun) -> String {
            guard let t = run.target else { return "health checks: no target to count them for" }
            let own = Set(AnalyzedRun.segmentAddresses(of: t.dispatcher))
            let servers = t.servers.map { Set(AnalyzedRun.segmentAddresses(of: $0)) }
            var counts = [Int](repeating: 0, count: t.servers.count)
            for point in AnalyzedRun.points(of: t.dispatcher) {
                guard let p = run.points[point] else { continue }
                for (i, packet) in p.packets.enumerated() where p.flow[i] < 0 && packet.isPlainTCP && packet.isInitialSYN && own.contains(packet.innerSource) {
                    if let s = servers.firstIndex(where: { $0.contains(packet.innerDestination) }) { counts[s] += 1 }
                }
            }
            let parts = zip(t.servers, counts).map { "\($1) to \($0.name)" }
            return "health checks: \(parts.joined(separator: ", ")) (SYNs from \(t.dispatcher.name) to each server's own address; not client flows)"
        }
    }
}

/// The `health` rule's reasoning over one run, kept apart from its wording.
struct Judgement {
    let service: ServiceSpec
    let timeline: HealthTimeline
    let outcomes: [ConnectionOutcome]
    let timeout: Double
    var problems: [String] = []
    var evidence: [String] = []
    var summaryLine = ""

    init(service: ServiceSpec, timeline: HealthTimeline, outcomes: [ConnectionOutcome], timeout: Double) {
        self.service = service
        self.timeline = timeline
        self.outcomes = outcomes
        self.timeout = timeout
    }

    static func s(_ t: Double) -> String { String(format: "%.2f s", t) }

    /// The first sample at or after `t` where `present` holds for `node`.
    func firstSample(after t: Double, node: String, present: Bool) -> HealthSample? {
        timeline.samples.first { $0.at >= t && $0.servers.contains(node) == present }
    }

    mutating func judge() {
        let hc = service.healthCheck
        let detection = hc.map { $0.detectionBound + Rules.Health.slack }
        let readd = hc.map { $0.readdBound + Rules.Health.slack }
        let samples = timeline.samples
        let faults = timeline.faults
        let firstFault = faults.first?.at ?? .infinity
        let check = hc.map { "\($0.type == .http ? "HTTP_GET" : "TCP_CHECK") on port \($0.port)" } ?? "no health_check"
        evidence.append("IPVS sampled \(samples.count) times from \(Self.s(samples.first!.at)) to \(Self.s(samples.last!.at)); checks: \(check)"
                        + (hc.map { String(format: ", detection bound %.1f s, re-add bound %.1f s (+ %.1f s slack)", $0.detectionBound, $0.readdBound, Rules.Health.slack) } ?? ""))

        for m in timeline.missed ?? [] {
            problems.append(String(format: "fault %@ %@ at %.1f s was never applied: the traffic ended first (%.2f s); give it more connections or a longer interval_ms",
                                   m.node, m.action.rawValue, m.at, samples.last!.at))
        }
        // Every server joined before any fault (its checks passed), and none left without a fault on it.
        let never = service.servers.filter { name in !samples.contains { $0.servers.contains(name) } }
        if !never.isEmpty {
            let failed = outcomes.filter { $0.server == nil }.count
            problems.append("\(never.joined(separator: ", ")) never in IPVS: \(never.count == 1 ? "its health check" : "their health checks") never passed (\(check)): servers never added"
                            + "; \(failed) of \(outcomes.count) connections failed")
            evidence.append("real servers never in IPVS during the run: \(never.joined(separator: ", "))")
            if never.count == service.servers.count { return }
        }
        for name in service.servers where !never.contains(name) {
            guard let first = samples.first(where: { $0.servers.contains(name) }) else { continue }
            if first.at >= firstFault {
                problems.append("\(name) joined IPVS only at \(Self.s(first.at)), after the first fault at \(Self.s(firstFault)): its check passed late (\(check))")
            }
            // A server with a fault of its own may leave after that fault; one without may never.
            let until = faults.first(where: { $0.node == name })?.at ?? .infinity
            if let gone = samples.first(where: { $0.at > first.at && $0.at < until && !$0.servers.contains(name) }) {
                problems.append("\(name) left IPVS at \(Self.s(gone.at)) with no fault on it: its check failed on a healthy server (\(check))")
            }
        }

        var windows: [(from: Double, to: Double)] = []
        var detected: [String] = [], readded: [String] = [], windowText: [String] = []
        for (k, f) in faults.enumerated() where !never.contains(f.node) {
            evidence.append("fault at \(Self.s(f.at)): \(f.node) \(f.action.rawValue)")
            if f.action.breaks {
                let repair = faults[(k + 1)...].first { $0.node == f.node && $0.action.repairs }?.at ?? .infinity
                guard let gone = firstSample(after: f.at, node: f.node, present: false), gone.at < repair else {
                    problems.append("\(f.node) stayed in IPVS after its \(f.action.rawValue) at \(Self.s(f.at))"
                                    + (hc == nil ? ": the service has no health_check, nothing takes a dead server out" : ": keepalived's check (\(check)) did not see it die"))
                    windows.append((f.at, min(repair, samples.last!.at) + timeout))
                    continue
                }
                let took = gone.at - f.at
                detected.append(String(format: "%@ removed %.2f s after its %@", f.node, took, f.action.rawValue))
                evidence.append(String(format: "%@ out of IPVS at %@: %.2f s after the fault (bound %.1f s)", f.node, Self.s(gone.at), took, detection ?? 0))
                if let d = detection, took > d {
                    problems.append(String(format: "%@ left IPVS %.2f s after its %@, more than the detection bound %.1f s", f.node, took, f.action.rawValue, d))
                }
                windows.append((f.at, gone.at + timeout))
                // Connections started after the removal (until the next breaking fault) all succeed.
                let nextBreak = faults[(k + 1)...].first { $0.action.breaks }?.at ?? .infinity
                let late = outcomes.filter { ($0.start ?? -1) >= gone.at && ($0.start ?? -1) < nextBreak && $0.server == nil }
                if !late.isEmpty {
                    problems.append("\(late.count) connections started after \(f.node) left IPVS failed, e.g. " + Self.describe(late))
                }
                // The error window of this fault: its failed connections, first to last.
                let failed = outcomes.filter { o in o.server == nil && (o.start ?? -1) >= f.at && (o.start ?? -1) < gone.at + timeout }
                if let a = failed.compactMap(\.start).min(), let b = failed.compactMap(\.start).max() {
                    let w = b - a
                    windowText.append(String(format: "%d errors in %.2f s", failed.count, w))
                    evidence.append(String(format: "error window after %@'s %@: %d failed connections from %@ to %@ (%.2f s), e.g. %@", f.node, f.action.rawValue,
                                           failed.count, Self.s(a), Self.s(b), w, Self.describe(failed)))
                    if let d = detection, w > d {
                        problems.append(String(format: "the error window after %@'s %@ lasted %.2f s, more than the detection bound %.1f s", f.node, f.action.rawValue, w, d))
                    }
                } else {
                    windowText.append("no errors")
                    evidence.append("no connection failed after \(f.node)'s \(f.action.rawValue)")
                }
            } else if f.action.repairs {
                // Only a server that was out comes back.
                guard let out = samples.last(where: { $0.at <= f.at }), !out.servers.contains(f.node) else { continue }
                guard let back = firstSample(after: f.at, node: f.node, present: true) else {
                    problems.append("\(f.node) was not re-added after its \(f.action.rawValue) at \(Self.s(f.at)) (last sample \(Self.s(samples.last!.at)))")
                    continue
                }
                let took = back.at - f.at
                readded.append(String(format: "%@ re-added %.2f s after its %@", f.node, took, f.action.rawValue))
                evidence.append(String(format: "%@ back in IPVS at %@: %.2f s after the fault (bound %.1f s)", f.node, Self.s(back.at), took, readd ?? 0))
                if let r = readd, took > r {
                    problems.append(String(format: "%@ came back into IPVS %.2f s after its %@, more than the re-add bound %.1f s", f.node, took, f.action.rawValue, r))
                }
                let served = outcomes.filter { ($0.start ?? -1) >= back.at && $0.server == f.node }
                if served.isEmpty {
                    problems.append("\(f.node) answered no connection after it was re-added at \(Self.s(back.at))")
                } else {
                    evidence.append("\(f.node) answered \(served.count) connections after it was re-added, the first at \(Self.s(served.compactMap(\.start).min() ?? 0))")
                }
            }
        }
        // Failed connections outside every fault's window.
        let stray = outcomes.filter { o in o.server == nil && !windows.contains { w in (o.start ?? -1) >= w.from && (o.start ?? -1) < w.to } }
        if !stray.isEmpty {
            problems.append("\(stray.count) connections failed outside any fault's error window, e.g. " + Self.describe(stray))
        }
        let failed = outcomes.filter { $0.server == nil }.count
        summaryLine = ([faults.isEmpty ? "every real server stayed in IPVS (\(service.servers.joined(separator: ", ")))" : nil]
                       + detected.map(Optional.some) + readded.map(Optional.some)
                       + [faults.contains { $0.action.breaks } ? "\(failed) of \(outcomes.count) connections failed (\(windowText.joined(separator: ", ")))" : nil])
            .compactMap { $0 }.joined(separator: "; ")
    }

    /// A few connections: `client port 2345 at 2.31 s (connection refused)`.
    static func describe(_ os: [ConnectionOutcome]) -> String {
        os.prefix(3).map { "client port \($0.localPort) at \(s($0.start ?? 0))" + ($0.error.map { " (\($0))" } ?? "") }.joined(separator: ", ")
            + (os.count > 3 ? ", ..." : "")
    }
}
