import Foundation
import LblabModel
import LblabTypes

/// The verdicts of a redundant dispatcher (a VRRP lab, `labs/dr-vrrp.yaml`):
/// - `vrrp`: before the fault exactly one dispatcher, the configured primary, held the VIP and
///   answered for it (equal priorities leave no primary; different router ids make two MASTERs);
/// - `takeover`: after the primary's fault a backup sent gratuitous ARP for the VIP, within
///   VRRP's bound (3 × advert_int + skew, plus a second), and held it at the end;
/// - `neighbour`: the client's neighbour entry for the VIP moved from the primary's MAC to the backup's;
/// - `failover`: the failover time (fault to first gratuitous ARP, to first answered connection)
///   and the connections lost; every connection opened after the takeover succeeds;
/// - `sync`: with `sync: true` each dispatcher ran its sync daemon and every connection held
///   across the failover answered its second request; without, how many did.
public enum VRRPRules {
    /// Seconds allowed after the takeover bound for the first connection to get through.
    public static let grace = 1.0

    public static func judge(_ o: VRRPObservation, announcements: [VIPAnnouncement], outcomes: [ConnectionOutcome]) -> [RuleVerdict] {
        var verdicts = [election(o, announcements)]
        if o.faultAt != nil {
            verdicts += [takeover(o, announcements), neighbour(o), failover(o, announcements, outcomes)]
        } else if let planned = o.faultPlanned {
            // The lab asked for a failover and none happened: nothing here may pass for one.
            let why = "the fault \(planned) was never applied: " + (o.faultFailure ?? "the traffic ended before it")
            verdicts += ["takeover", "failover"].map { RuleVerdict(rule: $0, passed: false, summary: why, evidence: []) }
        }
        verdicts.append(sync(o, outcomes))
        return verdicts
    }

    static func name(_ mac: MACAddress, _ o: VRRPObservation) -> String { o.peer(withMAC: mac)?.name ?? "\(mac) (no dispatcher)" }

    static func seconds(_ s: Double) -> String { String(format: "%.2f s", s) }

    static func list(_ names: [String]) -> String { names.isEmpty ? "none" : names.joined(separator: ", ") }

    /// Who answered for the VIP (replies and announcements) in `[from, to)`, by sender, in order of first appearance.
    static func senders(_ a: [VIPAnnouncement], from: Double = -.infinity, to: Double = .infinity) -> [MACAddress] {
        var out: [MACAddress] = []
        for x in a where x.at >= from && x.at < to && !out.contains(x.senderMAC) { out.append(x.senderMAC) }
        return out
    }

    // MARK: - vrrp

    static func election(_ o: VRRPObservation, _ a: [VIPAnnouncement]) -> RuleVerdict {
        let rule = "vrrp"
        let top = o.peers.map(\.priority).max() ?? 0
        let tied = o.peers.filter { $0.priority == top }
        let holders = o.peers.filter(\.heldBefore)
        let answering = senders(a, to: o.faultAt ?? .infinity)
        var evidence = [
            "peers: " + o.peers.map { "\($0.name) priority \($0.priority) router id \($0.routerID)" }.joined(separator: ", "),
            "VIP \(o.vip) held before the fault by: " + (holders.isEmpty ? "none" : holders.map(\.name).joined(separator: ", ")),
            "answered ARP for \(o.vip) before the fault: " + (answering.isEmpty ? "none" : answering.map { name($0, o) }.joined(separator: ", ")),
        ]
        var problems: [String] = []
        let routerIDs = Set(o.peers.map(\.routerID))
        if routerIDs.count > 1 {
            problems.append("the dispatchers have different virtual_router_ids (" + o.peers.map { "\($0.name) \($0.routerID)" }.joined(separator: ", ")
                            + "): they are separate virtual routers that ignore each other's adverts, so each is MASTER")
        }
        if tied.count > 1 {
            problems.append("priorities are equal (" + tied.map { "\($0.name) \($0.priority)" }.joined(separator: ", ")
                            + "): no dispatcher is the primary, VRRP breaks the tie by the higher address"
                            + (holders.count == 1 ? ", so \(holders[0].name) became MASTER" : ""))
        }
        if holders.count > 1 { problems.append("\(holders.count) dispatchers hold the VIP at once (" + holders.map(\.name).joined(separator: ", ") + "): two MASTERs") }
        if holders.isEmpty { problems.append("no dispatcher holds the VIP: keepalived never became MASTER anywhere") }
        let dispatcherSenders = answering.filter { o.peer(withMAC: $0) != nil }
        if dispatcherSenders.count > 1 {
            problems.append("ARP for \(o.vip) came from \(dispatcherSenders.count) dispatchers (" + dispatcherSenders.map { name($0, o) }.joined(separator: ", ")
                            + "): the client's neighbour entry follows whichever spoke last")
        }
        if tied.count == 1, holders.count == 1, holders[0].name != tied[0].name {
            problems.append("the VIP is on \(holders[0].name), not on the primary \(tied[0].name) (priority \(top))")
        }
        if problems.isEmpty, let p = holders.first {
            return RuleVerdict(rule: rule, passed: true, summary: "\(p.name) (priority \(p.priority)) is the only MASTER and holds \(o.vip); router id \(p.routerID) on every peer",
                               evidence: evidence)
        }
        evidence.append(contentsOf: problems.dropFirst())
        return RuleVerdict(rule: rule, passed: false, summary: problems[0], evidence: evidence)
    }

    // MARK: - takeover

    /// The first gratuitous ARP for the VIP after the fault from a peer other than the faulted one.
    static func firstTakeoverGARP(_ o: VRRPObservation, _ a: [VIPAnnouncement]) -> (VIPAnnouncement, VRRPObservation.Peer)? {
        guard let at = o.faultAt else { return nil }
        for x in a where x.at >= at && x.gratuitous {
            if let p = o.peer(withMAC: x.senderMAC), p.name != o.faultNode { return (x, p) }
        }
        return nil
    }

    /// VRRP's longest silence before a BACKUP takes over: 3 × advert_int + skew ((256 - priority) / 256 × advert_int).
    static func bound(_ p: VRRPObservation.Peer) -> Double {
        let advert = Double(p.advertInterval)
        return 3 * advert + Double(256 - p.priority) / 256 * advert
    }

    static func takeover(_ o: VRRPObservation, _ a: [VIPAnnouncement]) -> RuleVerdict {
        let rule = "takeover"
        let at = o.faultAt ?? 0
        let garps = a.filter { $0.gratuitous && $0.at >= at }
        var evidence = ["fault: \(o.faultNode ?? "?") down at \(seconds(at))",
                        "gratuitous ARP for \(o.vip) after it: " + (garps.isEmpty ? "none"
                            : garps.prefix(8).map { "\(name($0.senderMAC, o)) at \(seconds($0.at))" }.joined(separator: ", ") + (garps.count > 8 ? ", ..." : "")),
                        "VIP held at the end by: " + list(o.peers.filter(\.heldAfter).map(\.name))]
        guard let (g, p) = firstTakeoverGARP(o, a) else {
            return RuleVerdict(rule: rule, passed: false, summary: "no backup announced \(o.vip) with gratuitous ARP after \(o.faultNode ?? "the fault") went down",
                               evidence: evidence)
        }
        let took = g.at - at
        let limit = bound(p) + grace
        evidence.append("bound: 3 × advert_int + skew = \(seconds(bound(p))) for \(p.name), plus \(seconds(grace))")
        var problems: [String] = []
        if took > limit { problems.append("\(p.name) announced \(o.vip) \(seconds(took)) after the fault, later than \(seconds(limit))") }
        if !p.heldAfter { problems.append("\(p.name) announced \(o.vip) but did not hold it at the end") }
        let others = o.peers.filter { $0.heldAfter && $0.name != p.name }
        if !others.isEmpty { problems.append("the VIP is also on " + others.map(\.name).joined(separator: ", ") + " at the end") }
        if problems.isEmpty {
            return RuleVerdict(rule: rule, passed: true, summary: "\(p.name) took \(o.vip) over: gratuitous ARP \(seconds(took)) after \(o.faultNode ?? "the fault") went down",
                               evidence: evidence)
        }
        return RuleVerdict(rule: rule, passed: false, summary: problems.joined(separator: "; "), evidence: evidence)
    }

    // MARK: - neighbour

    static func neighbour(_ o: VRRPObservation) -> RuleVerdict {
        let rule = "neighbour"
        let primary = o.peers.first { $0.name == o.faultNode } ?? o.peers.first
        let backups = o.peers.filter { $0.name != primary?.name }
        func show(_ m: MACAddress?) -> String { m.map { "\($0) (\(name($0, o)))" } ?? "none" }
        let evidence = ["client's entry for \(o.vip) before the fault: \(show(o.neighbourBefore))", "after the traffic: \(show(o.neighbourAfter))"]
        var problems: [String] = []
        if o.neighbourBefore == nil || o.neighbourBefore != primary?.mac {
            problems.append("before the fault the client's entry for \(o.vip) was \(show(o.neighbourBefore)), not \(primary?.name ?? "the primary")'s MAC")
        }
        if let after = o.neighbourAfter, backups.contains(where: { $0.mac == after }) {} else {
            problems.append("after the failover the client's entry for \(o.vip) is \(show(o.neighbourAfter)), not a backup's MAC")
        }
        if problems.isEmpty {
            return RuleVerdict(rule: rule, passed: true, summary: "the client's entry for \(o.vip) moved from \(show(o.neighbourBefore)) to \(show(o.neighbourAfter))",
                               evidence: evidence)
        }
        return RuleVerdict(rule: rule, passed: false, summary: problems.joined(separator: "; "), evidence: evidence)
    }

    // MARK: - failover

    /// The numbers of a failover, for the report and the rule.
    public struct Failover: Sendable, Equatable {
        /// Fault to the first gratuitous ARP from a backup, and to the answer of the first connection
        /// opened after the fault that was answered (its start plus its latency).
        public var toAnnouncement: Double?
        public var toFirstSuccess: Double?
        /// Connections opened after the fault that failed; held connections whose second request failed.
        public var lostNew: Int
        public var lostHeld: Int
        public var survivedHeld: Int
        /// The longest silence the client saw around the fault: the longest gap between two answers
        /// in a row (answer times: start + latency) that ends after the fault.
        public var outage: Double?
    }

    public static func measure(_ o: VRRPObservation, _ a: [VIPAnnouncement], _ outcomes: [ConnectionOutcome]) -> Failover {
        let at = o.faultAt ?? .infinity
        let after = outcomes.filter { ($0.start ?? -1) >= at }
        let firstOK = after.filter { $0.error == nil }.compactMap { o in o.start.map { $0 + o.latency } }.min()
        let held = outcomes.filter { $0.reused != nil && $0.error == nil && ($0.start ?? .infinity) < at && ($0.reused?.at ?? -1) >= at }
        let survived = held.filter { $0.reused?.server != nil && $0.reused?.server == $0.server }.count
        let answers = outcomes.filter { $0.error == nil && $0.reused == nil }.compactMap { o in o.start.map { $0 + o.latency } }.sorted()
        let gaps = zip(answers, answers.dropFirst()).filter { $0.1 >= at }.map { $0.1 - $0.0 }
        return Failover(toAnnouncement: firstTakeoverGARP(o, a).map { $0.0.at - at }, toFirstSuccess: firstOK.map { $0 - at },
                        lostNew: after.filter { $0.error != nil }.count, lostHeld: held.count - survived, survivedHeld: survived,
                        outage: gaps.max())
    }

    static func failover(_ o: VRRPObservation, _ a: [VIPAnnouncement], _ outcomes: [ConnectionOutcome]) -> RuleVerdict {
        let rule = "failover"
        let at = o.faultAt ?? 0
        let m = measure(o, a, outcomes)
        let after = outcomes.filter { ($0.start ?? -1) >= at }
        let settled = at + (m.toAnnouncement ?? 0) + grace
        let lateFailures = after.filter { $0.error != nil && ($0.start ?? 0) >= settled }
        var evidence = ["fault to first gratuitous ARP: " + (m.toAnnouncement.map(seconds) ?? "none"),
                        "fault to first answered connection: " + (m.toFirstSuccess.map(seconds) ?? "none"),
                        "longest gap between two answers after the fault: " + (m.outage.map(seconds) ?? "none"),
                        "\(after.count) connections opened after the fault, \(m.lostNew) failed; held across it: \(m.survivedHeld) survived, \(m.lostHeld) lost"]
        let examples = lateFailures.prefix(3).map { "\($0.client):\($0.localPort) at \(seconds($0.start ?? 0)): \($0.error ?? "")" }
        evidence += RuleVerdict.examples(Array(examples), count: lateFailures.count, of: "failures after the takeover settled")
        var problems: [String] = []
        // Before the fault the primary serves: every connection opened then succeeds.
        let early = outcomes.filter { ($0.start ?? -1) < at && $0.error != nil }
        if !early.isEmpty {
            problems.append("\(early.count) connections opened before the fault failed, e.g. " + early.prefix(3).map { "\($0.client):\($0.localPort) at \(seconds($0.start ?? 0)): \($0.error ?? "")" }.joined(separator: "; "))
        }
        if after.isEmpty { problems.append("no connection was opened after the fault: the traffic ended before it") }
        if m.toFirstSuccess == nil, !after.isEmpty { problems.append("no connection opened after the fault was answered") }
        if m.toAnnouncement == nil { problems.append("no backup announced the VIP") }
        if !lateFailures.isEmpty { problems.append("\(lateFailures.count) connections opened after the takeover (\(seconds(settled)) on) failed") }
        let numbers = "failover \(m.toAnnouncement.map(seconds) ?? "-") to gratuitous ARP, \(m.toFirstSuccess.map(seconds) ?? "-") to the first answer, "
            + "longest gap between answers \(m.outage.map(seconds) ?? "-"); "
            + "\(m.lostNew) new connections lost, \(m.lostHeld) held lost"
        if problems.isEmpty { return RuleVerdict(rule: rule, passed: true, summary: "traffic continues: " + numbers, evidence: evidence) }
        evidence.insert(numbers, at: 0)
        return RuleVerdict(rule: rule, passed: false, summary: problems.joined(separator: "; "), evidence: evidence)
    }

    // MARK: - sync

    static func sync(_ o: VRRPObservation, _ outcomes: [ConnectionOutcome]) -> RuleVerdict {
        let rule = "sync"
        let held = outcomes.filter { $0.reused != nil && $0.error == nil && ($0.start ?? .infinity) < (o.faultAt ?? -.infinity) }
        let survived = held.filter { $0.reused?.server != nil && $0.reused?.server == $0.server }
        let lost = held.filter { !($0.reused?.server != nil && $0.reused?.server == $0.server) }
        var evidence = o.peers.map { "\($0.name): sync daemons " + ($0.syncDaemons.isEmpty ? "none" : $0.syncDaemons.map(\.rawValue).joined(separator: ", ")) }
        evidence += RuleVerdict.examples(lost.prefix(3).map { "\($0.client):\($0.localPort) (first answer from \($0.server ?? "-")): \($0.reused?.error ?? "answered by \($0.reused?.server ?? "-")")" },
                                         count: lost.count, of: "held connections lost")
        let counts = "\(survived.count) of \(held.count) connections held across the failover answered their second request"
        guard o.syncExpected else {
            return RuleVerdict(rule: rule, passed: true, summary: "sync off (not expected): " + counts, evidence: evidence)
        }
        var problems: [String] = []
        let without = o.peers.filter(\.syncDaemons.isEmpty)
        if !without.isEmpty {
            problems.append("sync expected but not running on " + without.map(\.name).joined(separator: ", ") + " (no IPVS sync daemon in its namespace)")
        }
        if o.faultAt != nil {
            if held.isEmpty { problems.append("no connection was held across the failover (a phase with hold and reuse opened before the fault)") }
            if !lost.isEmpty { problems.append("\(lost.count) of \(held.count) connections held across the failover were lost") }
        }
        if problems.isEmpty { return RuleVerdict(rule: rule, passed: true, summary: "sync on: " + counts, evidence: evidence) }
        return RuleVerdict(rule: rule, passed: false, summary: problems.joined(separator: "; "), evidence: evidence)
    }
}
