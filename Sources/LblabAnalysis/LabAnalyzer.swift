import LblabModel
import LblabTypes

/// A client connection, by its 5-tuple as the client sent it: protocol, the client's address and
/// port, the service's address and port.
public struct FlowID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var proto: TransportProtocol
    public var client: IPAddress
    public var clientPort: UInt16
    public var service: IPAddress
    public var servicePort: UInt16

    public init(proto: TransportProtocol, client: IPAddress, clientPort: UInt16, service: IPAddress, servicePort: UInt16) {
        self.proto = proto
        self.client = client
        self.clientPort = clientPort
        self.service = service
        self.servicePort = servicePort
    }

    /// The client's end (`198.51.100.10:2000`): what tells the flows of one run apart.
    public var description: String { client.withPort(clientPort) }

    public static func < (l: Self, r: Self) -> Bool {
        (l.client, l.clientPort, l.service, l.servicePort) < (r.client, r.clientPort, r.service, r.servicePort)
    }
}

/// Turns a run (the lab, the kernel's facts, the captures and the client's outcomes) into verdicts.
///
/// Capture points are switch ports, one per lab interface (`RunFacts` says whose); each holds every
/// frame that interface sent or received, plus any frame the switch flooded to it. Every frame is
/// decoded once and indexed by client flow once, so the work is linear in frames and flows.
/// `RuleCatalog` chooses the rules from the lab; no rule passes on an empty run.
public enum LabAnalyzer {
    public static let unseen = "(unseen)"
    public static let several = "(several)"

    public static func analyze(_ record: RunRecord, captures: [String: RawFrames]) -> AnalysisReport {
        analyze(spec: record.spec, facts: record.facts, outcomes: record.outcomes, captures: captures, health: record.health)
    }

    public static func analyze(spec: LabSpec, facts: RunFacts, outcomes: [ConnectionOutcome], captures: [String: [RawFrame]],
                               health: HealthTimeline? = nil) -> AnalysisReport {
        analyze(spec: spec, facts: facts, outcomes: outcomes, captures: captures.mapValues { RawFrames($0) }, health: health)
    }

    public static func analyze(spec: LabSpec, facts: RunFacts, outcomes: [ConnectionOutcome], captures: [String: RawFrames],
                               health: HealthTimeline? = nil) -> AnalysisReport {
        let services = Self.services(of: outcomes)
        if services.count > 1 {
            return analyzePerService(spec: spec, facts: facts, outcomes: outcomes, captures: captures, services: services, health: health)
        }
        let run = AnalyzedRun(spec: spec, facts: facts, outcomes: outcomes, captures: captures, health: health)
        let verdicts = RuleCatalog.rules(for: spec).map { rule in
            if let problem = run.problem {
                return RuleVerdict(rule: type(of: rule).name, passed: false, summary: problem, evidence: [])
            }
            return rule.judge(run)
        }
        let tables = run.distributionTables()
        return AnalysisReport(verdicts: verdicts, fromClient: tables.fromClient, fromCapture: tables.fromCapture,
                              sent: outcomes.count, answered: outcomes.filter { $0.server != nil }.count,
                              failed: outcomes.filter { $0.server == nil }.count)
    }
}

/// One run as the rules see it: the lab, the traffic's target, every capture point's frames decoded
/// once, and the frames of each client flow at each point.
public struct AnalyzedRun: Sendable {
    let spec: LabSpec
    let facts: RunFacts
    let outcomes: [ConnectionOutcome]
    /// IPVS's servers over time and the faults applied (runs with health checks or faults).
    let health: HealthTimeline?
    /// Where the traffic went; `nil` when the run cannot be judged (then `problem` says why).
    let target: Target?
    let problem: String?
    let points: [String: Point]
    /// Client flows in order of their first SYN on the client's points; a flow's number is its index.
    let flows: [FlowID]
    /// The client end of each flow, and the flow by its client end.
    let flowClient: [Endpoint]
    let flowNumber: [Endpoint: Int32]
    /// The lab's interfaces on a segment, by MAC and by capture point (the first listed wins).
    let ownerByMAC: [MAC48: Owner]
    let ownerByPoint: [String: Owner]
    /// Per flow, the first real server (index into `target.servers`) whose own point saw the flow's SYN
    /// arrive on its own MAC (and how); the flows several servers received, with all of them.
    let firstDelivery: [Delivery]
    let moreDeliveries: [Int: [Delivery]]

    /// The traffic's service and the nodes that take part in it.
    struct Target: Sendable {
        let service: ServiceSpec
        /// The VIP, IPv4 or IPv6: the family of the run's flows.
        let vip: WireAddress
        let port: UInt16
        let client: NodeFacts
        let dispatcher: NodeFacts
        /// The service's real servers, in the service's order.
        let servers: [NodeFacts]
    }

    /// An interface of a lab node: indices into `facts.nodes` and that node's interfaces.
    struct Owner: Sendable {
        let node: Int
        let interface: Int
    }

    /// An address (IPv4 or IPv6) and port: one end of a flow; with one-packet scheduling (UDP), one
    /// datagram of that end (its number), else -1.
    struct Endpoint: Hashable, Sendable {
        let address: WireAddress
        let port: UInt16
        var datagram: Int32 = -1
    }

    /// One-packet scheduling (UDP, `-o`): IPVS schedules each datagram on its own, so each is a
    /// flow of its own (its number in the payload tells those of one socket apart).
    let perDatagram: Bool

    /// How a real server received a flow's SYN.
    enum Form: UInt8, Sendable {
        /// Destination the VIP (LVS-DR: only the destination MAC changed).
        case direct
        /// Destination the server's own address (LVS-NAT).
        case translated
        /// IP-in-IP with the outer destination the server's address (LVS-TUN).
        case tunnelled

        var text: String {
            switch self {
            case .direct: "to the VIP"
            case .translated: "to its own address"
            case .tunnelled: "tunnelled (IP-in-IP)"
            }
        }
    }

    struct Delivery: Sendable, Equatable {
        /// Index into `target.servers`, -1 for none.
        let server: Int
        let form: Form
        static let none = Delivery(server: -1, form: .direct)
    }

    /// One capture point: its frames, each decoded once, and the frames of each client flow.
    struct Point: Sendable {
        let frames: RawFrames
        let packets: [Packet]
        /// The flow of each frame (its number), -1 for frames of no client flow.
        let flow: [Int32]
        /// The frames of flow `f` are `order[start[f] ..< start[f + 1]]`, in capture order (a
        /// counting sort of the frames by flow).
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

        /// Calls `body` with frame `i`'s bytes.
        func withBytes<R>(of i: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
            frames.bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[frames.range(of: i)])) }
        }
    }

    /// The packets of one flow at one point, in capture order.
    struct FlowPackets: RandomAccessCollection {
        let packets: [Packet]
        let order: ArraySlice<Int32>
        var startIndex: Int { order.startIndex }
        var endIndex: Int { order.endIndex }
        subscript(i: Int) -> Packet { packets[Int(order[i])] }
    }

    init(spec: LabSpec, facts: RunFacts, outcomes: [ConnectionOutcome], captures: [String: RawFrames], health: HealthTimeline? = nil) {
        self.health = health
        self.spec = spec
        self.facts = facts
        self.outcomes = outcomes

        var byMAC: [MAC48: Owner] = [:]
        var byPoint: [String: Owner] = [:]
        for (n, node) in facts.nodes.enumerated() {
            for (i, interface) in node.interfaces.enumerated() where interface.point != nil {
                if let mac = interface.mac, byMAC[MAC48(mac)] == nil { byMAC[MAC48(mac)] = Owner(node: n, interface: i) }
                if let point = interface.point, byPoint[point] == nil { byPoint[point] = Owner(node: n, interface: i) }
            }
        }
        ownerByMAC = byMAC
        ownerByPoint = byPoint

        let resolved = Self.target(spec: spec, facts: facts, clients: outcomes.map(\.client))
        target = resolved.target
        problem = resolved.problem
        let perDatagram = resolved.target.map { $0.service.proto == .udp && $0.service.onePacket == true } ?? false
        self.perDatagram = perDatagram

        // Flows: the client's SYNs to VIP:port on the client's own points.
        var number: [Endpoint: Int32] = [:]
        var flows: [FlowID] = []
        var flowClient: [Endpoint] = []
        if let t = resolved.target {
            let own = Set(t.client.addresses.map(WireAddress.init))
            for point in Self.points(of: t.client) {
                guard let frames = captures[point] else { continue }
                frames.bytes.withUnsafeBytes { all in
                    for i in 0..<frames.count {
                        let p = Packet(UnsafeRawBufferPointer(rebasing: all[frames.range(of: i)]))
                        guard p.isPlainTCP, p.isInitialSYN, own.contains(p.innerSource), p.innerDestination == t.vip,
                              p.destinationPort == t.port else { continue }
                        let end = Endpoint(address: p.innerSource, port: p.sourcePort, datagram: perDatagram ? p.datagram : -1)
                        if number[end] == nil {
                            number[end] = Int32(flows.count)
                            flows.append(FlowID(proto: t.service.proto, client: end.address.ip, clientPort: end.port,
                                                service: t.service.vip, servicePort: t.port))
                            flowClient.append(end)
                        }
                    }
                }
            }
        }
        self.flows = flows
        self.flowClient = flowClient
        self.flowNumber = number

        // Every frame of a flow, at every point, in any form: plain, tunnelled, or quoted by an ICMP
        // error. A frame is the flow's when one of its TCP ends is the flow's client end.
        func flowOf(_ p: Packet) -> Int32? {
            guard p.hasPorts else { return nil }
            let d = perDatagram ? p.datagram : -1
            return number[Endpoint(address: p.innerSource, port: p.sourcePort, datagram: d)]
                ?? number[Endpoint(address: p.innerDestination, port: p.destinationPort, datagram: d)]
        }
        var points: [String: Point] = [:]
        for (name, frames) in captures { points[name] = Point(frames: frames, flowCount: flows.count, flowOf: flowOf) }
        self.points = points

        // Deliveries: a server received a flow when its own point saw the flow's SYN arrive on its
        // own MAC, addressed to the VIP, to its own address, or tunnelled to its own address.
        var first = [Delivery](repeating: .none, count: flows.count)
        var more: [Int: [Delivery]] = [:]
        if let t = resolved.target {
            for (s, server) in t.servers.enumerated() {
                let own = Set(Self.segmentAddresses(of: server))
                for interface in server.interfaces {
                    guard let name = interface.point, let mac = interface.mac.map(MAC48.init), let point = points[name] else { continue }
                    for (i, p) in point.packets.enumerated() {
                        let f = Int(point.flow[i])
                        guard f >= 0, p.destinationMAC == mac, p.isInitialSYN, p.innerSource == flowClient[f].address,
                              p.sourcePort == flowClient[f].port else { continue }
                        let form: Form
                        if p.isTunnelledTCP {
                            guard own.contains(p.destination) else { continue }
                            form = .tunnelled
                        } else if p.innerDestination == t.vip && p.destinationPort == t.port {
                            form = .direct
                        } else if own.contains(p.innerDestination) {
                            form = .translated
                        } else {
                            continue
                        }
                        let d = Delivery(server: s, form: form)
                        if first[f].server < 0 { first[f] = d }
                        else if first[f].server != s && !(more[f]?.contains { $0.server == s } ?? false) {
                            more[f, default: [first[f]]].append(d)
                        }
                    }
                }
            }
        }
        firstDelivery = first
        moreDeliveries = more
    }

    /// The traffic's service, VIP, client, dispatcher and servers, or why the run cannot be judged.
    /// The traffic's client is the run's client node, or, when the outcomes name several
    /// clients, all of them as one: their interfaces (and so their addresses and capture points)
    /// together, under the run's client's name.
    static func target(spec: LabSpec, facts: RunFacts, clients: [String] = []) -> (target: Target?, problem: String?) {
        guard let service = spec.service(named: facts.service) else {
            return (nil, "the run's service \(facts.service) is not in lab \(spec.name)")
        }
        let vip = WireAddress(service.vip)
        guard var client = facts.node(named: facts.client) else { return (nil, "no facts for the traffic's client \(facts.client)") }
        var others: [String] = []
        for name in clients where name != facts.client && !others.contains(name) { others.append(name) }
        for name in others {
            guard let node = facts.node(named: name) else { return (nil, "no facts for the traffic's client \(name)") }
            client.interfaces += node.interfaces
        }
        guard let dispatcher = facts.node(named: service.dispatcher) else {
            return (nil, "no facts for the dispatcher \(service.dispatcher) of service \(service.name)")
        }
        return (Target(service: service, vip: vip, port: service.port, client: client, dispatcher: dispatcher,
                       servers: service.servers.compactMap { facts.node(named: $0) }), nil)
    }

    // MARK: - Queries the rules share

    /// The capture points of a node's segment interfaces.
    static func points(of node: NodeFacts) -> [String] { node.interfaces.compactMap(\.point) }
    /// The addresses (IPv4 and IPv6) of a node's segment interfaces (not the VIP a DR or TUN real
    /// server holds on `lo` or its tunnel).
    static func segmentAddresses(of node: NodeFacts) -> [WireAddress] {
        node.interfaces.filter { $0.point != nil }.flatMap { $0.addresses.map { WireAddress($0.address) } }
    }
    static func macs(of node: NodeFacts) -> Set<MAC48> { Set(node.interfaces.filter { $0.point != nil }.compactMap { $0.mac.map(MAC48.init) }) }

    /// All packets of a point (empty when it was not captured).
    func packets(_ point: String) -> [Packet] { points[point]?.packets ?? [] }

    /// The packets of flow `f` at `point` (empty when it was not captured).
    func packets(_ point: String, flow f: Int) -> FlowPackets {
        points[point]?.packets(of: f) ?? FlowPackets(packets: [], order: [])
    }

    /// The packets of flow `f` at every point of `node`.
    func packets(of node: NodeFacts, flow f: Int) -> [Packet] { Self.points(of: node).flatMap { packets($0, flow: f) } }

    /// A live packet of flow `f` in the request direction (from the client's end).
    func isRequest(_ p: Packet, _ f: Int) -> Bool {
        p.isTCP && p.innerSource == flowClient[f].address && p.sourcePort == flowClient[f].port
    }

    /// A live packet of flow `f` back towards the client's end.
    func isReply(_ p: Packet, _ f: Int) -> Bool {
        p.isTCP && p.innerDestination == flowClient[f].address && p.destinationPort == flowClient[f].port
    }

    /// Every real server that received flow `f` (see `firstDelivery`), in the service's order.
    func deliveries(_ f: Int) -> [Delivery] {
        if let all = moreDeliveries[f] { return all.sorted { $0.server < $1.server } }
        return firstDelivery[f].server < 0 ? [] : [firstDelivery[f]]
    }

    /// The lab interface with this MAC, as `<point> <mac>`, or `unknown <mac>`.
    func label(_ mac: MAC48) -> String {
        guard let o = ownerByMAC[mac] else { return "unknown \(mac.address)" }
        return "\(facts.nodes[o.node].interfaces[o.interface].point ?? facts.nodes[o.node].name) \(mac.address)"
    }

    /// The node owning a lab MAC.
    func node(of mac: MAC48) -> NodeFacts? { ownerByMAC[mac].map { facts.nodes[$0.node] } }

    /// The flow an outcome's connection is, by its source address (the client node's first address
    /// when the outcome has none) and port.
    func flow(of o: ConnectionOutcome) -> Int? {
        let family = target?.service.vip.family ?? .ipv4
        guard let address = o.localAddress ?? facts.node(named: o.client)?.addresses.first(where: { $0.family == family }) else { return nil }
        let d = perDatagram ? Int32(o.datagram ?? -1) : -1
        return flowNumber[Endpoint(address: WireAddress(address), port: o.localPort, datagram: d)].map(Int.init)
    }

    /// The server name a flow counts for in the captures: the one that received it, `(unseen)` or `(several)`.
    func captureServer(_ f: Int) -> String {
        guard let t = target else { return LabAnalyzer.unseen }
        let d = deliveries(f)
        return d.count == 1 ? t.servers[d[0].server].name : (d.isEmpty ? LabAnalyzer.unseen : LabAnalyzer.several)
    }

    /// Answered connections per server (from the client) and client flows per server (from the captures).
    func distributionTables() -> (fromClient: [String: Int], fromCapture: [String: Int]) {
        var fromClient: [String: Int] = [:]
        for o in outcomes { if let s = o.server { fromClient[s, default: 0] += 1 } }
        var fromCapture: [String: Int] = [:]
        // With faults, a connection that failed (a dead server's refusal) is the health rule's:
        // the captures count only the flows the client got an answer on, as the client does.
        let failed = (spec.faults ?? []).isEmpty ? Set<Int>() : Set(outcomes.filter { $0.server == nil }.compactMap { flow(of: $0) })
        for f in flows.indices where !failed.contains(f) { fromCapture[captureServer(f), default: 0] += 1 }
        return (fromClient, fromCapture)
    }

    /// The lab's interfaces whose points were not captured, as point names.
    func missingPoints(_ nodes: [NodeFacts]) -> [String] {
        nodes.flatMap(Self.points(of:)).filter { points[$0] == nil }
    }

    /// An ICMP error about a flow's packet: who sent it and what it said.
    struct ICMPError: Hashable, Sendable {
        let flow: Int
        let sender: MAC48
        let source: WireAddress
        let type: UInt8
        let code: UInt8
        /// The quoted packet was IP-in-IP (a tunnelled request).
        let tunnelled: Bool

        var text: String { source.isIPv4 ? ICMPMessage.describe(type: type, code: code) : "ICMPv6 " + ICMPv6Message.describe(type: type, code: code) }
    }

    /// Every ICMP error about a client flow's packets anywhere in the lab, once each: a lab
    /// interface's errors at its own point, an unknown sender's at any point.
    func icmpErrors() -> [ICMPError] {
        var seen: [ICMPError: [String: Int]] = [:]
        for (name, point) in points {
            for (i, p) in point.packets.enumerated() where p.isICMPErrorAboutTCP && point.flow[i] >= 0 {
                if let o = ownerByMAC[p.sourceMAC], facts.nodes[o.node].interfaces[o.interface].point != name { continue }
                let e = ICMPError(flow: Int(point.flow[i]), sender: p.sourceMAC, source: p.source, type: p.icmpType, code: p.icmpCode,
                                  tunnelled: p.layers.contains(.ipip))
                seen[e, default: [:]][name, default: 0] += 1
            }
        }
        return seen.flatMap { e, perPoint in Array(repeating: e, count: perPoint.values.max() ?? 0) }
            .sorted { ($0.flow, $0.source, $0.type, $0.code) < ($1.flow, $1.source, $1.type, $1.code) }
    }

    /// ARP requests a node sent (at its own points) that no ARP reply answered on that point: the
    /// addresses it could not resolve, with how often it asked.
    func unansweredARP(from node: NodeFacts) -> [(target: IPv4Address, count: Int)] {
        var asked: [IPv4Address: Int] = [:]
        var answered = Set<IPv4Address>()
        let macs = Self.macs(of: node)
        for name in Self.points(of: node) {
            guard let point = points[name] else { continue }
            for (i, p) in point.packets.enumerated() where p.kind == .arp {
                let a = point.withBytes(of: i) { FrameDecoder.arp($0, p) }
                if a.isRequest && macs.contains(MAC48(a.senderMAC)) { asked[a.targetIP, default: 0] += 1 }
                if a.isReply { answered.insert(a.senderIP) }
            }
        }
        return asked.filter { !answered.contains($0.key) }.map { ($0.key, $0.value) }.sorted { $0.target < $1.target }
    }
}
