import LblabModel
import LblabTypes

extension Rules {
    /// `dr-path` (LVS-DR): each request reaches the dispatcher and leaves it towards exactly one real
    /// server, the destination IP still the VIP and the destination MAC that server's; that server,
    /// and no other, receives it on its own MAC; the replies come from that server's MAC straight to
    /// the client; no packet sourced from the VIP ever appears on the dispatcher's wire.
    public struct DRPath: PacketPathRule {
        public static let name = "dr-path"
        public static let mode = LabMode.dr
        public init(spec: LabSpec) {}

        public func judge(_ run: AnalyzedRun) -> RuleVerdict {
            guard let t = run.target else { return RuleVerdict(rule: Self.name, passed: false, summary: run.problem ?? "", evidence: []) }
            let dispMACs = AnalyzedRun.macs(of: t.dispatcher)
            let serverByMAC = Dictionary(t.servers.enumerated().flatMap { s, node in AnalyzedRun.macs(of: node).map { ($0, s) } },
                                         uniquingKeysWith: { a, _ in a })
            var okA = 0, okB = 0, okC = 0
            // Every violating flow is counted; the first few are described.
            var violationCount = 0
            var violations: [String] = []

            for (f, flow) in run.flows.enumerated() {
                // (a) in to the dispatcher, out to one real server, dst IP still the VIP.
                let dispSYNs = run.packets(of: t.dispatcher, flow: f).filter {
                    $0.isPlainTCP && $0.isInitialSYN && run.isRequest($0, f) && $0.innerDestination == t.vip && $0.destinationPort == t.port
                }
                let arrived = dispSYNs.contains { dispMACs.contains($0.destinationMAC) }
                let forwardedTo = Set(dispSYNs.compactMap { dispMACs.contains($0.sourceMAC) ? serverByMAC[$0.destinationMAC] : nil }).sorted()
                let a = arrived && forwardedTo.count == 1
                // (b) exactly one real server received it on its own MAC, addressed to the VIP: the one the dispatcher chose.
                let deliveries = run.deliveries(f)
                let consistent = forwardedTo.isEmpty || forwardedTo == deliveries.map(\.server)
                let b = deliveries.count == 1 && deliveries[0].form == .direct && consistent
                // (c) replies straight from that server.
                var c = false
                var replies: (atServer: Int, atClient: Int, client: [Packet]) = (0, 0, [])
                if deliveries.count == 1 {
                    let rs = t.servers[deliveries[0].server]
                    let rsMACs = AnalyzedRun.macs(of: rs)
                    replies.atServer = run.packets(of: rs, flow: f).filter { run.isReply($0, f) && $0.source == t.vip && rsMACs.contains($0.sourceMAC) }.count
                    replies.client = run.packets(of: t.client, flow: f).filter { run.isReply($0, f) && $0.source == t.vip }
                    replies.atClient = replies.client.filter { rsMACs.contains($0.sourceMAC) }.count
                    c = replies.atServer > 0 && replies.atClient > 0
                }
                if a { okA += 1 }
                if b { okB += 1 }
                if c { okC += 1 }
                guard !(a && b && c) else { continue }
                violationCount += 1
                guard violations.count < 5 else { continue }

                var problems: [String] = []
                if !a {
                    let macs = Set(dispSYNs.map { "\(run.label($0.sourceMAC)) -> \(run.label($0.destinationMAC))" }).sorted()
                    problems.append("(a) dispatcher: SYN arrived \(arrived ? "yes" : "no"), forwarded to [\(forwardedTo.map { t.servers[$0].name }.joined(separator: ", "))]; SYN frames there: \(macs.isEmpty ? "none" : macs.joined(separator: ", "))")
                }
                if !b {
                    let received = deliveries.map { t.servers[$0.server].name + ($0.form == .direct ? "" : " (\($0.form.text))") }
                    problems.append("(b) real servers that received the SYN on their own MAC: [\(received.joined(separator: ", "))]\(consistent ? "" : ", dispatcher forwarded to [\(forwardedTo.map { t.servers[$0].name }.joined(separator: ", "))]")")
                }
                if deliveries.count == 1 {
                    if !c {
                        let rs = t.servers[deliveries[0].server]
                        let rsMACs = AnalyzedRun.macs(of: rs)
                        let otherMACs = Set(replies.client.filter { !rsMACs.contains($0.sourceMAC) }.map { run.label($0.sourceMAC) }).sorted()
                        problems.append("(c) replies from \(rs.name) \(rs.segmentInterfaces.compactMap { $0.mac?.description }.joined(separator: "/")): \(replies.atServer) on its point, \(replies.atClient) on the client point\(otherMACs.isEmpty ? "" : "; client got replies from " + otherMACs.joined(separator: ", "))")
                    }
                } else {
                    problems.append("(c) not checked: no single receiving real server")
                }
                violations.append("flow \(flow): " + problems.joined(separator: "; "))
            }

            // (d) nothing sourced from the VIP on the dispatcher's wire (but the dispatcher's own
            // neighbour discovery for it: an IPv6 advertisement comes from the address it advertises).
            var vipSenders: [MAC48: Int] = [:]
            for point in AnalyzedRun.points(of: t.dispatcher) {
                for p in run.packets(point) where p.isIP && !p.isNDP && p.source == t.vip { vipSenders[p.sourceMAC, default: 0] += 1 }
            }
            var vipOnDispatcher: [String: Int] = [:]
            for (mac, n) in vipSenders { vipOnDispatcher[run.label(mac), default: 0] += n }
            let dCount = vipOnDispatcher.values.reduce(0, +)

            let n = run.flows.count
            let dispPoints = AnalyzedRun.points(of: t.dispatcher).joined(separator: ", ")
            var evidence = ["client flows checked: \(n)",
                            "(a) SYN reached dispatcher \(t.dispatcher.name) and left towards one real server: \(okA)/\(n)",
                            "(b) exactly one real server received the SYN (dst IP VIP, dst MAC its own): \(okB)/\(n)",
                            "(c) replies VIP:\(t.port) -> client seen from that server's MAC on its point and on the client's point: \(okC)/\(n)",
                            "(d) packets with source \(t.vip) on the dispatcher's point\(AnalyzedRun.points(of: t.dispatcher).count == 1 ? "" : "s (\(dispPoints))"): \(dCount)"
                                + (vipOnDispatcher.isEmpty ? "" : " (" + vipOnDispatcher.sorted { $0.key < $1.key }.map { "from \($0.key) x\($0.value)" }.joined(separator: ", ") + ")")]
            let missing = run.missingPoints([t.dispatcher, t.client] + t.servers)
            if !missing.isEmpty { evidence.append("no capture for point(s): \(missing.joined(separator: ", "))") }
            evidence += RuleVerdict.examples(violations, count: violationCount, of: "flows violate the DR path")

            let passed = n > 0 && okA == n && okB == n && okC == n && dCount == 0 && missing.isEmpty
            let summary: String
            if passed { summary = "all \(n) flows in via \(t.dispatcher.name), out directly from one real server" }
            else if n == 0 { summary = "no client flows (SYN to \(t.vip.ip.withPort(t.port))) on the client's point" }
            else {
                var parts: [String] = []
                if okA < n { parts.append("\(n - okA) flows not relayed by \(t.dispatcher.name)") }
                if okB < n { parts.append("\(n - okB) flows without exactly one receiving real server") }
                if okC < n { parts.append("\(n - okC) flows without direct replies") }
                if dCount > 0 { parts.append("\(dCount) VIP-sourced packets on \(t.dispatcher.name)'s wire") }
                if !missing.isEmpty { parts.append("points not captured: \(missing.joined(separator: ", "))") }
                summary = parts.joined(separator: "; ")
            }
            return RuleVerdict(rule: Self.name, passed: passed, summary: summary, evidence: evidence)
        }
    }
}
