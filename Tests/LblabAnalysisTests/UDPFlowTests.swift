import LblabAnalysis
import LblabModel
import LblabTypes
import Testing

/// UDP services: each client end's datagrams are a flow, found in the captures like a TCP flow.
@Suite struct UDPFlowTests {
    typealias L = SyntheticLab

    /// Ethernet + IPv4 + UDP (checksum 0) + payload.
    static func udp(ethSrc: MACAddress, ethDst: MACAddress, src: IPv4Address, sport: UInt16, dst: IPv4Address, dport: UInt16,
                    payload: Int = 12) -> [UInt8] {
        let len = 8 + payload
        let u: [UInt8] = [UInt8(sport >> 8), UInt8(sport & 0xff), UInt8(dport >> 8), UInt8(dport & 0xff), UInt8(len >> 8), UInt8(len & 0xff), 0, 0]
            + [UInt8](repeating: 0x6c, count: payload)
        return Build.ethernet(dst: ethDst, src: ethSrc, type: 0x0800, Build.ipv4(src: src, dst: dst, proto: 17, u))
    }

    /// A DR run of UDP datagrams, one per client port, answered straight from the real server
    /// with source the VIP; `viaDispatcher` sends the answers of those ports back through the dispatcher.
    static func drUDP(servers: [Int], viaDispatcher: Set<UInt16> = []) -> L {
        var lab = L(mode: .dr, weights: [1, 1], scheduler: .rr, expect: ExpectSpec())
        lab.spec.services[0].proto = .udp
        lab.facts.protocol = .udp
        lab.arpExchange()
        let c = L.client, d = L.dispatcher
        for (i, s) in servers.enumerated() {
            let port = 40001 + UInt16(i)
            let rs = s == 1 ? L.rs1 : L.rs2
            lab.see(udp(ethSrc: c.mac, ethDst: d.mac, src: c.address, sport: port, dst: L.vip, dport: L.port), at: ["client", "dispatcher"])
            lab.see(udp(ethSrc: d.mac, ethDst: rs.mac, src: c.address, sport: port, dst: L.vip, dport: L.port), at: ["dispatcher", rs.point])
            let back = viaDispatcher.contains(port)
            lab.see(udp(ethSrc: back ? d.mac : rs.mac, ethDst: c.mac, src: L.vip, sport: L.port, dst: c.address, dport: port),
                    at: back ? ["dispatcher", "client"] : [rs.point, "client"])
            lab.outcomes.append(L.outcome(port, rs.name))
        }
        return lab
    }

    @Test func datagramsAreFlowsJudgedLikeConnections() {
        let report = Self.drUDP(servers: [1, 2, 1, 2, 1, 2]).analyze()
        #expect(report.passed, "\(report.render())")
        #expect(report.fromCapture == ["rs1": 3, "rs2": 3])
        #expect(report.verdict("dr-path")?.summary.contains("6 flows") == true, "\(report.render())")
    }

    /// Ethernet + IPv4 + UDP with `payload` bytes.
    static func udp(ethSrc: MACAddress, ethDst: MACAddress, src: IPv4Address, sport: UInt16, dst: IPv4Address, dport: UInt16,
                    bytes payload: [UInt8]) -> [UInt8] {
        let len = 8 + payload.count
        let u: [UInt8] = [UInt8(sport >> 8), UInt8(sport & 0xff), UInt8(dport >> 8), UInt8(dport & 0xff), UInt8(len >> 8), UInt8(len & 0xff), 0, 0]
        return Build.ethernet(dst: ethDst, src: ethSrc, type: 0x0800, Build.ipv4(src: src, dst: dst, proto: 17, u + payload))
    }

    /// One socket (port 40001) sends datagram k (`lblab k`) to `servers[k]`, each answered with
    /// `X-Lblab-Node: rsN` and the datagram, straight to the client (DR).
    static func oneSocket(servers: [Int], onePacket: Bool) -> L {
        var lab = L(mode: .dr, weights: [1, 1], scheduler: .rr, expect: ExpectSpec())
        lab.spec.services[0].proto = .udp
        lab.spec.services[0].onePacket = onePacket
        lab.facts.protocol = .udp
        lab.arpExchange()
        let c = L.client, d = L.dispatcher, port: UInt16 = 40001
        for (k, s) in servers.enumerated() {
            let rs = s == 1 ? L.rs1 : L.rs2
            let probe = Array("lblab \(k)\n".utf8)
            lab.see(udp(ethSrc: c.mac, ethDst: d.mac, src: c.address, sport: port, dst: L.vip, dport: L.port, bytes: probe), at: ["client", "dispatcher"])
            lab.see(udp(ethSrc: d.mac, ethDst: rs.mac, src: c.address, sport: port, dst: L.vip, dport: L.port, bytes: probe), at: ["dispatcher", rs.point])
            lab.see(udp(ethSrc: rs.mac, ethDst: c.mac, src: L.vip, sport: L.port, dst: c.address, dport: port,
                        bytes: Array("X-Lblab-Node: \(rs.name)\n".utf8) + probe), at: [rs.point, "client"])
            var o = L.outcome(port, rs.name)
            o.datagram = k
            o.start = 0.01 + Double(k) * 0.01
            lab.outcomes.append(o)
        }
        return lab
    }

    /// One-packet scheduling: each datagram of one socket is a flow of its own, so the captures
    /// agree datagram by datagram; without it the socket is one flow, and two servers got it.
    @Test func oneSocketsDatagramsAreFlowsOfTheirOwnWithOnePacket() {
        let report = Self.oneSocket(servers: [2, 1, 2, 1], onePacket: true).analyze()
        #expect(report.passed, "\(report.render())")
        #expect(report.fromCapture == ["rs1": 2, "rs2": 2], "\(report.render())")
        let shared = Self.oneSocket(servers: [2, 1, 2, 1], onePacket: false).analyze()
        #expect(shared.verdict("distribution")?.passed == false, "\(shared.render())")
        #expect(shared.fromCapture == ["(several)": 1], "\(shared.render())")
    }

    @Test func anAnswerThroughTheDispatcherBreaksTheDRPath() {
        let report = Self.drUDP(servers: [1, 2, 1, 2], viaDispatcher: [40003]).analyze()
        let dr = report.verdict("dr-path")
        #expect(dr?.passed == false)
        #expect(dr?.evidence.contains { $0.contains("40003") } == true, "\(report.render())")
        #expect(report.verdict("distribution")?.passed == true)
    }
}
