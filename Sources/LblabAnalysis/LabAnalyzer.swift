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
