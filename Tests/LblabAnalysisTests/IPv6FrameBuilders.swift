import LblabAnalysis
import LblabModel
import LblabTypes

/// Byte-by-byte IPv6 frames for tests: TCP, neighbour solicitations and advertisements, ICMPv6 errors.
enum Build6 {
    static func a(_ text: String) -> IPv6Address { IPv6Address(text)! }

    /// An IPv6 header (40 bytes) in front of `body`; `next` is the first next-header value.
    static func ipv6(src: IPv6Address, dst: IPv6Address, next: UInt8, hopLimit: UInt8 = 64, _ body: [UInt8]) -> [UInt8] {
        [0x60, 0, 0, 0, UInt8(body.count >> 8), UInt8(body.count & 0xff), next, hopLimit] + src.bytes + dst.bytes + body
    }

    static func tcpSegment(sport: UInt16, dport: UInt16, flags: UInt8, payload: Int = 0) -> [UInt8] {
        [UInt8(sport >> 8), UInt8(sport & 0xff), UInt8(dport >> 8), UInt8(dport & 0xff), 0, 0, 0x03, 0xe8, 0, 0, 0, 0,
         0x50, flags, 0xfa, 0xf0, 0, 0, 0, 0] + [UInt8](repeating: 0x41, count: payload)
    }

    /// Ethernet + IPv6 + TCP; `hopByHop` puts an 8-byte hop-by-hop options header in front of TCP.
    static func tcp(ethSrc: MACAddress, ethDst: MACAddress, src: IPv6Address, sport: UInt16, dst: IPv6Address, dport: UInt16,
                    flags: UInt8, payload: Int = 0, hopByHop: Bool = false) -> [UInt8] {
        let segment = tcpSegment(sport: sport, dport: dport, flags: flags, payload: payload)
        let body = hopByHop ? [6, 0, 1, 4, 0, 0, 0, 0] + segment : segment
        return Build.ethernet(dst: ethDst, src: ethSrc, type: 0x86dd, ipv6(src: src, dst: dst, next: hopByHop ? 0 : 6, body))
    }

    /// The solicited-node multicast address of `target` (ff02::1:ffXX:XXXX) and its MAC (33:33:ff:XX:XX:XX).
    static func solicitedNode(_ target: IPv6Address) -> (IPv6Address, MACAddress) {
        let b = target.bytes
        return (IPv6Address(bytes: [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, b[13], b[14], b[15]])!,
                MACAddress(bytes: [0x33, 0x33, 0xff, b[13], b[14], b[15]])!)
    }

    /// A neighbour solicitation for `target` from `src` (multicast to its solicited-node group).
    static func solicitation(ethSrc: MACAddress, src: IPv6Address, target: IPv6Address) -> [UInt8] {
        let (group, groupMAC) = solicitedNode(target)
        let icmp: [UInt8] = [135, 0, 0, 0, 0, 0, 0, 0] + target.bytes + [1, 1] + ethSrc.bytes
        return Build.ethernet(dst: groupMAC, src: ethSrc, type: 0x86dd, ipv6(src: src, dst: group, next: 58, hopLimit: 255, icmp))
    }

    /// A neighbour advertisement for `target` from `src` to `dst`; `flags` 0x60 solicited + override, 0x20 override only.
    static func advertisement(ethSrc: MACAddress, ethDst: MACAddress, src: IPv6Address, dst: IPv6Address, target: IPv6Address,
                              flags: UInt8 = 0x60) -> [UInt8] {
        let icmp: [UInt8] = [136, 0, 0, 0, flags, 0, 0, 0] + target.bytes + [2, 1] + ethSrc.bytes
        return Build.ethernet(dst: ethDst, src: ethSrc, type: 0x86dd, ipv6(src: src, dst: dst, next: 58, hopLimit: 255, icmp))
    }

    /// An ICMPv6 error quoting `about` (an IPv6 packet without Ethernet).
    static func icmpError(ethSrc: MACAddress, ethDst: MACAddress, src: IPv6Address, dst: IPv6Address, type: UInt8, code: UInt8,
                          about: [UInt8]) -> [UInt8] {
        Build.ethernet(dst: ethDst, src: ethSrc, type: 0x86dd, ipv6(src: src, dst: dst, next: 58, [type, code, 0, 0, 0, 0, 0, 0] + about))
    }
}

/// A node of a synthetic IPv6 lab.
struct Host6 {
    var name: String
    var address: IPv6Address
    var mac: MACAddress
    var point: String
    var interface = "eth0"
    var segment = "lan"
}

/// `SyntheticLab` over IPv6: DR on one segment 2001:db8::/64 (VIP 2001:db8::100), NAT with the
/// front 2001:db8:1::/64 (VIP 2001:db8:1::100) and the back 2001:db8:2::/64.
struct SyntheticLab6 {
    static let drVIP = Build6.a("2001:db8::100")
    static let natVIP = Build6.a("2001:db8:1::100")
    static let client = Host6(name: "client", address: Build6.a("2001:db8::10"), mac: Build.mac(0x0a), point: "client")
    static let dispatcher = Host6(name: "dispatcher", address: Build6.a("2001:db8::2"), mac: Build.mac(0x02), point: "dispatcher")
    static let rs1 = Host6(name: "rs1", address: Build6.a("2001:db8::21"), mac: Build.mac(0x11), point: "rs1")
    static let rs2 = Host6(name: "rs2", address: Build6.a("2001:db8::22"), mac: Build.mac(0x12), point: "rs2")
    static let natClient = Host6(name: "client", address: Build6.a("2001:db8:1::10"), mac: Build.mac(0x0a), point: "client", segment: "front")
    static let front = Host6(name: "dispatcher", address: Build6.a("2001:db8:1::2"), mac: Build.mac(0x02), point: "dispatcher-eth0", segment: "front")
    static let back = Host6(name: "dispatcher", address: Build6.a("2001:db8:2::1"), mac: Build.mac(0x03), point: "dispatcher-eth1",
                            interface: "eth1", segment: "back")
    static let natRS1 = Host6(name: "rs1", address: Build6.a("2001:db8:2::21"), mac: Build.mac(0x21), point: "rs1", segment: "back")
    static let natRS2 = Host6(name: "rs2", address: Build6.a("2001:db8:2::22"), mac: Build.mac(0x22), point: "rs2", segment: "back")

    var spec: LabSpec
    var facts: RunFacts
    var captures: [String: [RawFrame]]
    var outcomes: [ConnectionOutcome] = []
    var clock = 1_700_000_000.0
    let nat: Bool
    var vip: IPv6Address { nat ? Self.natVIP : Self.drVIP }
    var clientHost: Host6 { nat ? Self.natClient : Self.client }
    var dispatcherFront: Host6 { nat ? Self.front : Self.dispatcher }

    init(mode: LabMode) {
        nat = mode == .nat
        let L = SyntheticLab6.self
        let vipHost = IPInterface(host: .v6(nat ? L.natVIP : L.drVIP))
        func prefix(_ h: Host6) -> IPInterface { IPInterface(address: .v6(h.address), prefixLength: 64) }
        func iface(_ h: Host6) -> InterfaceSpec { InterfaceSpec(name: h.interface, segment: h.segment, addresses: [prefix(h)]) }
        func facts(_ h: Host6, _ extra: [IPInterface] = []) -> InterfaceFacts {
            InterfaceFacts(name: h.interface, kind: "veth", segment: h.segment, point: h.point, mac: h.mac, addresses: [prefix(h)] + extra)
        }
        let (c, d, r1, r2) = nat ? (L.natClient, L.front, L.natRS1, L.natRS2) : (L.client, L.dispatcher, L.rs1, L.rs2)
        var dispatcherSpec = NodeSpec(name: "dispatcher", role: .dispatcher, interfaces: [iface(d)], ipForward: true)
        var dispatcherFacts = NodeFacts(name: "dispatcher", role: .dispatcher, interfaces: [facts(d, [vipHost])])
        if nat {
            dispatcherSpec.interfaces.append(iface(L.back))
            dispatcherFacts.interfaces.append(facts(L.back))
        }
        let nat = self.nat
        let servers = [r1, r2].map { h -> (NodeSpec, NodeFacts) in
            (NodeSpec(name: h.name, role: .real, interfaces: [iface(h)],
                      routes: nat ? [RouteSpec(destination: .defaultRoute(.ipv6), gateway: .v6(L.back.address))] : [],
                      forward: mode.defaultForwarding),
             NodeFacts(name: h.name, role: .real, interfaces: [facts(h)] + (nat ? [] : [InterfaceFacts(name: "lo", addresses: [vipHost])])))
        }
        spec = LabSpec(name: "synthetic6-\(mode.rawValue)", mode: mode,
                       segments: nat ? [SegmentSpec(name: "front"), SegmentSpec(name: "back")] : [SegmentSpec(name: "lan")],
                       nodes: [NodeSpec(name: "client", role: .client, interfaces: [iface(c)]), dispatcherSpec] + servers.map(\.0),
                       services: [ServiceSpec(name: "web", vip: vipHost.address, port: 80, proto: .tcp, scheduler: .rr,
                                              dispatcher: "dispatcher", servers: ["rs1", "rs2"])],
                       arpFix: true, traffic: TrafficSpec(connections: 4, concurrency: 2, timeout: 1, client: "client", service: "web"),
                       expect: ExpectSpec())
        self.facts = RunFacts(client: "client", service: "web", vip: vipHost.address, port: 80, protocol: .tcp,
                              nodes: [NodeFacts(name: "client", role: .client, interfaces: [facts(c)]), dispatcherFacts] + servers.map(\.1))
        captures = Dictionary(uniqueKeysWithValues: self.facts.points.map { ($0, []) })
    }

    mutating func see(_ bytes: [UInt8], at points: [String]) {
        clock += 0.000_1
        for p in points { captures[p, default: []].append(RawFrame(timestamp: clock, bytes: bytes)) }
    }

    /// The points on the client's segment (where a multicast solicitation is flooded).
    var frontPoints: [String] { nat ? ["client", "dispatcher-eth0"] : ["client", "dispatcher", "rs1", "rs2"] }

    /// The client solicits the VIP; `answerers` advertise it (solicited), each seen at its own point and the client's.
    mutating func ndpExchange(answerers: [Host6]? = nil) {
        let c = clientHost
        see(Build6.solicitation(ethSrc: c.mac, src: c.address, target: vip), at: frontPoints)
        for h in answerers ?? [dispatcherFront] {
            see(Build6.advertisement(ethSrc: h.mac, ethDst: c.mac, src: vip, dst: c.address, target: vip), at: [h.point, "client"])
        }
    }

    mutating func drFlow(port: UInt16, rs: Host6) {
        let c = Self.client, d = Self.dispatcher
        for (i, r) in SyntheticLab.requestFlags.enumerated() {
            see(Build6.tcp(ethSrc: c.mac, ethDst: d.mac, src: c.address, sport: port, dst: vip, dport: 80, flags: r.flags, payload: r.payload),
                at: ["client", "dispatcher"])
            see(Build6.tcp(ethSrc: d.mac, ethDst: rs.mac, src: c.address, sport: port, dst: vip, dport: 80, flags: r.flags, payload: r.payload),
                at: ["dispatcher", rs.point])
            let a = SyntheticLab.replyFlags[i]
            see(Build6.tcp(ethSrc: rs.mac, ethDst: c.mac, src: vip, sport: 80, dst: c.address, dport: port, flags: a.flags, payload: a.payload),
                at: [rs.point, "client"])
        }
        outcomes.append(ConnectionOutcome(client: "client", localAddress: .v6(c.address), localPort: port, service: "web", server: rs.name))
    }

    mutating func natFlow(port: UInt16, rs: Host6) {
        let c = Self.natClient, f = Self.front, b = Self.back
        for (i, r) in SyntheticLab.requestFlags.enumerated() {
            see(Build6.tcp(ethSrc: c.mac, ethDst: f.mac, src: c.address, sport: port, dst: vip, dport: 80, flags: r.flags, payload: r.payload),
                at: ["client", f.point])
            see(Build6.tcp(ethSrc: b.mac, ethDst: rs.mac, src: c.address, sport: port, dst: rs.address, dport: 80, flags: r.flags, payload: r.payload),
                at: [b.point, rs.point])
            let a = SyntheticLab.replyFlags[i]
            see(Build6.tcp(ethSrc: rs.mac, ethDst: b.mac, src: rs.address, sport: 80, dst: c.address, dport: port, flags: a.flags, payload: a.payload),
                at: [rs.point, b.point])
            see(Build6.tcp(ethSrc: f.mac, ethDst: c.mac, src: vip, sport: 80, dst: c.address, dport: port, flags: a.flags, payload: a.payload),
                at: [f.point, "client"])
        }
        outcomes.append(ConnectionOutcome(client: "client", localAddress: .v6(c.address), localPort: port, service: "web", server: rs.name))
    }

    /// The passing run: NDP, then flows to rs1, rs2, rs1, rs2.
    static func run(_ mode: LabMode, answerers: [Host6]? = nil) -> SyntheticLab6 {
        var lab = SyntheticLab6(mode: mode)
        lab.ndpExchange(answerers: answerers)
        for (i, s) in [1, 2, 1, 2].enumerated() {
            let port = 40001 + UInt16(i)
            if mode == .nat { lab.natFlow(port: port, rs: s == 1 ? natRS1 : natRS2) } else { lab.drFlow(port: port, rs: s == 1 ? rs1 : rs2) }
        }
        return lab
    }

    func analyze() -> AnalysisReport { LabAnalyzer.analyze(spec: spec, facts: facts, outcomes: outcomes, captures: captures) }
}
