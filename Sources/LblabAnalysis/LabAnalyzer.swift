import LblabTypes

/// A client connection in the captures: the client's address and TCP source port.
public struct FlowID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var client: IPv4Address
    public var port: UInt16
    public init(client: IPv4Address, port: UInt16) {
        self.client = client
        self.port = port
    }
    public var description: String { "\(client):\(port)" }
    public static func < (l: Self, r: Self) -> Bool { (l.client, l.port) < (r.client, r.port) }
}

/// Turns captures and client outcomes into rule verdicts.
///
/// Capture points are keyed by node name; each point watches that node's wire (the switch-side
/// port), so it holds every frame the node sent or received, plus any frame the switch flooded to it.
///
/// Rules (see the verdict evidence for the counts each is decided on):
/// - `answered`: every connection got an answer; answered + failed == sent; sent > 0.
/// - `distribution`: per-server counts from the client and from the captures agree (table and per
///   connection) and satisfy the expectation. A flow counts for the real server whose point saw the
///   client's SYN with destination IP = VIP *and* destination MAC = that server's MAC (a copy the
///   switch flooded to another port is not a delivery).
/// - `dr-path` (path == .directRouting): request via the dispatcher, exactly one real server, replies
///   straight from it, and no VIP-sourced packet on the dispatcher's wire.
/// - `arp` (arp == .dispatcherOnly): ARP for the VIP answered by the dispatcher and nobody else.
/// No rule passes on an empty run.
public enum LabAnalyzer {
    public static let unseen = "(unseen)"
    public static let several = "(several)"

    public static func analyze(facts: LabFacts, captures: [String: [(timestamp: Double, bytes: [UInt8])]],
                               outcomes: [ConnectionOutcome], expectations: Expectations) -> AnalysisReport {
        analyze(facts: facts, captures: captures.mapValues { $0.map { RawFrame(timestamp: $0.timestamp, bytes: $0.bytes) } },
                outcomes: outcomes, expectations: expectations)
    }

    public static func analyze(facts: LabFacts, captures: [String: [RawFrame]],
                               outcomes: [ConnectionOutcome], expectations: Expectations) -> AnalysisReport {
        let decoded = captures.mapValues { $0.compactMap { FrameDecoder.decode($0.bytes, timestamp: $0.timestamp) } }
        let run = Run(facts: facts, points: decoded)

        var verdicts: [RuleVerdict] = []
        let answeredV = answeredRule(outcomes)
        verdicts.append(answeredV.verdict)
        let dist = distributionRule(run, outcomes: outcomes, expectation: expectations.distribution)
        verdicts.append(dist.verdict)
        if expectations.path == .directRouting { verdicts.append(drPathRule(run)) }
        if expectations.arp == .dispatcherOnly { verdicts.append(arpRule(run)) }
        return AnalysisReport(verdicts: verdicts, fromClient: dist.fromClient, fromCapture: dist.fromCapture,
                              sent: outcomes.count, answered: answeredV.answered, failed: answeredV.failed)
    }

    // MARK: - Shared view of one run

    struct Run {
        let facts: LabFacts
        let points: [String: [DecodedFrame]]
        /// Client flows in order of their first SYN on the client's point.
        let flows: [FlowID]

        init(facts: LabFacts, points: [String: [DecodedFrame]]) {
            self.facts = facts
            self.points = points
            var seen = Set<FlowID>()
            var flows: [FlowID] = []
            for f in points[facts.client.name] ?? [] {
                guard let ip = f.ipv4, let t = ip.tcp, t.isInitialSYN,
                      ip.source == facts.client.address, ip.destination == facts.vip, t.destinationPort == facts.port
                else { continue }
                let id = FlowID(client: ip.source, port: t.sourcePort)
                if seen.insert(id).inserted { flows.append(id) }
            }
            self.flows = flows
        }

        func frames(_ point: String) -> [DecodedFrame] { points[point] ?? [] }

        /// The client's connection request of `flow`, towards VIP:port.
        func isSYN(_ f: DecodedFrame, _ flow: FlowID) -> Bool {
            guard let ip = f.ipv4, let t = ip.tcp else { return false }
            return t.isInitialSYN && ip.source == flow.client && t.sourcePort == flow.port
                && ip.destination == facts.vip && t.destinationPort == facts.port
        }

        /// Anything VIP:port -> client:port of `flow`.
        func isReply(_ f: DecodedFrame, _ flow: FlowID) -> Bool {
            guard let ip = f.ipv4, let t = ip.tcp else { return false }
            return ip.source == facts.vip && t.sourcePort == facts.port
                && ip.destination == flow.client && t.destinationPort == flow.port
        }

        /// Real servers whose own point saw the flow's SYN addressed to their own MAC.
        func receivingServers(_ flow: FlowID) -> [LabHost] {
            facts.realServers.filter { rs in
                frames(rs.name).contains { isSYN($0, flow) && $0.destinationMAC == rs.mac }
            }
        }

        func nodeName(for mac: MACAddress) -> String? {
            ([facts.client, facts.dispatcher] + facts.realServers).first { $0.mac == mac }?.name
        }

        func label(_ mac: MACAddress) -> String {
            nodeName(for: mac).map { "\($0) \(mac)" } ?? "unknown \(mac)"
        }
    }

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
        for flow in run.flows {
            let rs = run.receivingServers(flow)
            let key = rs.count == 1 ? rs[0].name : (rs.isEmpty ? unseen : several)
            fromCapture[key, default: 0] += 1
            if flow.client == facts.client.address { captureServer[flow.port] = key }
        }

        var evidence: [String] = []
        let names = orderedNames(facts, fromClient, fromCapture)
        evidence.append("from client:   " + table(names, fromClient))
        evidence.append("from captures: " + table(names, fromCapture) + " (\(run.flows.count) client flows on point \(facts.client.name))")
        if run.points[facts.client.name] == nil { evidence.append("no capture for the client point \(facts.client.name)") }

        // Per-connection agreement.
        var mismatches: [String] = []
        for o in outcomes {
            guard let s = o.server else { continue }
            let c = captureServer[o.localPort] ?? "no SYN on client point"
            if c != s { mismatches.append("client port \(o.localPort): client says \(s), captures say \(c)") }
        }
        let tablesAgree = nonZero(fromClient) == nonZero(fromCapture)
        if !mismatches.isEmpty {
            evidence.append("\(mismatches.count) connections disagree, e.g.:")
            evidence += mismatches.prefix(5).map { "  " + $0 }
        }

        let total = fromClient.values.reduce(0, +)
        let exp = checkExpectation(expectation, counts: fromClient, total: total)
        evidence += exp.evidence

        var problems: [String] = []
        if total == 0 { problems.append("no answered connections to judge") }
        if !tablesAgree { problems.append("client and capture counts disagree") }
        else if !mismatches.isEmpty { problems.append("\(mismatches.count) connections reached a different server than the client reports") }
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

    // MARK: - dr-path

    static func drPathRule(_ run: Run) -> RuleVerdict {
        let facts = run.facts
        let disp = facts.dispatcher
        let dispFrames = run.frames(disp.name)
        let clientFrames = run.frames(facts.client.name)
        var okA = 0, okB = 0, okC = 0
        var violations: [String] = []

        for flow in run.flows {
            var problems: [String] = []
            // (a) in to the dispatcher, out to one real server, dst IP still the VIP.
            let arrived = dispFrames.contains { run.isSYN($0, flow) && $0.destinationMAC == disp.mac }
            let forwardedTo = facts.realServers.filter { rs in
                dispFrames.contains { run.isSYN($0, flow) && $0.sourceMAC == disp.mac && $0.destinationMAC == rs.mac }
            }
            if arrived && forwardedTo.count == 1 { okA += 1 } else {
                let macs = Set(dispFrames.filter { run.isSYN($0, flow) }.map { "\(run.label($0.sourceMAC)) -> \(run.label($0.destinationMAC))" }).sorted()
                problems.append("(a) dispatcher: SYN arrived \(arrived ? "yes" : "no"), forwarded to [\(forwardedTo.map(\.name).joined(separator: ", "))]; SYN frames there: \(macs.isEmpty ? "none" : macs.joined(separator: ", "))")
            }
            // (b) exactly one real server received it, on its own MAC.
            let receivers = run.receivingServers(flow)
            let consistent = forwardedTo.isEmpty || forwardedTo.map(\.name) == receivers.map(\.name)
            if receivers.count == 1 && consistent { okB += 1 } else {
                problems.append("(b) real servers that received the SYN on their own MAC: [\(receivers.map(\.name).joined(separator: ", "))]\(consistent ? "" : ", dispatcher forwarded to [\(forwardedTo.map(\.name).joined(separator: ", "))]")")
            }
            // (c) replies straight from that server.
            if receivers.count == 1 {
                let rs = receivers[0]
                let atServer = run.frames(rs.name).filter { run.isReply($0, flow) && $0.sourceMAC == rs.mac }.count
                let atClient = clientFrames.filter { run.isReply($0, flow) && $0.sourceMAC == rs.mac }.count
                if atServer > 0 && atClient > 0 { okC += 1 } else {
                    let otherMACs = Set(clientFrames.filter { run.isReply($0, flow) && $0.sourceMAC != rs.mac }.map { run.label($0.sourceMAC) }).sorted()
                    problems.append("(c) replies from \(rs.name) \(rs.mac): \(atServer) on its point, \(atClient) on the client point\(otherMACs.isEmpty ? "" : "; client got replies from " + otherMACs.joined(separator: ", "))")
                }
            } else {
                problems.append("(c) not checked: no single receiving real server")
            }
            if !problems.isEmpty { violations.append("flow \(flow): " + problems.joined(separator: "; ")) }
        }

        // (d) nothing sourced from the VIP on the dispatcher's wire.
        var vipOnDispatcher: [String: Int] = [:]
        for f in dispFrames where f.ipv4?.source == facts.vip {
            vipOnDispatcher[run.label(f.sourceMAC), default: 0] += 1
        }
        let dCount = vipOnDispatcher.values.reduce(0, +)

        let n = run.flows.count
        var evidence = ["client flows checked: \(n)",
                        "(a) SYN reached dispatcher \(disp.name) and left towards one real server: \(okA)/\(n)",
                        "(b) exactly one real server received the SYN (dst IP VIP, dst MAC its own): \(okB)/\(n)",
                        "(c) replies VIP:\(facts.port) -> client seen from that server's MAC on its point and on the client's point: \(okC)/\(n)",
                        "(d) packets with source \(facts.vip) on the dispatcher's point: \(dCount)"
                            + (vipOnDispatcher.isEmpty ? "" : " (" + vipOnDispatcher.sorted { $0.key < $1.key }.map { "from \($0.key) x\($0.value)" }.joined(separator: ", ") + ")")]
        var missing: [String] = []
        if run.points[disp.name] == nil { missing.append(disp.name) }
        if run.points[facts.client.name] == nil { missing.append(facts.client.name) }
        for rs in facts.realServers where run.points[rs.name] == nil { missing.append(rs.name) }
        if !missing.isEmpty { evidence.append("no capture for point(s): \(missing.joined(separator: ", "))") }
        if !violations.isEmpty {
            evidence.append("\(violations.count) flows violate the DR path, e.g.:")
            evidence += violations.prefix(5).map { "  " + $0 }
        }

        let passed = n > 0 && okA == n && okB == n && okC == n && dCount == 0 && missing.isEmpty
        var summary: String
        if n == 0 { summary = "no client flows (SYN \(facts.client.address) -> \(facts.vip):\(facts.port)) on point \(facts.client.name)" }
        else if passed { summary = "all \(n) flows in via \(disp.name), out directly from one real server" }
        else {
            var parts: [String] = []
            if okA < n { parts.append("\(n - okA) flows not relayed by \(disp.name)") }
            if okB < n { parts.append("\(n - okB) flows without exactly one receiving real server") }
            if okC < n { parts.append("\(n - okC) flows without direct replies") }
            if dCount > 0 { parts.append("\(dCount) VIP-sourced packets on \(disp.name)'s wire") }
            if !missing.isEmpty { parts.append("points not captured: \(missing.joined(separator: ", "))") }
            summary = parts.joined(separator: "; ")
        }
        return RuleVerdict(rule: "dr-path", passed: passed, summary: summary, evidence: evidence)
    }

    // MARK: - arp

    static func arpRule(_ run: Run) -> RuleVerdict {
        let facts = run.facts
        let disp = facts.dispatcher
        // Per sender MAC: replies and other ARP (requests, gratuitous) with sender IP = VIP.
        var replies: [MACAddress: Int] = [:]
        var others: [MACAddress: Int] = [:]
        // Senders that are no lab node: no own point, so take the point where most were seen.
        var unknownReplies: [MACAddress: [String: Int]] = [:]
        var unknownOthers: [MACAddress: [String: Int]] = [:]
        for (point, frames) in run.points {
            for f in frames {
                guard let a = f.arp, a.senderIP == facts.vip else { continue }
                if let owner = run.nodeName(for: a.senderMAC) {
                    guard owner == point else { continue }  // counted once, at the sender's own point
                    if a.isReply { replies[a.senderMAC, default: 0] += 1 } else { others[a.senderMAC, default: 0] += 1 }
                } else if a.isReply {
                    unknownReplies[a.senderMAC, default: [:]][point, default: 0] += 1
                } else {
                    unknownOthers[a.senderMAC, default: [:]][point, default: 0] += 1
                }
            }
        }
        for (mac, per) in unknownReplies { replies[mac, default: 0] += per.values.max() ?? 0 }
        for (mac, per) in unknownOthers { others[mac, default: 0] += per.values.max() ?? 0 }

        func list(_ d: [MACAddress: Int]) -> String {
            if d.isEmpty { return "none" }
            return d.sorted { (run.nodeName(for: $0.key) ?? "~", $0.key.description) < (run.nodeName(for: $1.key) ?? "~", $1.key.description) }
                .map { "\(run.label($0.key)) x\($0.value)" }.joined(separator: ", ")
        }
        let dispReplies = replies[disp.mac] ?? 0
        let intruders = Set(replies.keys).union(others.keys).subtracting([disp.mac])
            .sorted { run.label($0) < run.label($1) }
        var evidence = ["ARP replies for VIP \(facts.vip): \(list(replies))",
                        "other ARP with sender \(facts.vip) (requests, announcements): \(list(others))"]
        if run.points[disp.name] == nil { evidence.append("no capture for the dispatcher point \(disp.name)") }
        let passed = dispReplies > 0 && intruders.isEmpty
        let summary: String
        if passed { summary = "only \(disp.name) answers ARP for \(facts.vip) (x\(dispReplies))" }
        else {
            var parts: [String] = []
            if dispReplies == 0 { parts.append("no ARP reply for \(facts.vip) from \(disp.name) was seen (was the client's neighbour cache flushed?)") }
            if !intruders.isEmpty { parts.append("ARP for \(facts.vip) also from " + intruders.map { run.label($0) }.joined(separator: ", ") + " (ARP flux)") }
            summary = parts.joined(separator: "; ")
        }
        return RuleVerdict(rule: "arp", passed: passed, summary: summary, evidence: evidence)
    }

    // MARK: - helpers

    static func orderedNames(_ facts: LabFacts, _ a: [String: Int], _ b: [String: Int]) -> [String] {
        var names = facts.realServers.map(\.name)
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
