import LblabTypes

// The `dr-path` rule: in via the dispatcher, out directly from one real server.
extension LabAnalyzer {
    // MARK: - dr-path

    static func drPathRule(_ run: Run) -> RuleVerdict {
        let facts = run.facts
        let disp = facts.dispatcher
        let dispMAC = MAC48(disp.mac)
        var okA = 0, okB = 0, okC = 0
        var violations: [String] = []

        for (f, flow) in run.flows.enumerated() {
            var problems: [String] = []
            // (a) in to the dispatcher, out to one real server, dst IP still the VIP.
            let dispSYNs = run.packets(disp.name, flow: f).filter { run.isSYN($0) }
            let arrived = dispSYNs.contains { $0.destinationMAC == dispMAC }
            let forwardedTo = facts.realServers.filter { rs in
                let mac = MAC48(rs.mac)
                return dispSYNs.contains { $0.sourceMAC == dispMAC && $0.destinationMAC == mac }
            }
            if arrived && forwardedTo.count == 1 { okA += 1 } else {
                let macs = Set(dispSYNs.map { "\(run.label($0.sourceMAC)) -> \(run.label($0.destinationMAC))" }).sorted()
                problems.append("(a) dispatcher: SYN arrived \(arrived ? "yes" : "no"), forwarded to [\(forwardedTo.map(\.name).joined(separator: ", "))]; SYN frames there: \(macs.isEmpty ? "none" : macs.joined(separator: ", "))")
            }
            // (b) exactly one real server received it, on its own MAC.
            let receivers = run.receivingServers(f)
            let consistent = forwardedTo.isEmpty || forwardedTo.map(\.name) == receivers.map(\.name)
            if receivers.count == 1 && consistent { okB += 1 } else {
                problems.append("(b) real servers that received the SYN on their own MAC: [\(receivers.map(\.name).joined(separator: ", "))]\(consistent ? "" : ", dispatcher forwarded to [\(forwardedTo.map(\.name).joined(separator: ", "))]")")
            }
            // (c) replies straight from that server.
            if receivers.count == 1 {
                let rs = receivers[0]
                let rsMAC = MAC48(rs.mac)
                let atServer = run.packets(rs.name, flow: f).filter { run.isReply($0) && $0.sourceMAC == rsMAC }.count
                let clientReplies = run.packets(facts.client.name, flow: f).filter { run.isReply($0) }
                let atClient = clientReplies.filter { $0.sourceMAC == rsMAC }.count
                if atServer > 0 && atClient > 0 { okC += 1 } else {
                    let otherMACs = Set(clientReplies.filter { $0.sourceMAC != rsMAC }.map { run.label($0.sourceMAC) }).sorted()
                    problems.append("(c) replies from \(rs.name) \(rs.mac): \(atServer) on its point, \(atClient) on the client point\(otherMACs.isEmpty ? "" : "; client got replies from " + otherMACs.joined(separator: ", "))")
                }
            } else {
                problems.append("(c) not checked: no single receiving real server")
            }
            if !problems.isEmpty { violations.append("flow \(flow): " + problems.joined(separator: "; ")) }
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

}
