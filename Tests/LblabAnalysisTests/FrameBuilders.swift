import LblabAnalysis
import LblabModel
import LblabTypes

/// Byte-by-byte frame builders for tests.
enum Build {
    static func mac(_ last: UInt8) -> MACAddress { MACAddress(bytes: [0x02, 0, 0, 0, 0, last])! }

    static func ethernet(dst: MACAddress, src: MACAddress, type: UInt16, _ payload: [UInt8]) -> [UInt8] {
        dst.bytes + src.bytes + [UInt8(type >> 8), UInt8(type & 0xff)] + payload
    }

    static func arp(op: UInt16, senderMAC: MACAddress, senderIP: IPv4Address, targetMAC: MACAddress, targetIP: IPv4Address,
                    ethDst: MACAddress? = nil) -> [UInt8] {
        let body: [UInt8] = [0x00, 0x01, 0x08, 0x00, 6, 4, UInt8(op >> 8), UInt8(op & 0xff)]
            + senderMAC.bytes + senderIP.bytes + targetMAC.bytes + targetIP.bytes
        let dst = ethDst ?? (op == 1 ? MACAddress.broadcast : targetMAC)
        return ethernet(dst: dst, src: senderMAC, type: 0x0806, body + [UInt8](repeating: 0, count: 18))  // padded to 60
    }

    static func checksum(_ b: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < b.count { sum += UInt32(b[i]) << 8 | UInt32(b[i + 1]); i += 2 }
        if i < b.count { sum += UInt32(b[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    /// Ethernet + IPv4 (20-byte header) + TCP (`tcpOptions` bytes of options, multiple of 4) + payload.
    static func tcp(ethSrc: MACAddress, ethDst: MACAddress, src: IPv4Address, sport: UInt16, dst: IPv4Address, dport: UInt16,
                    flags: UInt8, payload: Int = 0, tcpOptions: Int = 0, ttl: UInt8 = 64, seq: UInt32 = 1000, ack: UInt32 = 0) -> [UInt8] {
        ethernet(dst: ethDst, src: ethSrc, type: 0x0800,
                 ipv4TCP(src: src, sport: sport, dst: dst, dport: dport, flags: flags, payload: payload, tcpOptions: tcpOptions,
                         ttl: ttl, seq: seq, ack: ack))
    }

    /// An IPv4 header (20 bytes, checksummed) in front of `body`.
    static func ipv4(src: IPv4Address, dst: IPv4Address, proto: UInt8, ttl: UInt8 = 64, _ body: [UInt8]) -> [UInt8] {
        let total = 20 + body.count
        var ip: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0x12, 0x34, 0x40, 0, ttl, proto, 0, 0]
        ip += src.bytes + dst.bytes
        let c = checksum(ip)
        ip[10] = UInt8(c >> 8)
        ip[11] = UInt8(c & 0xff)
        return ip + body
    }

    /// IPv4 + TCP, without the Ethernet header.
    static func ipv4TCP(src: IPv4Address, sport: UInt16, dst: IPv4Address, dport: UInt16, flags: UInt8, payload: Int = 0,
                        tcpOptions: Int = 0, ttl: UInt8 = 64, seq: UInt32 = 1000, ack: UInt32 = 0) -> [UInt8] {
        let tcpLen = 20 + tcpOptions
        var t: [UInt8] = [UInt8(sport >> 8), UInt8(sport & 0xff), UInt8(dport >> 8), UInt8(dport & 0xff)]
        t += [UInt8(seq >> 24), UInt8(seq >> 16 & 0xff), UInt8(seq >> 8 & 0xff), UInt8(seq & 0xff)]
        t += [UInt8(ack >> 24), UInt8(ack >> 16 & 0xff), UInt8(ack >> 8 & 0xff), UInt8(ack & 0xff)]
        t += [UInt8(tcpLen / 4) << 4, flags, 0xfa, 0xf0, 0, 0, 0, 0]
        t += [UInt8](repeating: 1, count: tcpOptions)  // NOPs
        t += [UInt8](repeating: 0x41, count: payload)
        return ipv4(src: src, dst: dst, proto: 6, ttl: ttl, t)
    }

    /// IP-in-IP: an outer IPv4 header (protocol 4) around `inner` (an IPv4 packet), in Ethernet.
    static func ipip(ethSrc: MACAddress, ethDst: MACAddress, src: IPv4Address, dst: IPv4Address, inner: [UInt8]) -> [UInt8] {
        ethernet(dst: ethDst, src: ethSrc, type: 0x0800, ipv4(src: src, dst: dst, proto: 4, inner))
    }

    /// An ICMP error (`type`/`code`) from `src` to `dst` quoting the start of `about` (an IPv4 packet).
    static func icmpError(ethSrc: MACAddress, ethDst: MACAddress, src: IPv4Address, dst: IPv4Address, type: UInt8, code: UInt8,
                          about: [UInt8], quote: Int = 548) -> [UInt8] {
        var icmp: [UInt8] = [type, code, 0, 0, 0, 0, 0, 0] + about.prefix(quote)
        let c = checksum(icmp)
        icmp[2] = UInt8(c >> 8)
        icmp[3] = UInt8(c & 0xff)
        return ethernet(dst: ethDst, src: ethSrc, type: 0x0800, ipv4(src: src, dst: dst, proto: 1, icmp))
    }
}

/// A node of a synthetic lab: one interface per segment it sits on.
struct Host {
    var name: String
    var address: IPv4Address
    var mac: MACAddress
    /// The capture point (the node's name, or `<node>-<interface>` for a node with several).
    var point: String
    var interface = "eth0"
    var segment = "lan"
}

/// A synthetic lab, built the way lblab builds one: a `LabSpec`, the kernel's facts for it,
/// frames per capture point, and the client's outcomes.
///
/// DR and TUN: client, dispatcher, rs1, rs2 on one segment 198.51.100.0/24, VIP .100, port 80.
/// NAT: client and the dispatcher's eth0 on `front` (198.51.100.0/24), the dispatcher's eth1 and the
/// real servers on `back` (203.0.113.0/24). Every MAC and address differs from every other.
struct SyntheticLab {
    static let vip = IPv4Address(198, 51, 100, 100)
    static let client = Host(name: "client", address: IPv4Address(198, 51, 100, 10), mac: Build.mac(0x0a), point: "client")
    static let dispatcher = Host(name: "dispatcher", address: IPv4Address(198, 51, 100, 2), mac: Build.mac(0x02), point: "dispatcher")
    static let rs1 = Host(name: "rs1", address: IPv4Address(198, 51, 100, 11), mac: Build.mac(0x11), point: "rs1")
    static let rs2 = Host(name: "rs2", address: IPv4Address(198, 51, 100, 12), mac: Build.mac(0x12), point: "rs2")
    // NAT: the client on the front, the real servers on the back.
    static let natClient = Host(name: "client", address: IPv4Address(198, 51, 100, 10), mac: Build.mac(0x0a), point: "client", segment: "front")
    static let front = Host(name: "dispatcher", address: IPv4Address(198, 51, 100, 2), mac: Build.mac(0x02), point: "dispatcher-eth0", segment: "front")
    static let back = Host(name: "dispatcher", address: IPv4Address(203, 0, 113, 1), mac: Build.mac(0x03), point: "dispatcher-eth1",
                           interface: "eth1", segment: "back")
    static let natRS1 = Host(name: "rs1", address: IPv4Address(203, 0, 113, 21), mac: Build.mac(0x21), point: "rs1", segment: "back")
    static let natRS2 = Host(name: "rs2", address: IPv4Address(203, 0, 113, 22), mac: Build.mac(0x22), point: "rs2", segment: "back")
    static let service = "web"
    static let port: UInt16 = 80

    var spec: LabSpec
    var facts: RunFacts
    var captures: [String: [RawFrame]]
    var outcomes: [ConnectionOutcome] = []
    var clock = 1_700_000_000.0

    init(mode: LabMode = .dr, weights: [Int] = [1, 1], scheduler: Scheduler = .rr, expect: ExpectSpec = ExpectSpec()) {
        let L = SyntheticLab.self
        func iface(_ h: Host, _ extra: [IPInterface] = []) -> InterfaceSpec {
            InterfaceSpec(name: h.interface, segment: h.segment, addresses: [IPInterface(address: .v4(h.address), prefixLength: 24)] + extra)
        }
        func facts(_ h: Host, _ extra: [IPInterface] = []) -> InterfaceFacts {
            InterfaceFacts(name: h.interface, kind: "veth", segment: h.segment, point: h.point, mac: h.mac,
                           addresses: [IPInterface(address: .v4(h.address), prefixLength: 24)] + extra)
        }
        let vipHost = IPInterface(host: .v4(L.vip))
        let nat = mode == .nat
        let (c, d, r1, r2) = nat ? (L.natClient, L.front, L.natRS1, L.natRS2) : (L.client, L.dispatcher, L.rs1, L.rs2)
        var dispatcherSpec = NodeSpec(name: "dispatcher", role: .dispatcher, interfaces: [iface(d)], ipForward: true)
        var dispatcherFacts = NodeFacts(name: "dispatcher", role: .dispatcher, interfaces: [facts(d, [vipHost])])
        if nat {
            dispatcherSpec.interfaces.append(iface(L.back))
            dispatcherFacts.interfaces.append(facts(L.back))
        }
        let servers = [r1, r2].enumerated().map { i, h -> (NodeSpec, NodeFacts) in
            let spec = NodeSpec(name: h.name, role: .real, interfaces: [iface(h)],
                                routes: nat ? [RouteSpec(destination: IPInterface("0.0.0.0/0")!, gateway: .v4(L.back.address))] : [],
                                weight: weights[i], forward: mode.defaultForwarding, tunnel: mode == .tun)
            var f = NodeFacts(name: h.name, role: .real, interfaces: [facts(h)])
            switch mode {
            case .dr: f.interfaces.append(InterfaceFacts(name: "lo", addresses: [vipHost]))
            case .tun: f.interfaces.append(InterfaceFacts(name: "ipip0", kind: "ipip", addresses: [vipHost]))
            case .nat, .dns: break   // a synthetic DNS lab is not built (no IPVS path to synthesise)
            }
            return (spec, f)
        }
        spec = LabSpec(name: "synthetic-\(mode.rawValue)", mode: mode, segments: nat ? [SegmentSpec(name: "front"), SegmentSpec(name: "back")] : [SegmentSpec(name: "lan")],
                       nodes: [NodeSpec(name: "client", role: .client, interfaces: [iface(c)]), dispatcherSpec] + servers.map(\.0),
                       services: [ServiceSpec(name: L.service, vip: .v4(L.vip), port: L.port, proto: .tcp, scheduler: scheduler,
                                              dispatcher: "dispatcher", servers: ["rs1", "rs2"])],
                       arpFix: mode != .nat, traffic: TrafficSpec(connections: 4, concurrency: 2, timeout: 1, client: "client", service: L.service),
                       expect: expect)
        self.facts = RunFacts(client: "client", service: L.service, vip: .v4(L.vip), port: L.port, protocol: .tcp,
                              nodes: [NodeFacts(name: "client", role: .client, interfaces: [facts(c)]), dispatcherFacts] + servers.map(\.1))
        captures = Dictionary(uniqueKeysWithValues: self.facts.points.map { ($0, []) })
    }

    mutating func see(_ bytes: [UInt8], at points: [String]) {
        clock += 0.000_1
        for p in points { captures[p, default: []].append(RawFrame(timestamp: clock, bytes: bytes)) }
    }

    static func outcome(_ port: UInt16, _ server: String?, error: String? = nil, latency: Double = 0.002) -> ConnectionOutcome {
        ConnectionOutcome(client: "client", localAddress: .v4(client.address), localPort: port, service: service, server: server,
                          error: error, start: 0.01, latency: latency)
    }

    /// The client ARPs for the VIP (broadcast, flooded to every point on its segment) and the dispatcher answers.
    mutating func arpExchange() {
        let nat = spec.mode == .nat
        let d = nat ? Self.front : Self.dispatcher
        let req = Build.arp(op: 1, senderMAC: Self.client.mac, senderIP: Self.client.address,
                            targetMAC: MACAddress(bytes: [0, 0, 0, 0, 0, 0])!, targetIP: Self.vip)
        see(req, at: nat ? ["client", "dispatcher-eth0"] : ["client", "dispatcher", "rs1", "rs2"])
        let reply = Build.arp(op: 2, senderMAC: d.mac, senderIP: Self.vip, targetMAC: Self.client.mac, targetIP: Self.client.address)
        see(reply, at: ["client", d.point])
    }

    /// The client's packets of one connection: SYN, ACK, request, ACK of the response, FIN.
    static let requestFlags: [(flags: UInt8, payload: Int)] = [(0x02, 0), (0x10, 0), (0x18, 78)]
    static let replyFlags: [(flags: UInt8, payload: Int)] = [(0x12, 0), (0x18, 200), (0x11, 0)]

    /// One DR connection from client port `port` served by `rs` (a full HTTP exchange).
    mutating func drFlow(port: UInt16, rs: Host) {
        let c = Self.client, d = Self.dispatcher
        for (i, r) in Self.requestFlags.enumerated() {
            let o = r.flags == 0x02 ? 20 : 0
            // In to the dispatcher, out to rs (only the destination MAC changes).
            see(Build.tcp(ethSrc: c.mac, ethDst: d.mac, src: c.address, sport: port, dst: Self.vip, dport: 80, flags: r.flags, payload: r.payload, tcpOptions: o),
                at: ["client", "dispatcher"])
            see(Build.tcp(ethSrc: d.mac, ethDst: rs.mac, src: c.address, sport: port, dst: Self.vip, dport: 80, flags: r.flags, payload: r.payload, tcpOptions: o),
                at: ["dispatcher", rs.point])
            // Straight back from rs, source VIP.
            let a = Self.replyFlags[i]
            see(Build.tcp(ethSrc: rs.mac, ethDst: c.mac, src: Self.vip, sport: 80, dst: c.address, dport: port, flags: a.flags, payload: a.payload),
                at: [rs.point, "client"])
        }
        outcomes.append(Self.outcome(port, rs.name))
    }

    /// One NAT connection: the dispatcher rewrites the destination to rs's address on the back, and
    /// the source of the replies back to the VIP on the front.
    mutating func natFlow(port: UInt16, rs: Host) {
        let c = Self.natClient, f = Self.front, b = Self.back
        for (i, r) in Self.requestFlags.enumerated() {
            see(Build.tcp(ethSrc: c.mac, ethDst: f.mac, src: c.address, sport: port, dst: Self.vip, dport: 80, flags: r.flags, payload: r.payload),
                at: ["client", f.point])
            see(Build.tcp(ethSrc: b.mac, ethDst: rs.mac, src: c.address, sport: port, dst: rs.address, dport: 80, flags: r.flags, payload: r.payload),
                at: [b.point, rs.point])
            let a = Self.replyFlags[i]
            see(Build.tcp(ethSrc: rs.mac, ethDst: b.mac, src: rs.address, sport: 80, dst: c.address, dport: port, flags: a.flags, payload: a.payload),
                at: [rs.point, b.point])
            see(Build.tcp(ethSrc: f.mac, ethDst: c.mac, src: Self.vip, sport: 80, dst: c.address, dport: port, flags: a.flags, payload: a.payload),
                at: [f.point, "client"])
        }
        outcomes.append(Self.outcome(port, rs.name))
    }

    /// One TUN connection: the dispatcher wraps each request in IP-in-IP to rs's address; rs answers
    /// the client directly with source VIP.
    mutating func tunFlow(port: UInt16, rs: Host) {
        let c = Self.client, d = Self.dispatcher
        for (i, r) in Self.requestFlags.enumerated() {
            see(Build.tcp(ethSrc: c.mac, ethDst: d.mac, src: c.address, sport: port, dst: Self.vip, dport: 80, flags: r.flags, payload: r.payload),
                at: ["client", "dispatcher"])
            let inner = Build.ipv4TCP(src: c.address, sport: port, dst: Self.vip, dport: 80, flags: r.flags, payload: r.payload)
            see(Build.ipip(ethSrc: d.mac, ethDst: rs.mac, src: d.address, dst: rs.address, inner: inner), at: ["dispatcher", rs.point])
            let a = Self.replyFlags[i]
            see(Build.tcp(ethSrc: rs.mac, ethDst: c.mac, src: Self.vip, sport: 80, dst: c.address, dport: port, flags: a.flags, payload: a.payload),
                at: [rs.point, "client"])
        }
        outcomes.append(Self.outcome(port, rs.name))
    }

    /// The standard passing run of a mode: ARP, then one flow per server given (ports 40001, 40002, ...).
    static func run(_ mode: LabMode, servers: [Int] = [1, 2, 1, 2], weights: [Int] = [1, 1], scheduler: Scheduler = .rr,
                    expect: ExpectSpec = ExpectSpec()) -> SyntheticLab {
        var lab = SyntheticLab(mode: mode, weights: weights, scheduler: scheduler, expect: expect)
        lab.arpExchange()
        for (i, s) in servers.enumerated() {
            let port = 40001 + UInt16(i)
            switch mode {
            case .dr: lab.drFlow(port: port, rs: s == 1 ? rs1 : rs2)
            case .nat: lab.natFlow(port: port, rs: s == 1 ? natRS1 : natRS2)
            case .tun: lab.tunFlow(port: port, rs: s == 1 ? rs1 : rs2)
            case .dns: break
            }
        }
        return lab
    }

    static func drRun(servers: [Int] = [1, 2, 1, 2]) -> SyntheticLab { run(.dr, servers: servers) }

    func analyze() -> AnalysisReport {
        LabAnalyzer.analyze(spec: spec, facts: facts, outcomes: outcomes, captures: captures)
    }

    /// The same run judged against other expectations.
    func analyze(expect: ExpectSpec) -> AnalysisReport {
        var lab = self
        lab.spec.expect = expect
        return lab.analyze()
    }

    /// Removes the frames of `points` that match.
    mutating func remove(at points: [String], where match: (DecodedFrame) -> Bool) {
        for p in points { captures[p]?.removeAll { FrameDecoder.decode($0.bytes, timestamp: 0).map(match) ?? false } }
    }
}
