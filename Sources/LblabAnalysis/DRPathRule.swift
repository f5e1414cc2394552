import LblabTypes

// The `dr-path` rule: in via the dispatcher, out directly from one real server.
extension LabAnalyzer {
    // MARK: - dr-path

    static func drPathRule(_ run: Run) -> RuleVerdict {
        let facts = run.facts
        let disp = facts.dispatcher
        let dispMAC = MAC48(disp.mac)
        var okA = 0, okB = 0, okC = 0
        // Every violating flow is counted; the first few are described.
        var violationCount = 0
        var violations: [String] = []

        for (f, flow) in run.flows.enumerated() {
            // (a) in to the dispatcher, out to one real server, dst IP still the VIP.
            let dispSYNs = run.packets(disp.name, flow: f).filter { run.isSYN($0) }
            let arrived = dispSYNs.contains { $0.destinationMAC == dispMAC }
            let forwardedTo = Set(dispSYNs.compactMap { $0.sourceMAC == dispMAC ? run.realServerIndex[$0.destinationMAC] : nil })
                .sorted().map { facts.realServers[$0] }
            let a = arrived && forwardedTo.count == 1
            // (b) exactly one real server received it, on its own MAC: the one the dispatcher chose.
            let receivers = run.receivingServers(f)
            let consistent = forwardedTo.isEmpty || forwardedTo.map(\.name) == receivers.map(\.name)
            let b = receivers.count == 1 && consistent
            // (c) replies straight from that server.
            var c = false
            var replies: (atServer: Int, atClient: Int, client: [Packet]) = (0, 0, [])
            if receivers.count == 1 {
                let rsMAC = MAC48(receivers[0].mac)
                replies.atServer = run.packets(receivers[0].name, flow: f).filter { run.isReply($0) && $0.sourceMAC == rsMAC }.count
                replies.client = run.packets(facts.client.name, flow: f).filter { run.isReply($0) }
                replies.atClient = replies.client.filter { $0.sourceMAC == rsMAC }.count
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
                problems.append("(a) dispatcher: SYN arrived \(arrived ? "yes" : "no"), forwarded to [\(forwardedTo.map(\.name).joined(separator: ", "))]; SYN frames there: \(macs.isEmpty ? "none" : macs.joined(separator: ", "))")
            }
            if !b {
                problems.append("(b) real servers that received the SYN on their own MAC: [\(receivers.map(\.name).joined(separator: ", "))]\(consistent ? "" : ", dispatcher forwarded to [\(forwardedTo.map(\.name).joined(separator: ", "))]")")
            }
            if receivers.count == 1 {
                if !c {
                    let rs = receivers[0]
                    let otherMACs = Set(replies.client.filter { $0.sourceMAC != MAC48(rs.mac) }.map { run.label($0.sourceMAC) }).sorted()
                    problems.append("(c) replies from \(rs.name) \(rs.mac): \(replies.atServer) on its point, \(replies.atClient) on the client point\(otherMACs.isEmpty ? "" : "; client got replies from " + otherMACs.joined(separator: ", "))")
                }
            } else {
                problems.append("(c) not checked: no single receiving real server")
            }
            violations.append("flow \(flow): " + problems.joined(separator: "; "))
        }

        // (d) nothing sourced from the VIP on the dispatcher's wire.
        var vipSenders: [MAC48: Int] = [:]
        for p in run.packets(disp.name) where p.isIPv4 && p.source == facts.vip {
            vipSenders[p.sourceMAC, default: 0] += 1
        }
        var vipOnDispatcher: [String: Int] = [:]
        for (mac, n) in vipSenders { vipOnDispatcher[run.label(mac), default: 0] += n }
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
        if violationCount > 0 {
            evidence.append("\(violationCount) flows violate the DR path, e.g.:")
            evidence += violations.map { "  " + $0 }
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

}
