import LblabTypes

// The `arp` rule: only the dispatcher answers ARP for the VIP.
extension LabAnalyzer {
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
        // The ARP frames with sender IP = VIP, decoded in full (a handful, so MACAddress values are fine).
        var arps: [(point: String, arp: ARPPacket)] = []
        for (point, p) in run.points {
            p.frames.bytes.withUnsafeBytes { all in
                for (i, packet) in p.packets.enumerated() where packet.kind == .arp && packet.source == facts.vip {
                    arps.append((point, FrameDecoder.arp(UnsafeRawBufferPointer(rebasing: all[p.frames.range(of: i)]), packet)))
                }
            }
        }
        for (point, a) in arps {
            if let owner = run.nodeName(for: MAC48(a.senderMAC)) {
                guard owner == point else { continue }  // counted once, at the sender's own point
                if a.isReply { replies[a.senderMAC, default: 0] += 1 } else { others[a.senderMAC, default: 0] += 1 }
            } else if a.isReply {
                unknownReplies[a.senderMAC, default: [:]][point, default: 0] += 1
            } else {
                unknownOthers[a.senderMAC, default: [:]][point, default: 0] += 1
            }
        }
        for (mac, per) in unknownReplies { replies[mac, default: 0] += per.values.max() ?? 0 }
        for (mac, per) in unknownOthers { others[mac, default: 0] += per.values.max() ?? 0 }

        func list(_ d: [MACAddress: Int]) -> String {
            if d.isEmpty { return "none" }
            return d.sorted { (run.nodeName(for: MAC48($0.key)) ?? "~", $0.key.description) < (run.nodeName(for: MAC48($1.key)) ?? "~", $1.key.description) }
                .map { "\(run.label(MAC48($0.key))) x\($0.value)" }.joined(separator: ", ")
        }
        let dispReplies = replies[disp.mac] ?? 0
        let intruders = Set(replies.keys).union(others.keys).subtracting([disp.mac])
            .sorted { run.label(MAC48($0)) < run.label(MAC48($1)) }
        var evidence = ["ARP replies for VIP \(facts.vip): \(list(replies))",
                        "other ARP with sender \(facts.vip) (requests, announcements): \(list(others))"]
        if run.points[disp.name] == nil { evidence.append("no capture for the dispatcher point \(disp.name)") }
        let passed = dispReplies > 0 && intruders.isEmpty
        let summary: String
        if passed { summary = "only \(disp.name) answers ARP for \(facts.vip) (x\(dispReplies))" }
        else {
            var parts: [String] = []
            if dispReplies == 0 { parts.append("no ARP reply for \(facts.vip) from \(disp.name) was seen (was the client's neighbour cache flushed?)") }
            if !intruders.isEmpty { parts.append("ARP for \(facts.vip) also from " + intruders.map { run.label(MAC48($0)) }.joined(separator: ", ") + " (ARP flux)") }
            summary = parts.joined(separator: "; ")
        }
        return RuleVerdict(rule: "arp", passed: passed, summary: summary, evidence: evidence)
    }

}
