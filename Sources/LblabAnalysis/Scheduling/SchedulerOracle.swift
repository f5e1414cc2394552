import LblabModel
import LblabTypes

/// The oracle's judgement of one service's connections.
public struct SchedulerJudgement: Sendable, Equatable {
    public var scheduler: Scheduler
    public var decisions: [OracleDecision]
    /// The first connection that went against the rule.
    public var firstWrong: OracleDecision?
    public var wrongCount: Int
    /// Connections judged one by one.
    public var judged: Int
    /// Why this run cannot show the scheduler's rule (the verdict then fails, saying so).
    public var cannotJudge: String?
    /// What the run shows little of, and which lab shows more.
    public var notes: [String]
    /// How it was judged: `per connection` or `by counts` (connections overlapped, order unknown).
    public var method: String

    public var passed: Bool { cannotJudge == nil && wrongCount == 0 && judged > 0 }
}

/// Predicts, from the kernel's own rule, the server of each connection of a virtual service, and
/// says where the kernel did otherwise.
public enum SchedulerOracle {
    static func rule(for s: OracleService) -> any SchedulerRule {
        let d = s.destinations
        switch s.scheduler {
        case .rr: return RoundRobinRule(destinations: d)
        case .wrr: return WeightedRoundRobinRule(destinations: d)
        case .lc: return CountRule(kind: .lc, destinations: d)
        case .wlc: return CountRule(kind: .wlc, destinations: d)
        case .sed: return CountRule(kind: .sed, destinations: d)
        case .nq: return CountRule(kind: .nq, destinations: d)
        case .fo: return CountRule(kind: .fo, destinations: d)
        case .ovf: return CountRule(kind: .ovf, destinations: d)
        case .sh: return HashRule(kind: .sh, destinations: d)
        case .dh: return HashRule(kind: .dh, destinations: d)
        case .mh: return HashRule(kind: .mh, destinations: d)
        case .lblc: return LocalityRule(replicated: false, destinations: d)
        case .lblcr: return LocalityRule(replicated: true, destinations: d)
        case .twos: return RandomRule(destinations: d)
        }
    }

    /// Whether a choice depends on the choices before it (so the kernel's order of the
    /// connections must be known to judge them one by one).
    static func orderMatters(_ s: OracleService) -> Bool {
        if s.persistence != nil { return true }
        switch s.scheduler {
        case .rr, .wrr, .lblc, .lblcr: return true
        case .lc, .wlc, .sed, .nq, .fo, .ovf, .sh, .dh, .mh, .twos: return false
        }
    }

    /// `connections`: in the order the kernel saw them (their connect order). `ordered`: that
    /// order is certain (each connect came after the previous connection's response, or every
    /// connection was traced).
    public static func judge(_ service: OracleService, connections: [OracleConnection], ordered: Bool) -> SchedulerJudgement {
        let fresh = judge(service, connections: connections, ordered: ordered, rule: rule(for: service))
        guard fresh.wrongCount > 0, fresh.method == "per connection" else { return fresh }
        // rr and wrr keep their cursor while the lab is up: a second `lblab test` of a running lab
        // starts where the first stopped. Accept another starting state only if it explains the
        // whole run; the first connection then shows where the cursor was.
        // When none does, the verdict fails either way; it names the first connection that no
        // starting state explains (the start that explains the longest run of connections).
        var best = fresh
        for (start, rule) in restarts(service) {
            var j = judge(service, connections: connections, ordered: ordered, rule: rule)
            if j.wrongCount == 0 && j.judged == fresh.judged {
                j.notes.append("the kernel's cursor did not start at the list head but \(start): the service had scheduled connections before this run (IPVS keeps rr/wrr state while the lab is up)")
                return j
            }
            if let w = j.firstWrong, let b = best.firstWrong, w.connection.number > b.connection.number {
                j.notes.append("judged with the kernel's cursor starting \(start), which explains the most connections before the first wrong one (the service had scheduled connections before this run)")
                best = j
            }
        }
        return best
    }

    /// The other states rr and wrr can start a run in: every cursor (and wrr's every current weight).
    static func restarts(_ s: OracleService) -> [(String, any SchedulerRule)] {
        let d = s.destinations
        switch s.scheduler {
        case .rr:
            return d.indices.map { ("after \(d[$0].server)", RoundRobinRule(destinations: d, cursor: $0)) }
        case .wrr:
            let base = WeightedRoundRobinRule(destinations: d)
            guard base.mw > 0, base.mw <= 64 else { return [] }
            return (Array(d.indices).map { Optional($0) } + [nil]).flatMap { cl in
                (1...base.mw).map { cw -> (String, any SchedulerRule) in
                    var r = base
                    r.cl = cl
                    r.cw = cw
                    return ("\(cl.map { "after \(d[$0].server)" } ?? "at the list head") with cw \(cw)", r)
                }
            }
        case .lc, .wlc, .sed, .nq, .fo, .ovf, .sh, .dh, .mh, .lblc, .lblcr, .twos:
            return []
        }
    }

    static func judge(_ service: OracleService, connections: [OracleConnection], ordered: Bool, rule first: any SchedulerRule) -> SchedulerJudgement {
        var rule = first
        let dests = service.destinations
        let n = dests.count
        var notes: [String] = []
        var cannot: String?
        let traced = !connections.isEmpty && connections.allSatisfy { $0.seen != nil }
        if rule.needsCounts && !traced {
            cannot = "\(service.scheduler.rawValue)\(dests.contains { $0.upperThreshold > 0 } ? " with thresholds" : "") chooses by the active/inactive counts IPVS holds when each connection arrives, and this run did not record them (a traffic phase with trace: true and held connections shows them): `lblab test \(showingLab(service.scheduler))` shows it"
        }
        let byCounts = orderMatters(service) && !ordered && !traced
        notes += limits(service, connections)

        var overloaded = Array(repeating: false, count: n)
        var templates: [IPAddress: PersistenceTemplate] = [:]
        var entries: [String: String] = [:]   // UDP without -o: "client:port" -> server
        var decisions: [OracleDecision] = []
        var firstWrong: OracleDecision?
        var wrong = 0, judged = 0
        var expected: [String: Int] = [:]
        for c in connections {
            var counts: [OracleCounts]?
            if let seen = c.seen {
                counts = dests.indices.map { i in
                    let s = seen.first { $0.server == dests[i].server }
                    let a = s?.active ?? 0, ina = s?.inactive ?? 0
                    let u = dests[i].upperThreshold, l = dests[i].lowerThreshold
                    if u > 0 {
                        if a + ina >= u { overloaded[i] = true }
                        else if l > 0 ? a + ina < l : (a + ina) * 4 < u * 3 { overloaded[i] = false }
                    }
                    return OracleCounts(active: a, inactive: ina, overloaded: overloaded[i])
                }
            }
            var prediction: Prediction
            var reason: String
            let key = service.persistence != nil ? c.client.map { mask($0, service.persistencePrefix) } : nil
            let template = key.flatMap { templates[$0] }
            // Without times (an old record), a template is taken to be alive.
            let life = template.map { t in c.start.map { t.life(at: $0) } ?? .alive(timeout: t.timeout) }
            let entryKey = service.datagramsShareEntry ? c.client.map { $0.withPort(c.clientPort) } : nil
            if let k = entryKey, let e = entries[k] {
                prediction = .server(e)
                reason = "same UDP connection entry as an earlier datagram from \(k) (no one-packet scheduling)"
            } else if let t = template, case .alive = life {
                prediction = .server(t.server)
                reason = "persistence: \(key!)/\(service.persistencePrefix) stays on \(t.server) (its template, last used \(Self.seconds((c.start ?? t.lastUse) - t.lastUse)) s before, is alive)"
            } else {
                let unasked = rule
                (prediction, reason) = rule.choose(c, counts: counts)
                if let t = template, case .unsure(let from) = life, case .server(let s) = prediction, s != t.server {
                    prediction = .oneOf([t.server, s])
                    // The template held it: the kernel never asked the scheduler, whose state stays.
                    if c.server == t.server { rule = unasked }
                    reason = "persistence template of \(t.server) may or may not have expired (its timer fires from \(Self.seconds(from)) s on); else " + reason
                } else if let t = template, case .expired(let since) = life {
                    reason = "persistence template of \(t.server) expired at \(Self.seconds(since)) s (its timer fired with no connection entry left to control); " + reason
                    notes.append("persistence: the template of \(key!)/\(service.persistencePrefix) (\(t.server), last used at \(Self.seconds(t.lastUse)) s) expired at \(Self.seconds(since)) s; #\(c.number) at \(Self.seconds(c.start ?? 0)) s was scheduled anew")
                }
            }
            if case .server(let s) = prediction { expected[s, default: 0] += 1 }
            var held: Bool?
            if cannot == nil, !byCounts {
                switch (prediction, c.server) {
                case (.unknown, _): held = nil
                case (.noDestination, let got): held = got == nil
                case (_, nil): held = nil   // failed: the answered rule judges it
                case (.server(let s), let got?): held = s == got
                case (.oneOf(let s), let got?): held = s.contains(got)
                }
            }
            if let got = c.server, held == false { rule.chose(got, for: c) }
            if let k = entryKey, entries[k] == nil, let s = c.server ?? { if case .server(let p) = prediction { return p } else { return nil } }() {
                entries[k] = s
            }
            if let key, let s = c.server ?? { if case .server(let p) = prediction { return p } else { return nil } }() {
                let now = c.start ?? 0
                let entry = PersistenceTemplate.entryLife(end: c.end ?? now, linger: service.entryLinger)
                if var t = template, t.server == s, let life, !Self.isExpired(life) {
                    if case .alive(let timeout) = life { t.timeout = timeout }
                    t.lastUse = now
                    t.entries.append(entry)
                    templates[key] = t
                } else {
                    templates[key] = PersistenceTemplate(server: s, lastUse: now, timeout: Double(service.persistence ?? 0), entries: [entry])
                }
            }
            let d = OracleDecision(connection: c, prediction: prediction, reason: reason, held: held)
            if let h = held {
                judged += 1
                if !h { wrong += 1; if firstWrong == nil { firstWrong = d } }
            }
            decisions.append(d)
        }
        var method = "per connection"
        if byCounts && cannot == nil {
            method = "by counts (connections overlapped, so the kernel's order of them is not known)"
            var got: [String: Int] = [:]
            for (i, c) in connections.enumerated() {
                guard let s = c.server else { continue }
                got[s, default: 0] += 1
                judged += 1
                if got[s]! > expected[s] ?? 0 {
                    wrong += 1
                    if firstWrong == nil {
                        var d = decisions[i]
                        d.held = false
                        d.reason = "\(s) already had the \(expected[s] ?? 0) of \(connections.count) connections the rule gives it"
                        firstWrong = d
                    }
                }
            }
        }
        if let moved = movedByWeightChange(service, connections) { notes.append(moved) }
        if service.scheduler == .twos {
            notes.append("twos chooses at random: lblab checks only that every connection went to a server with weight > 0 that was not overloaded")
        }
        return SchedulerJudgement(scheduler: service.scheduler, decisions: decisions, firstWrong: firstWrong, wrongCount: wrong,
                                  judged: judged, cannotJudge: cannot, notes: notes, method: method)
    }

    /// sh and mh: how many of this run's clients would land elsewhere if the first server's weight
    /// went up by one (mh's consistent hashing moves about that server's share; sh's table shifts).
    static func movedByWeightChange(_ s: OracleService, _ cs: [OracleConnection]) -> String? {
        guard s.scheduler == .sh || s.scheduler == .mh, let first = s.destinations.first else { return nil }
        let clients = Array(Set(cs.compactMap(\.client))).sorted()
        guard clients.count > 1 else { return nil }
        var changed = s
        changed.destinations[0].weight += 1
        func servers(_ svc: OracleService) -> [String?] {
            var r = rule(for: svc)
            return clients.map { a in
                let c = OracleConnection(number: 0, client: a, clientPort: 0, destination: svc.vip, server: nil)
                if case .server(let x) = r.choose(c, counts: nil).0 { return x }
                return nil
            }
        }
        let moved = zip(servers(s), servers(changed)).filter { $0 != $1 }.count
        return "with \(first.server)'s weight \(first.weight) -> \(first.weight + 1), \(moved) of these \(clients.count) clients would move to another server"
    }

    /// What this traffic cannot show of the scheduler, and the lab that shows it.
    static func limits(_ s: OracleService, _ cs: [OracleConnection]) -> [String] {
        let clients = Set(cs.compactMap(\.client)).count
        let lab = showingLab(s.scheduler)
        let destinations = Set(cs.map(\.destination)).count
        switch s.scheduler {
        case .sh, .mh:
            return clients < 2 ? ["one client address: \(s.scheduler.rawValue) sends all of it to one server; `lblab test \(lab)` shows many clients spread"] : []
        case .dh:
            return destinations < 2 ? [oneDestination + ": dh keeps it on one server; `lblab test \(lab)` shows several VIPs"] : []
        case .lblc, .lblcr:
            return destinations < 2 && cs.allSatisfy({ $0.seen == nil }) ? [oneDestination + " and no counts: \(s.scheduler.rawValue) keeps it on one server; `lblab test \(lab)` shows it moving once overloaded"] : []
        case .rr, .wrr, .lc, .wlc, .sed, .nq, .fo, .ovf, .twos:
            return []
        }
    }

    static func mask(_ a: IPAddress, _ prefix: Int) -> IPAddress {
        let bits = a.bytes.count * 8
        var b = a.bytes
        for i in 0..<b.count {
            let keep = max(0, min(8, prefix - i * 8))
            b[i] &= keep == 0 ? 0 : UInt8(truncatingIfNeeded: 0xff << (8 - keep))
        }
        _ = bits
        return IPAddress(bytes: b) ?? a
    }

    static let oneDestination = "one destination address"

    static func isExpired(_ life: PersistenceTemplate.Life) -> Bool {
        if case .expired = life { return true }
        return false
    }

    /// `2.5` (seconds, one decimal).
    static func seconds(_ s: Double) -> String { "\((s * 10).rounded() / 10)" }

    /// The lab whose traffic shows the scheduler's rule.
    public static func showingLab(_ s: Scheduler) -> String { "sched-\(s.rawValue)" }

    /// The scheduler in one or two sentences, as the seed's table says it, made exact by the kernel's code.
    public static func explanation(_ s: Scheduler) -> String {
        switch s {
        case .rr: "rr (round robin): each real server in turn, evenly; IPVS starts at the head of its list (the server added last) and skips weight 0."
        case .wrr: "wrr (weighted round robin): like rr, but a higher weight is chosen more often; within each cycle the kernel interleaves, taking first the servers whose weight reaches the current step."
        case .lc: "lc (least connections): the server with the fewest connections, counting an active one as 256 inactive ones; ties go to the first in IPVS's list."
        case .wlc: "wlc (weighted least connections): the least (active*256 + inactive) / weight; ties go to the first in IPVS's list."
        case .sed: "sed (shortest expected delay): like wlc, but only active (ESTABLISHED) connections count: the least (active+1) / weight."
        case .nq: "nq (never queue): a server with no active connection first; when none is idle, as sed."
        case .sh: "sh (source hashing): a hash of the client's address picks the server from a 256-bucket table (weight buckets each), so a client always lands on the same server."
        case .dh: "dh (destination hashing): a hash of the destination address (the VIP) picks the server, so each destination has one fixed server."
        case .lblc: "lblc (locality-based least connection): the same server for a destination address until its active connections exceed its weight (and another server is under half its weight); then the least loaded."
        case .lblcr: "lblcr (lblc with replication): like lblc, but each destination keeps a set of servers; when the set's least loaded one is over its weight, the least loaded of all joins the set."
        case .mh: "mh (Maglev hashing): consistent hashing of the client's address into a 4093-entry table, shares by weight; a weight change moves only about its share of clients."
        case .fo: "fo (weighted failover): every connection to the highest-weight server that is not overloaded; traffic moves when its weight drops."
        case .ovf: "ovf (weighted overflow): the highest-weight server until its active connections exceed its weight, then the next."
        case .twos: "twos (weighted random twos choice): two servers picked at random by weight, the less loaded wins (Linux 6.2 and later)."
        }
    }
}
