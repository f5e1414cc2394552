import LblabModel
import LblabTypes

extension Rules {
    /// `ndp`: the IPv6 face of `arp`. Only the service's dispatcher answers neighbour solicitations
    /// for the VIP (no "NDP flux"), when the lab expects `arp: dispatcher-only` and the traffic's
    /// VIP is IPv6. Neighbour advertisements for the VIP are the answers (solicited) and
    /// announcements (unsolicited); a solicitation sent *from* the VIP also gives it away. Each
    /// packet is counted once: a lab interface's at its own point, a sender outside the lab at
    /// the point where it was seen most.
    public struct NDP: VerdictRule {
        public static let name = "ndp"
        public static func selected(by spec: LabSpec) -> Self? {
            spec.expect.arp == .dispatcherOnly && spec.trafficVIPFamily == .ipv6 ? Self() : nil
        }

        public func judge(_ run: AnalyzedRun) -> RuleVerdict {
            guard let t = run.target else { return RuleVerdict(rule: Self.name, passed: false, summary: run.problem ?? "", evidence: []) }
            let vip = t.vip
            // Per sender MAC: solicited advertisements (answers), and the rest that claims the VIP.
            var answers: [MAC48: Int] = [:]
            var others: [MAC48: Int] = [:]
            var unknownAnswers: [MAC48: [String: Int]] = [:]
            var unknownOthers: [MAC48: [String: Int]] = [:]
            var solicitations = 0
            for (name, point) in run.points {
                for (i, p) in point.packets.enumerated() where p.isNDP {
                    guard let m = point.withBytes(of: i, { FrameDecoder.ndp($0, p) }), WireAddress(m.target) == vip || p.source == vip else { continue }
                    let owner = run.ownerByMAC[p.sourceMAC]
                    if let o = owner, run.facts.nodes[o.node].interfaces[o.interface].point != name { continue }
                    // A solicitation for the VIP from another address asks; it claims nothing.
                    if !m.isAdvertisement && p.source != vip {
                        if owner.map({ run.facts.nodes[$0.node].name == t.client.name }) ?? false { solicitations += 1 }
                        continue
                    }
                    let answer = m.isAdvertisement && m.flags & 0x40 != 0
                    if owner != nil {
                        if answer { answers[p.sourceMAC, default: 0] += 1 } else { others[p.sourceMAC, default: 0] += 1 }
                    } else if answer {
                        unknownAnswers[p.sourceMAC, default: [:]][name, default: 0] += 1
                    } else {
                        unknownOthers[p.sourceMAC, default: [:]][name, default: 0] += 1
                    }
                }
            }
            for (mac, per) in unknownAnswers { answers[mac, default: 0] += per.values.max() ?? 0 }
            for (mac, per) in unknownOthers { others[mac, default: 0] += per.values.max() ?? 0 }

            func order(_ m: MAC48) -> (Int, String, UInt64) { (run.ownerByMAC[m] == nil ? 1 : 0, run.label(m), m.value) }
            func list(_ d: [MAC48: Int]) -> String {
                d.isEmpty ? "none" : d.sorted { order($0.key) < order($1.key) }.map { "\(run.label($0.key)) x\($0.value)" }.joined(separator: ", ")
            }
            let dispatcherMACs = AnalyzedRun.macs(of: t.dispatcher)
            let dispatcherAnswers = answers.filter { dispatcherMACs.contains($0.key) }.values.reduce(0, +)
            let intruders = Set(answers.keys).union(others.keys).subtracting(dispatcherMACs).sorted { order($0) < order($1) }
            var evidence = ["neighbour solicitations for VIP \(vip) from client \(t.client.name): \(solicitations)",
                            "solicited neighbour advertisements for VIP \(vip): \(list(answers))",
                            "other NDP claiming \(vip) (unsolicited advertisements, solicitations from it): \(list(others))"]
            let missing = run.missingPoints([t.dispatcher])
            if !missing.isEmpty { evidence.append("no capture for the dispatcher point \(missing.joined(separator: ", "))") }
            let passed = dispatcherAnswers > 0 && intruders.isEmpty
            let summary: String
            if passed {
                summary = "only \(t.dispatcher.name) answers neighbour solicitations (NDP) for \(vip) (x\(dispatcherAnswers))"
            } else {
                var parts: [String] = []
                if dispatcherAnswers == 0 {
                    parts.append("no neighbour advertisement for \(vip) from \(t.dispatcher.name) was seen (was the client's neighbour cache flushed?)")
                }
                if !intruders.isEmpty {
                    parts.append("NDP for \(vip) also from " + intruders.map(run.label).joined(separator: ", ")
                                 + " (NDP flux: a real server holds the VIP on a segment interface; keep it on lo)")
                }
                summary = parts.joined(separator: "; ")
            }
            return RuleVerdict(rule: Self.name, passed: passed, summary: summary, evidence: evidence)
        }
    }
}
