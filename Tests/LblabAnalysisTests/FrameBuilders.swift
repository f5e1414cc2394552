import LblabAnalysis
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
        let tcpLen = 20 + tcpOptions
        var t: [UInt8] = [UInt8(sport >> 8), UInt8(sport & 0xff), UInt8(dport >> 8), UInt8(dport & 0xff)]
        t += [UInt8(seq >> 24), UInt8(seq >> 16 & 0xff), UInt8(seq >> 8 & 0xff), UInt8(seq & 0xff)]
        t += [UInt8(ack >> 24), UInt8(ack >> 16 & 0xff), UInt8(ack >> 8 & 0xff), UInt8(ack & 0xff)]
        t += [UInt8(tcpLen / 4) << 4, flags, 0xfa, 0xf0, 0, 0, 0, 0]
        t += [UInt8](repeating: 1, count: tcpOptions)  // NOPs
        t += [UInt8](repeating: 0x41, count: payload)
        let total = 20 + t.count
        var ip: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0x12, 0x34, 0x40, 0, ttl, 6, 0, 0]
        ip += src.bytes + dst.bytes
        let c = checksum(ip)
        ip[10] = UInt8(c >> 8)
        ip[11] = UInt8(c & 0xff)
        return ethernet(dst: ethDst, src: ethSrc, type: 0x0800, ip + t)
    }
}

/// A synthetic LVS-DR lab: client, dispatcher, rs1, rs2 on 198.51.100.0/24, VIP .100, port 80.
struct SyntheticLab {
    static let vip = IPv4Address(198, 51, 100, 100)
    static let client = LabHost(name: "client", address: IPv4Address(198, 51, 100, 10), mac: Build.mac(0x0a))
    static let dispatcher = LabHost(name: "dispatcher", address: IPv4Address(198, 51, 100, 2), mac: Build.mac(0x02))
    static let rs1 = LabHost(name: "rs1", address: IPv4Address(198, 51, 100, 11), mac: Build.mac(0x11))
    static let rs2 = LabHost(name: "rs2", address: IPv4Address(198, 51, 100, 12), mac: Build.mac(0x12))
    static let facts = LabFacts(vip: vip, port: 80, client: client, dispatcher: dispatcher, realServers: [rs1, rs2])
    static let drExpectations = Expectations(distribution: .equal(servers: ["rs1", "rs2"]), path: .directRouting, arp: .dispatcherOnly)

    var captures: [String: [RawFrame]] = ["client": [], "dispatcher": [], "rs1": [], "rs2": []]
    var outcomes: [ConnectionOutcome] = []
    var clock = 1_700_000_000.0

    mutating func see(_ bytes: [UInt8], at points: [String]) {
        clock += 0.000_1
        for p in points { captures[p, default: []].append(RawFrame(timestamp: clock, bytes: bytes)) }
    }

    /// The client ARPs for the VIP (broadcast, flooded everywhere) and the dispatcher answers.
    mutating func arpExchange() {
        let req = Build.arp(op: 1, senderMAC: Self.client.mac, senderIP: Self.client.address,
                            targetMAC: MACAddress(bytes: [0, 0, 0, 0, 0, 0])!, targetIP: Self.vip)
        see(req, at: ["client", "dispatcher", "rs1", "rs2"])
        let reply = Build.arp(op: 2, senderMAC: Self.dispatcher.mac, senderIP: Self.vip,
                              targetMAC: Self.client.mac, targetIP: Self.client.address)
        see(reply, at: ["dispatcher", "client"])
    }

    /// One DR connection from client port `port` served by `rs` (a full HTTP exchange).
    mutating func drFlow(port: UInt16, rs: LabHost) {
        let c = Self.client, d = Self.dispatcher
        // SYN: client -> dispatcher, dispatcher -> rs (only the destination MAC changes).
        see(Build.tcp(ethSrc: c.mac, ethDst: d.mac, src: c.address, sport: port, dst: Self.vip, dport: 80, flags: 0x02, tcpOptions: 20),
            at: ["client", "dispatcher"])
        see(Build.tcp(ethSrc: d.mac, ethDst: rs.mac, src: c.address, sport: port, dst: Self.vip, dport: 80, flags: 0x02, tcpOptions: 20),
            at: ["dispatcher", rs.name])
        // SYN-ACK straight from rs to client, source VIP.
        see(Build.tcp(ethSrc: rs.mac, ethDst: c.mac, src: Self.vip, sport: 80, dst: c.address, dport: port, flags: 0x12, tcpOptions: 20),
            at: [rs.name, "client"])
        // ACK + request via the dispatcher.
        for payload in [0, 78] {
            see(Build.tcp(ethSrc: c.mac, ethDst: d.mac, src: c.address, sport: port, dst: Self.vip, dport: 80, flags: payload == 0 ? 0x10 : 0x18, payload: payload),
                at: ["client", "dispatcher"])
            see(Build.tcp(ethSrc: d.mac, ethDst: rs.mac, src: c.address, sport: port, dst: Self.vip, dport: 80, flags: payload == 0 ? 0x10 : 0x18, payload: payload),
                at: ["dispatcher", rs.name])
        }
        // Response and FIN straight back.
        see(Build.tcp(ethSrc: rs.mac, ethDst: c.mac, src: Self.vip, sport: 80, dst: c.address, dport: port, flags: 0x18, payload: 200),
            at: [rs.name, "client"])
        see(Build.tcp(ethSrc: rs.mac, ethDst: c.mac, src: Self.vip, sport: 80, dst: c.address, dport: port, flags: 0x11),
            at: [rs.name, "client"])
        outcomes.append(ConnectionOutcome(localPort: port, server: rs.name, error: nil, latency: 0.002))
    }

    /// The standard passing run: ARP, then 4 flows alternating rs1, rs2 (or as given).
    static func drRun(servers: [LabHost] = [rs1, rs2, rs1, rs2]) -> SyntheticLab {
        var lab = SyntheticLab()
        lab.arpExchange()
        for (i, rs) in servers.enumerated() { lab.drFlow(port: 40001 + UInt16(i), rs: rs) }
        return lab
    }

    func analyze(_ expectations: Expectations = SyntheticLab.drExpectations) -> AnalysisReport {
        LabAnalyzer.analyze(facts: Self.facts, captures: captures, outcomes: outcomes, expectations: expectations)
    }
}
