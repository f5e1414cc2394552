import LblabModel
import LblabTypes

extension Rules {
    /// `nat-path` (LVS-NAT), proven from the captures:
    /// (a) the client only ever talks to the VIP (every packet of its flows on its points is to or
    ///     from VIP:port);
    /// (b) on the back, exactly one real server receives the request, on its own MAC, with the
    ///     destination rewritten to that server's own address;
    /// (c) every reply crosses the dispatcher: the server sends it to a dispatcher MAC, and it leaves
    ///     the dispatcher on the front with source VIP:port and reaches the client from there;
    /// (d) no real server's address ever appears on a front segment (the client's segments).
    public struct NATPath: PacketPathRule {
        public static let name = "nat-path"
        public static let mode = LabMode.nat
        public init(spec: LabSpec) {}

        public func judge(_ run: AnalyzedRun) -> RuleVerdict {
            guard let t = run.target else { return RuleVerdict(rule: Self.name, passed: false, summary: run.problem ?? "", evidence: []) }
            let dispMACs = AnalyzedRun.macs(of: t.dispatcher)
            let front = Set(t.client.segmentInterfaces.compactMap(\.segment))
            let frontPoints = t.dispatcher.interfaces.filter { $0.segment.map(front.contains) ?? false }.compactMap(\.point)
            var okA = 0, okB = 0, okC = 0
            var violationCount = 0
            var violations: [String] = []
            // Per server: flows it received whose replies did not make it back through the dispatcher.
            var stuck: [String: Int] = [:]
            // Over those flows: replies that reached the dispatcher, and that left it on the front.
            var stuckReplies = (reached: 0, left: 0)

            for (f, flow) in run.flows.enumerated() {
                // (a) the client's end of the flow: only VIP:port on the other side.
                let atClient = run.packets(of: t.client, flow: f).filter { $0.isPlainTCP }
                let strangers = atClient.filter { p in
                    run.isRequest(p, f) ? !(p.innerDestination == t.vip && p.destinationPort == t.port)
                                        : !(p.innerSource == t.vip && p.sourcePort == t.port)
                }
                let a = strangers.isEmpty
                // (b) one real server received it, addressed to its own address.
                let deliveries = run.deliveries(f)
                let b = deliveries.count == 1 && deliveries[0].form == .translated
                // (c) the replies cross the dispatcher.
                var c = false
                var counts = (toDispatcher: 0, leftFront: 0, atClient: 0)
                if deliveries.count == 1 {
                    let rs = t.servers[deliveries[0].server]
                    let rsMACs = AnalyzedRun.macs(of: rs)
                    let rsAddresses = Set(AnalyzedRun.segmentAddresses(of: rs))
                    counts.toDispatcher = run.packets(of: rs, flow: f).filter {
                        $0.isPlainTCP && run.isReply($0, f) && rsAddresses.contains($0.innerSource) && rsMACs.contains($0.sourceMAC)
                            && dispMACs.contains($0.destinationMAC)
                    }.count
                    counts.leftFront = frontPoints.flatMap { run.packets($0, flow: f) }.filter {
                        $0.isPlainTCP && run.isReply($0, f) && $0.innerSource == t.vip && $0.sourcePort == t.port && dispMACs.contains($0.sourceMAC)
                    }.count
                    counts.atClient = atClient.filter { run.isReply($0, f) && $0.innerSource == t.vip && dispMACs.contains($0.sourceMAC) }.count
                    c = counts.toDispatcher > 0 && counts.leftFront > 0 && counts.atClient > 0
                    if !c {
                        stuck[rs.name, default: 0] += 1
                        stuckReplies.reached += counts.toDispatcher
                        stuckReplies.left += counts.leftFront
                    }
                }
                if a { okA += 1 }
                if b { okB += 1 }
                if c { okC += 1 }
                guard !(a && b && c) else { continue }
                violationCount += 1
                guard violations.count < 5 else { continue }

                var problems: [String] = []
                if !a {
                    let others = Set(strangers.map { run.isRequest($0, f) ? "to \($0.innerDestination.ip.withPort($0.destinationPort))"
                                                                          : "from \($0.innerSource.ip.withPort($0.sourcePort))" }).sorted()
                    problems.append("(a) the client exchanged \(strangers.count) packets with other ends than the VIP: \(others.joined(separator: ", "))")
                }
                if !b {
                    let received = deliveries.map { t.servers[$0.server].name + " (\($0.form.text))" }
                    problems.append("(b) real servers that received the SYN on their own MAC: [\(received.joined(separator: ", "))]")
                }
                if deliveries.count == 1 {
                    if !c {
                        let rs = t.servers[deliveries[0].server]
                        problems.append("(c) replies: \(counts.toDispatcher) from \(rs.name) to \(t.dispatcher.name), \(counts.leftFront) left \(t.dispatcher.name) on the front with source \(t.vip), \(counts.atClient) reached the client from it")
                    }
                } else {
                    problems.append("(c) not checked: no single receiving real server")
                }
                violations.append("flow \(flow): " + problems.joined(separator: "; "))
            }

            // (d) no real-server address on the front.
            let serverByAddress = Dictionary(t.servers.flatMap { rs in AnalyzedRun.segmentAddresses(of: rs).map { ($0, rs.name) } },
                                             uniquingKeysWith: { a, _ in a })
            var onFront: [String: Int] = [:]
            let allFrontPoints = run.facts.nodes.flatMap { $0.interfaces }.filter { $0.segment.map(front.contains) ?? false }.compactMap(\.point)
            for point in Set(allFrontPoints) {
                for p in run.packets(point) where p.isIP {
                    // Each address a packet holds once (outer, then inner or quoted).
                    func see(_ a: WireAddress) { if let rs = serverByAddress[a] { onFront["\(rs) \(a)", default: 0] += 1 } }
                    see(p.source)
                    if p.destination != p.source { see(p.destination) }
                    if p.innerSource != p.source && p.innerSource != p.destination { see(p.innerSource) }
                    if p.innerDestination != p.source && p.innerDestination != p.destination && p.innerDestination != p.innerSource { see(p.innerDestination) }
                }
            }
            let dCount = onFront.values.reduce(0, +)

            let n = run.flows.count
            var evidence = ["client flows checked: \(n); front: segment \(front.sorted().joined(separator: ", ")) (points \(Set(allFrontPoints).sorted().joined(separator: ", ")))",
                            "(a) the client only exchanged packets with \(t.vip.ip.withPort(t.port)): \(okA)/\(n)",
                            "(b) exactly one real server received the SYN on its own MAC, destination rewritten to its own address: \(okB)/\(n)",
                            "(c) replies from that server to \(t.dispatcher.name), out of \(t.dispatcher.name) on the front with source \(t.vip.ip.withPort(t.port)), to the client: \(okC)/\(n)",
                            "(d) packets with a real server's address on the front: \(dCount)"
                                + (onFront.isEmpty ? "" : " (" + onFront.sorted { $0.key < $1.key }.map { "\($0.key) x\($0.value)" }.joined(separator: ", ") + ")")]
            if !stuck.isEmpty {
                evidence.append("replies that did not come back through \(t.dispatcher.name), per real server: "
                                + stuck.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
                if stuckReplies.reached > 0 && stuckReplies.left == 0 {
                    let forwarding = run.spec.node(named: t.dispatcher.name)?.ipForward == false ? " (the lab turns ip_forward off on \(t.dispatcher.name))" : ""
                    evidence.append("\(stuckReplies.reached) of their replies reached \(t.dispatcher.name) from the real servers and none left it on the front: it did not forward them\(forwarding)")
                }
            }
            evidence += Self.arpEvidence(run, t)
            let missing = run.missingPoints([t.dispatcher, t.client] + t.servers)
            if !missing.isEmpty { evidence.append("no capture for point(s): \(missing.joined(separator: ", "))") }
            evidence += RuleVerdict.examples(violations, count: violationCount, of: "flows violate the NAT path")

            let passed = n > 0 && okA == n && okB == n && okC == n && dCount == 0 && missing.isEmpty
            let summary: String
            if passed { summary = "all \(n) flows to \(t.vip) only, rewritten by \(t.dispatcher.name) to one real server and back through it" }
            else if n == 0 { summary = "no client flows (SYN to \(t.vip.ip.withPort(t.port))) on the client's point" }
            else {
                var parts: [String] = []
                if okA < n { parts.append("\(n - okA) flows where the client saw other ends than the VIP") }
                if okB < n { parts.append("\(n - okB) flows without exactly one real server receiving the rewritten request") }
                if okC < n {
                    parts.append("\(n - okC) flows whose replies did not cross \(t.dispatcher.name)"
                                 + (stuck.isEmpty ? "" : " (" + stuck.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"))
                }
                if dCount > 0 { parts.append("\(dCount) packets with a real server's address on the front") }
                if !missing.isEmpty { parts.append("points not captured: \(missing.joined(separator: ", "))") }
                summary = parts.joined(separator: "; ")
            }
            return RuleVerdict(rule: Self.name, passed: passed, summary: summary, evidence: evidence)
        }

        /// What the real servers could not resolve: a server whose gateway answers no ARP never sends
        /// its replies anywhere.
        static func arpEvidence(_ run: AnalyzedRun, _ t: AnalyzedRun.Target) -> [String] {
            t.servers.compactMap { rs in
                let unanswered = run.unansweredARP(from: rs)
                guard !unanswered.isEmpty else { return nil }
                return "\(rs.name) asked ARP for " + unanswered.map { "\($0.target) x\($0.count)" }.joined(separator: ", ")
                    + " and got no reply" + (unanswered.contains { Self.isGateway($0.target, of: rs.name, run.spec) } ? " (its gateway)" : "")
            }
        }

        static func isGateway(_ address: IPv4Address, of node: String, _ spec: LabSpec) -> Bool {
            spec.node(named: node)?.routes.contains { $0.gateway == .v4(address) } ?? false
        }
    }
}
