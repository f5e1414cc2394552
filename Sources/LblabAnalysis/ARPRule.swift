import LblabModel
import LblabTypes

extension Rules {
    /// `arp`: only the service's dispatcher answers ARP for the VIP (no ARP flux), when the lab
    /// expects `arp: dispatcher-only`. Each ARP packet is counted once: a lab interface's at its own
    /// point, a sender outside the lab at the point where it was seen most.
    public struct ARP: VerdictRule {
        public static let name = "arp"
        /// Selected for an IPv4 VIP (an IPv6 VIP gets `ndp`, the same expectation over NDP).
        public static func selected(by spec: LabSpec) -> Self? {
            spec.expect.arp == .dispatcherOnly && spec.trafficVIPFamily == .ipv4 ? Self() : nil
        }

        public func judge(_ run: AnalyzedRun) -> RuleVerdict {
            guard let t = run.target else { return RuleVerdict(rule: Self.name, passed: false, summary: run.problem ?? "", evidence: []) }
            let vip = t.vip
            // Per sender MAC: replies, and other ARP (requests, announcements) with sender IP = VIP.
            var replies: [MAC48: Int] = [:]
            var others: [MAC48: Int] = [:]
            var unknownReplies: [MAC48: [String: Int]] = [:]
            var unknownOthers: [MAC48: [String: Int]] = [:]
            for (name, point) in run.points {
                for (i, p) in point.packets.enumerated() where p.kind == .arp && p.source == vip {
                    let a = point.withBytes(of: i) { FrameDecoder.arp($0, p) }
                    let sender = MAC48(a.senderMAC)
                    if let o = run.ownerByMAC[sender] {
                        guard run.facts.nodes[o.node].interfaces[o.interface].point == name else { continue }
                        if a.isReply { replies[sender, default: 0] += 1 } else { others[sender, default: 0] += 1 }
                    } else if a.isReply {
                        unknownReplies[sender, default: [:]][name, default: 0] += 1
                    } else {
                        unknownOthers[sender, default: [:]][name, default: 0] += 1
                    }
                }
            }
            for (mac, per) in unknownReplies { replies[mac, default: 0] += per.values.max() ?? 0 }
            for (mac, per) in unknownOthers { others[mac, default: 0] += per.values.max() ?? 0 }

            // Lab interfaces first (by point), then unknown senders.
            func order(_ m: MAC48) -> (Int, String, UInt64) { (run.ownerByMAC[m] == nil ? 1 : 0, run.label(m), m.value) }
            func list(_ d: [MAC48: Int]) -> String {
                d.isEmpty ? "none" : d.sorted { order($0.key) < order($1.key) }.map { "\(run.label($0.key)) x\($0.value)" }.joined(separator: ", ")
            }
            let dispatcherMACs = AnalyzedRun.macs(of: t.dispatcher)
            let dispatcherReplies = replies.filter { dispatcherMACs.contains($0.key) }.values.reduce(0, +)
            let intruders = Set(replies.keys).union(others.keys).subtracting(dispatcherMACs).sorted { order($0) < order($1) }
            var evidence = ["ARP replies for VIP \(vip): \(list(replies))",
                            "other ARP with sender \(vip) (requests, announcements): \(list(others))"]
            let missing = run.missingPoints([t.dispatcher])
            if !missing.isEmpty { evidence.append("no capture for the dispatcher point \(missing.joined(separator: ", "))") }
            let passed = dispatcherReplies > 0 && intruders.isEmpty
            let summary: String
            if passed {
                let answering = replies.keys.sorted { order($0) < order($1) }.map { run.label($0).split(separator: " ")[0] }
                summary = "only \(answering.joined(separator: ", ")) answers ARP for \(vip) (x\(dispatcherReplies))"
            } else {
                var parts: [String] = []
                if dispatcherReplies == 0 { parts.append("no ARP reply for \(vip) from \(t.dispatcher.name) was seen (was the client's neighbour cache flushed?)") }
                if !intruders.isEmpty { parts.append("ARP for \(vip) also from " + intruders.map(run.label).joined(separator: ", ") + " (ARP flux)") }
                summary = parts.joined(separator: "; ")
            }
            return RuleVerdict(rule: Self.name, passed: passed, summary: summary, evidence: evidence)
        }
    }
}

extension LabSpec {
    /// The family of the VIP the lab's traffic goes to (IPv4 when the service is not found).
    var trafficVIPFamily: IPFamily { service(named: traffic.service)?.vip.family ?? services.first?.vip.family ?? .ipv4 }
}
