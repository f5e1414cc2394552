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
        analyze(facts: facts, captures: captures.mapValues { RawFrames($0.map { RawFrame(timestamp: $0.timestamp, bytes: $0.bytes) }) },
                outcomes: outcomes, expectations: expectations)
    }

    public static func analyze(facts: LabFacts, captures: [String: [RawFrame]],
                               outcomes: [ConnectionOutcome], expectations: Expectations) -> AnalysisReport {
        analyze(facts: facts, captures: captures.mapValues { RawFrames($0) }, outcomes: outcomes, expectations: expectations)
    }

    /// Decodes every frame once, indexes the frames of each capture point by client flow once, then
    /// runs the rules on that index: the time is linear in frames and flows.
    public static func analyze(facts: LabFacts, captures: [String: RawFrames],
                               outcomes: [ConnectionOutcome], expectations: Expectations) -> AnalysisReport {
        let run = Run(facts: facts, captures: captures)

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

    /// One capture point: its frames, each decoded once, and the frames of each client flow.
    struct Point {
        let frames: RawFrames
        let packets: [Packet]
        /// The flow of each frame (its number), -1 for frames of no client flow.
        let flow: [Int32]
        /// The frames of flow `f` (by number, see `Run.flows`) are `order[start[f] ..< start[f + 1]]`,
        /// in capture order (a counting sort of the frames by flow).
        let start: [Int32]
        let order: [Int32]

        init(frames: RawFrames, flowCount: Int, flowOf: (Packet) -> Int32?) {
            self.frames = frames
            var packets: [Packet] = []
            packets.reserveCapacity(frames.count)
            var flow: [Int32] = []
            flow.reserveCapacity(frames.count)
            var counts = [Int32](repeating: 0, count: flowCount + 1)
            frames.bytes.withUnsafeBytes { all in
                for i in 0..<frames.count {
                    let p = Packet(UnsafeRawBufferPointer(rebasing: all[frames.range(of: i)]))
                    packets.append(p)
                    let f = flowOf(p) ?? -1
                    flow.append(f)
                    if f >= 0 { counts[Int(f) + 1] += 1 }
                }
            }
            for f in 0..<flowCount { counts[f + 1] += counts[f] }
            var next = counts
            var order = [Int32](repeating: 0, count: Int(counts[flowCount]))
            for (i, f) in flow.enumerated() where f >= 0 {
                order[Int(next[Int(f)])] = Int32(i)
                next[Int(f)] += 1
            }
            self.packets = packets
            self.flow = flow
            self.start = counts
            self.order = order
        }

        /// The packets of flow `f` at this point.
        func packets(of f: Int) -> FlowPackets { FlowPackets(packets: packets, order: order[Int(start[f])..<Int(start[f + 1])]) }
    }

    /// The packets of one flow at one point, in capture order.
    struct FlowPackets: RandomAccessCollection {
        let packets: [Packet]
        let order: ArraySlice<Int32>
        var startIndex: Int { order.startIndex }
        var endIndex: Int { order.endIndex }
        subscript(i: Int) -> Packet { packets[Int(order[i])] }
    }

    struct Run {
        let facts: LabFacts
        let points: [String: Point]
        /// Client flows in order of their first SYN on the client's point; a flow's number is its index.
        let flows: [FlowID]
        /// Per flow: the first real server (index into `facts.realServers`) whose own point saw the
        /// flow's SYN addressed to its own MAC, -1 for none.
        let firstReceiver: [Int32]
        /// The flows more than one real server received, with all of them (in `facts.realServers` order).
        let severalReceivers: [Int: [Int]]
        /// The lab's nodes by MAC (the first node listed wins if two share one).
        let nodeByMAC: [MAC48: String]
        /// The real servers (indices into `facts.realServers`) by MAC (the first listed wins).
        let realServerIndex: [MAC48: Int]

        init(facts: LabFacts, captures: [String: RawFrames]) {
            self.facts = facts
            let vip = facts.vip, port = facts.port
            var byMAC: [MAC48: String] = [:]
            for h in [facts.client, facts.dispatcher] + facts.realServers where byMAC[MAC48(h.mac)] == nil {
                byMAC[MAC48(h.mac)] = h.name
            }
            nodeByMAC = byMAC
            var rsByMAC: [MAC48: Int] = [:]
            for (i, rs) in facts.realServers.enumerated() where rsByMAC[MAC48(rs.mac)] == nil { rsByMAC[MAC48(rs.mac)] = i }
            realServerIndex = rsByMAC

            // Flows: the client's SYNs to VIP:port on its own point.
            var number: [FlowID: Int32] = [:]
            var flows: [FlowID] = []
            if let client = captures[facts.client.name] {
                client.bytes.withUnsafeBytes { all in
                    for i in 0..<client.count {
                        let p = Packet(UnsafeRawBufferPointer(rebasing: all[client.range(of: i)]))
                        guard p.isInitialSYN, p.source == facts.client.address, p.destination == vip, p.destinationPort == port else { continue }
                        let id = FlowID(client: p.source, port: p.sourcePort)
                        if number[id] == nil {
                            number[id] = Int32(flows.count)
                            flows.append(id)
                        }
                    }
                }
            }
            self.flows = flows

            // Every frame of a flow, at every point: towards VIP:port from the flow's client
            // address and port, or from VIP:port back to them.
            func flowOf(_ p: Packet) -> Int32? {
                guard p.kind == .tcp else { return nil }
                if p.destination == vip && p.destinationPort == port {
                    return number[FlowID(client: p.source, port: p.sourcePort)]
                }
                if p.source == vip && p.sourcePort == port {
                    return number[FlowID(client: p.destination, port: p.destinationPort)]
                }
                return nil
            }
            var points: [String: Point] = [:]
            for (name, frames) in captures { points[name] = Point(frames: frames, flowCount: flows.count, flowOf: flowOf) }
            self.points = points

            var first = [Int32](repeating: -1, count: flows.count)
            var several: [Int: [Int]] = [:]
            for (r, rs) in facts.realServers.enumerated() {
                guard let point = points[rs.name] else { continue }
                let mac = MAC48(rs.mac)
                for (i, p) in point.packets.enumerated() {
                    let f = Int(point.flow[i])
                    guard f >= 0, p.destinationMAC == mac, Self.isSYN(p, vip: vip, port: port) else { continue }
                    let known = first[f]
                    if known < 0 { first[f] = Int32(r) }
                    else if known != r && several[f]?.last != r { several[f, default: [Int(known)]].append(r) }
                }
            }
            firstReceiver = first
            severalReceivers = several
        }

        /// All packets of a point (empty when it was not captured).
        func packets(_ point: String) -> [Packet] { points[point]?.packets ?? [] }

        /// The packets of flow `f` at `point` (empty when it was not captured).
        func packets(_ point: String, flow f: Int) -> FlowPackets {
            points[point]?.packets(of: f) ?? FlowPackets(packets: [], order: [])
        }

        /// The client's connection request of a flow, towards VIP:port (only such frames and the
        /// flow's replies are indexed under a flow).
        func isSYN(_ p: Packet) -> Bool { Self.isSYN(p, vip: facts.vip, port: facts.port) }

        static func isSYN(_ p: Packet, vip: IPv4Address, port: UInt16) -> Bool {
            p.isInitialSYN && p.destination == vip && p.destinationPort == port
        }

        /// Anything from VIP:port back to the flow's client.
        func isReply(_ p: Packet) -> Bool { p.kind == .tcp && p.source == facts.vip && p.sourcePort == facts.port }

        /// Real servers whose own point saw flow `f`'s SYN addressed to their own MAC.
        func receivingServers(_ f: Int) -> [LabHost] {
            if let all = severalReceivers[f] { return all.map { facts.realServers[$0] } }
            return firstReceiver[f] < 0 ? [] : [facts.realServers[Int(firstReceiver[f])]]
        }

        func nodeName(for mac: MAC48) -> String? { nodeByMAC[mac] }

        func label(_ mac: MAC48) -> String {
            nodeName(for: mac).map { "\($0) \(mac.address)" } ?? "unknown \(mac.address)"
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
