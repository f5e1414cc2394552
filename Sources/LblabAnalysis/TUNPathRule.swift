import LblabModel
import LblabTypes

extension Rules {
    /// `tun-path` (LVS-TUN), proven from the captures:
    /// (a) each request reaches the dispatcher and leaves it as IP-in-IP towards exactly one real
    ///     server: outer destination that server's address, inner destination VIP:port;
    /// (b) that server, and no other, receives it tunnelled on its own MAC;
    /// (c) the replies go straight to the client with source VIP:port: from that server's MAC on its
    ///     point, and on the client's point from a MAC that is not the dispatcher's;
    /// (d) the replies never cross the dispatcher: no packet sourced from the VIP on its wire.
    /// ICMP errors about the flows are shown as the kernel sent them (a real server with no tunnel
    /// interface answers IP-in-IP with "port unreachable"; one with strict reverse-path filtering
    /// drops the unwrapped request without a word).
    public struct TUNPath: PacketPathRule {
        public static let name = "tun-path"
        public static let mode = LabMode.tun
        public init(spec: LabSpec) {}

        public func judge(_ run: AnalyzedRun) -> RuleVerdict {
            guard let t = run.target else { return RuleVerdict(rule: Self.name, passed: false, summary: run.problem ?? "", evidence: []) }
            let dispMACs = AnalyzedRun.macs(of: t.dispatcher)
            let serverByAddress = Dictionary(t.servers.enumerated().flatMap { s, node in AnalyzedRun.segmentAddresses(of: node).map { ($0, s) } },
                                             uniquingKeysWith: { a, _ in a })
            var okA = 0, okB = 0, okC = 0
            var violationCount = 0
            var violations: [String] = []
            // Per server: flows it received and never answered.
            var unanswered: [Int: Int] = [:]
            let icmp = Dictionary(grouping: run.icmpErrors(), by: \.flow)

            for (f, flow) in run.flows.enumerated() {
                let atDispatcher = run.packets(of: t.dispatcher, flow: f)
                // (a) in plain, out tunnelled to one server.
                let arrived = atDispatcher.contains {
                    $0.isPlainTCP && $0.isInitialSYN && run.isRequest($0, f) && $0.innerDestination == t.vip && $0.destinationPort == t.port
                        && dispMACs.contains($0.destinationMAC)
                }
                let tunnelled = atDispatcher.filter {
                    $0.isTunnelledTCP && $0.isInitialSYN && run.isRequest($0, f) && dispMACs.contains($0.sourceMAC)
                }
                let wellFormed = tunnelled.filter { $0.innerDestination == t.vip && $0.destinationPort == t.port && serverByAddress[$0.destination] != nil }
                let forwardedTo = Set(wellFormed.compactMap { serverByAddress[$0.destination] }).sorted()
                let a = arrived && forwardedTo.count == 1 && wellFormed.count == tunnelled.count
                // (b) the chosen server received it tunnelled.
                let deliveries = run.deliveries(f)
                let consistent = forwardedTo.isEmpty || forwardedTo == deliveries.map(\.server)
                let b = deliveries.count == 1 && deliveries[0].form == .tunnelled && consistent
                // (c) replies straight to the client, (d) none through the dispatcher.
                var c = false
                var counts = (fromServer: 0, atClient: 0, viaDispatcher: 0)
                if deliveries.count == 1 {
                    let s = deliveries[0].server
                    let rs = t.servers[s]
                    let rsMACs = AnalyzedRun.macs(of: rs)
                    counts.fromServer = run.packets(of: rs, flow: f).filter {
                        $0.isPlainTCP && run.isReply($0, f) && $0.innerSource == t.vip && $0.sourcePort == t.port && rsMACs.contains($0.sourceMAC)
                    }.count
                    let clientReplies = run.packets(of: t.client, flow: f).filter { $0.isPlainTCP && run.isReply($0, f) && $0.innerSource == t.vip }
                    counts.atClient = clientReplies.filter { !dispMACs.contains($0.sourceMAC) }.count
                    counts.viaDispatcher = clientReplies.count - counts.atClient
                    c = counts.fromServer > 0 && counts.atClient > 0 && counts.viaDispatcher == 0
                    if counts.fromServer == 0 { unanswered[s, default: 0] += 1 }
                }
                if a { okA += 1 }
                if b { okB += 1 }
                if c { okC += 1 }
                guard !(a && b && c) else { continue }
                violationCount += 1
                guard violations.count < 5 else { continue }

                var problems: [String] = []
                if !a {
                    let outer = Set(tunnelled.map { "IP-in-IP \($0.source) -> \($0.destination) carrying -> \($0.innerDestination.ip.withPort($0.destinationPort))" }).sorted()
                    let plainOut = atDispatcher.filter { $0.isPlainTCP && $0.isInitialSYN && run.isRequest($0, f) && dispMACs.contains($0.sourceMAC) }.count
                    problems.append("(a) dispatcher: SYN arrived \(arrived ? "yes" : "no"), tunnelled to [\(forwardedTo.map { t.servers[$0].name }.joined(separator: ", "))]"
                                    + (outer.isEmpty ? "; no IP-in-IP SYN left it" : "; " + outer.joined(separator: ", "))
                                    + (plainOut > 0 ? "; \(plainOut) SYNs left it unwrapped" : ""))
                }
                if !b {
                    let received = deliveries.map { t.servers[$0.server].name + " (\($0.form.text))" }
                    problems.append("(b) real servers that received the SYN on their own MAC: [\(received.joined(separator: ", "))]\(consistent ? "" : ", dispatcher tunnelled to [\(forwardedTo.map { t.servers[$0].name }.joined(separator: ", "))]")")
                }
                if deliveries.count == 1 {
                    if !c {
                        let rs = t.servers[deliveries[0].server]
                        problems.append("(c) replies with source \(t.vip): \(counts.fromServer) from \(rs.name) on its point, \(counts.atClient) at the client straight, \(counts.viaDispatcher) at the client through \(t.dispatcher.name)")
                    }
                } else {
                    problems.append("(c) not checked: no single receiving real server")
                }
                for e in icmp[f] ?? [] {
                    problems.append("\(run.node(of: e.sender)?.name ?? run.label(e.sender)) \(e.source) sent ICMP \(e.text) about the \(e.tunnelled ? "tunnelled " : "")request")
                }
                violations.append("flow \(flow): " + problems.joined(separator: "; "))
            }

            // (d) nothing sourced from the VIP on the dispatcher's wire.
            var vipSenders: [String: Int] = [:]
            for point in AnalyzedRun.points(of: t.dispatcher) {
                for p in run.packets(point) where p.isIP && !p.isNDP && p.source == t.vip {
                    vipSenders["\(run.label(p.sourceMAC))\(p.layers.contains(.icmp) ? " (ICMP \(ICMPMessage.describe(type: p.icmpType, code: p.icmpCode)))" : "")", default: 0] += 1
                }
            }
            let dCount = vipSenders.values.reduce(0, +)

            let n = run.flows.count
            var evidence = ["client flows checked: \(n)",
                            "(a) SYN reached \(t.dispatcher.name) and left it as IP-in-IP to one real server (outer destination its address, inner \(t.vip.ip.withPort(t.port))): \(okA)/\(n)",
                            "(b) exactly one real server received the tunnelled SYN on its own MAC: \(okB)/\(n)",
                            "(c) replies from \(t.vip.ip.withPort(t.port)) from that server's MAC, straight to the client: \(okC)/\(n)",
                            "(d) packets with source \(t.vip) on the dispatcher's wire: \(dCount)"
                                + (vipSenders.isEmpty ? "" : " (" + vipSenders.sorted { $0.key < $1.key }.map { "from \($0.key) x\($0.value)" }.joined(separator: ", ") + ")")]
            evidence += Self.serverEvidence(run, t, unanswered: unanswered, icmp: run.icmpErrors())
            let missing = run.missingPoints([t.dispatcher, t.client] + t.servers)
            if !missing.isEmpty { evidence.append("no capture for point(s): \(missing.joined(separator: ", "))") }
            evidence += RuleVerdict.examples(violations, count: violationCount, of: "flows violate the TUN path")

            let passed = n > 0 && okA == n && okB == n && okC == n && dCount == 0 && missing.isEmpty
            let summary: String
            if passed { summary = "all \(n) flows tunnelled by \(t.dispatcher.name) to one real server, replies straight to the client" }
            else if n == 0 { summary = "no client flows (SYN to \(t.vip.ip.withPort(t.port))) on the client's point" }
            else {
                var parts: [String] = []
                if okA < n { parts.append("\(n - okA) flows not tunnelled by \(t.dispatcher.name) to one real server") }
                if okB < n { parts.append("\(n - okB) flows without exactly one real server receiving them tunnelled") }
                if okC < n {
                    parts.append("\(n - okC) flows without direct replies"
                                 + (unanswered.isEmpty ? "" : " (never answered: " + unanswered.sorted { $0.key < $1.key }.map { "\(t.servers[$0.key].name) \($0.value)" }.joined(separator: ", ") + ")"))
                }
                if dCount > 0 { parts.append("\(dCount) VIP-sourced packets on \(t.dispatcher.name)'s wire") }
                if !missing.isEmpty { parts.append("points not captured: \(missing.joined(separator: ", "))") }
                summary = parts.joined(separator: "; ")
            }
            return RuleVerdict(rule: Self.name, passed: passed, summary: summary, evidence: evidence)
        }

        /// Per real server that left requests unanswered: what it did instead (ICMP errors, or
        /// nothing), and what the lab and the kernel's facts say about its tunnel and rp_filter.
        static func serverEvidence(_ run: AnalyzedRun, _ t: AnalyzedRun.Target, unanswered: [Int: Int], icmp: [AnalyzedRun.ICMPError]) -> [String] {
            unanswered.sorted { $0.key < $1.key }.map { s, count in
                let rs = t.servers[s]
                let macs = AnalyzedRun.macs(of: rs)
                let own = icmp.filter { macs.contains($0.sender) }
                var line = "\(rs.name) received \(count) tunnelled requests and answered none"
                if own.isEmpty {
                    line += ": no reply and no ICMP error, its kernel dropped them silently"
                } else {
                    let kinds = Dictionary(grouping: own, by: \.text).sorted { $0.key < $1.key }.map { "ICMP \($0.key) x\($0.value.count)" }
                    line += ": it sent " + kinds.joined(separator: ", ")
                    if own.contains(where: { $0.tunnelled && $0.type == 3 && $0.code == 3 }) {
                        line += " about IP-in-IP (what the kernel answers when no tunnel interface takes the packet)"
                    } else if own.contains(where: { $0.tunnelled && $0.type == 3 && $0.code == 2 }) {
                        line += " about IP-in-IP (the kernel has no IP-in-IP handler)"
                    }
                }
                let tunnels = rs.interfaces.filter { $0.kind == "ipip" && $0.addresses.contains { $0.address == t.service.vip } }
                line += tunnels.isEmpty ? "; the kernel shows no ipip interface holding \(t.vip) on \(rs.name)"
                                        : "; \(rs.name) has \(tunnels.map(\.name).joined(separator: ", ")) holding \(t.vip)"
                if let rp = run.spec.node(named: rs.name)?.rpFilter { line += "; the lab sets rp_filter=\(rp)\(rp == 1 ? " (strict)" : "") on \(rs.name)" }
                return line
            }
        }
    }
}
