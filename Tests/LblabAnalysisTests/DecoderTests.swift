import LblabAnalysis
import LblabTypes
import Testing

@Suite struct DecoderTests {
    typealias L = SyntheticLab

    @Test func decodesARP() throws {
        let bytes = Build.arp(op: 2, senderMAC: L.dispatcher.mac, senderIP: L.vip, targetMAC: L.client.mac, targetIP: L.client.address)
        let f = try #require(FrameDecoder.decode(bytes, timestamp: 5))
        #expect(f.timestamp == 5)
        #expect(f.sourceMAC == L.dispatcher.mac && f.destinationMAC == L.client.mac)
        let a = try #require(f.arp)
        #expect(a.operation == 2 && a.isReply)
        #expect(a.senderMAC == L.dispatcher.mac && a.senderIP == L.vip)
        #expect(a.targetMAC == L.client.mac && a.targetIP == L.client.address)
    }

    @Test func decodesTCPWithOptionsAndPayload() throws {
        let bytes = Build.tcp(ethSrc: L.client.mac, ethDst: L.dispatcher.mac, src: L.client.address, sport: 40001,
                              dst: L.vip, dport: 80, flags: 0x18, payload: 78, tcpOptions: 12, ttl: 63, seq: 7, ack: 9)
        let f = try #require(FrameDecoder.decode(bytes, timestamp: 0))
        let ip = try #require(f.ipv4)
        #expect(ip.source == L.client.address && ip.destination == L.vip)
        #expect(ip.proto == 6 && ip.ttl == 63 && ip.totalLength == 20 + 32 + 78)
        let t = try #require(ip.tcp)
        #expect(t.sourcePort == 40001 && t.destinationPort == 80)
        #expect(t.sequenceNumber == 7 && t.acknowledgmentNumber == 9)
        #expect(t.payloadLength == 78)
        #expect(t.isACK && !t.isSYN && !t.isFIN && !t.isRST)
        #expect(t.flagText == "PA")
        // The IPv4 header checksum the builder wrote verifies.
        #expect(Build.checksum(Array(bytes[14..<34])) == 0)
    }

    @Test func synFlags() throws {
        let syn = Build.tcp(ethSrc: L.client.mac, ethDst: L.dispatcher.mac, src: L.client.address, sport: 1, dst: L.vip, dport: 80, flags: 0x02)
        let synAck = Build.tcp(ethSrc: L.client.mac, ethDst: L.dispatcher.mac, src: L.client.address, sport: 1, dst: L.vip, dport: 80, flags: 0x12)
        #expect(FrameDecoder.decode(syn, timestamp: 0)?.tcp?.isInitialSYN == true)
        #expect(FrameDecoder.decode(synAck, timestamp: 0)?.tcp?.isInitialSYN == false)
        #expect(FrameDecoder.decode(synAck, timestamp: 0)?.tcp?.flagText == "SA")
    }

    @Test func truncatedFramesDecodeAsFarAsPossible() throws {
        let tcp = Build.tcp(ethSrc: L.client.mac, ethDst: L.dispatcher.mac, src: L.client.address, sport: 40001,
                            dst: L.vip, dport: 80, flags: 0x18, payload: 1000)
        let arp = Build.arp(op: 1, senderMAC: L.client.mac, senderIP: L.client.address, targetMAC: L.client.mac, targetIP: L.vip)
        // Every prefix decodes without trapping.
        for frame in [tcp, arp] {
            for n in 0...frame.count {
                let f = FrameDecoder.decode(Array(frame.prefix(n)), timestamp: 0)
                #expect((f == nil) == (n < 14))
            }
        }
        // Cut at the snapshot length: TCP is still decoded, payload length from the IP header.
        let cut = try #require(FrameDecoder.decode(Array(tcp.prefix(96)), timestamp: 0)?.tcp)
        #expect(cut.payloadLength == 1000)
        // Cut before the TCP flags byte: IPv4 without TCP.
        let noFlags = try #require(FrameDecoder.decode(Array(tcp.prefix(14 + 20 + 13)), timestamp: 0)?.ipv4)
        #expect(noFlags.tcp == nil && noFlags.source == L.client.address)
        #expect(FrameDecoder.decode(Array(tcp.prefix(14 + 20 + 14)), timestamp: 0)?.tcp?.flags == 0x18)
        // Short IPv4 / ARP become .other with their EtherType.
        #expect(FrameDecoder.decode(Array(tcp.prefix(33)), timestamp: 0)?.payload == .other(etherType: 0x0800))
        #expect(FrameDecoder.decode(Array(arp.prefix(41)), timestamp: 0)?.payload == .other(etherType: 0x0806))
        #expect(FrameDecoder.decode(Array(arp.prefix(42)), timestamp: 0)?.arp?.targetIP == L.vip)
    }

    @Test func malformedHeadersAreNotTrusted() throws {
        var bad = Build.tcp(ethSrc: L.client.mac, ethDst: L.dispatcher.mac, src: L.client.address, sport: 1, dst: L.vip, dport: 80, flags: 0x02)
        bad[14] = 0x4f  // IHL 60 bytes, past the end of the frame
        #expect(FrameDecoder.decode(bad, timestamp: 0)?.ipv4?.tcp == nil)
        bad[14] = 0x43  // IHL 12 < 20
        #expect(FrameDecoder.decode(bad, timestamp: 0)?.payload == .other(etherType: 0x0800))
        bad[14] = 0x65  // IPv6 version nibble in an IPv4 EtherType
        #expect(FrameDecoder.decode(bad, timestamp: 0)?.payload == .other(etherType: 0x0800))
        var vlan = Build.tcp(ethSrc: L.client.mac, ethDst: L.dispatcher.mac, src: L.client.address, sport: 1, dst: L.vip, dport: 80, flags: 0x02)
        vlan.insert(contentsOf: [0x81, 0x00, 0x00, 0x05], at: 12)
        #expect(FrameDecoder.decode(vlan, timestamp: 0)?.tcp?.destinationPort == 80)
        #expect(FrameDecoder.decode(Array(vlan.prefix(17)), timestamp: 0)?.payload == .other(etherType: 0x8100))
    }
}

@Suite struct TunnelAndICMPDecoderTests {
    typealias L = SyntheticLab

    static let inner = Build.ipv4TCP(src: L.client.address, sport: 40001, dst: L.vip, dport: 80, flags: 0x02, tcpOptions: 20, seq: 77)
    static let ipip = Build.ipip(ethSrc: L.dispatcher.mac, ethDst: L.rs1.mac, src: L.dispatcher.address, dst: L.rs1.address, inner: inner)

    @Test func decodesIPInIP() throws {
        let f = try #require(FrameDecoder.decode(Self.ipip, timestamp: 0))
        let ip = try #require(f.ipv4)
        #expect(ip.source == L.dispatcher.address && ip.destination == L.rs1.address && ip.proto == 4)
        #expect(ip.tcp == nil && ip.icmp == nil)
        let t = try #require(ip.tunnelled)
        #expect(t.source == L.client.address && t.destination == L.vip && t.proto == 6)
        let tcp = try #require(t.tcp)
        #expect(tcp.sourcePort == 40001 && tcp.destinationPort == 80 && tcp.sequenceNumber == 77 && tcp.isInitialSYN)
        #expect(tcp.payloadLength == 0)
    }

    @Test func decodesAnICMPErrorAboutATunnelledRequest() throws {
        // What a real server without a tunnel interface sends back: port unreachable, quoting the IP-in-IP packet.
        let about = Array(Self.ipip[14...])
        let icmp = Build.icmpError(ethSrc: L.rs1.mac, ethDst: L.dispatcher.mac, src: L.rs1.address, dst: L.dispatcher.address,
                                   type: 3, code: 3, about: about)
        let ip = try #require(FrameDecoder.decode(icmp, timestamp: 0)?.ipv4)
        #expect(ip.proto == 1 && ip.source == L.rs1.address && ip.tcp == nil && ip.tunnelled == nil)
        let m = try #require(ip.icmp)
        #expect(m.type == 3 && m.code == 3 && m.isError)
        #expect(m.description == "destination unreachable (port unreachable)")
        let q = try #require(m.quoted)
        #expect(q.source == L.dispatcher.address && q.destination == L.rs1.address && q.proto == 4)
        #expect(q.tunnelled == TunnelledPacket(source: L.client.address, destination: L.vip, proto: 6))
        #expect(q.sourcePort == 40001 && q.destinationPort == 80)
        // RFC 792's minimum quote (IP header + 8 bytes) of a plain TCP segment still gives the ports.
        let plain = Build.ipv4TCP(src: L.client.address, sport: 40002, dst: L.vip, dport: 80, flags: 0x02)
        let short = Build.icmpError(ethSrc: L.dispatcher.mac, ethDst: L.client.mac, src: L.vip, dst: L.client.address,
                                    type: 3, code: 2, about: plain, quote: 28)
        let sq = try #require(FrameDecoder.decode(short, timestamp: 0)?.ipv4?.icmp)
        #expect(sq.description == "destination unreachable (protocol unreachable)")
        #expect(sq.quoted == QuotedPacket(source: L.client.address, destination: L.vip, proto: 6, sourcePort: 40002, destinationPort: 80))
        // An echo request is no error and quotes nothing.
        let echo = Build.ethernet(dst: L.rs1.mac, src: L.client.mac, type: 0x0800,
                                  Build.ipv4(src: L.client.address, dst: L.rs1.address, proto: 1, [8, 0, 0, 0, 0, 1, 0, 1] + plain))
        let e = try #require(FrameDecoder.decode(echo, timestamp: 0)?.ipv4?.icmp)
        #expect(!e.isError && e.quoted == nil && e.description == "echo request")
    }

    @Test func truncatedTunnelsAndErrorsDecodeAsFarAsPossible() throws {
        let icmp = Build.icmpError(ethSrc: L.rs1.mac, ethDst: L.dispatcher.mac, src: L.rs1.address, dst: L.dispatcher.address,
                                   type: 3, code: 3, about: Array(Self.ipip[14...]))
        for frame in [Self.ipip, icmp] {
            for n in 0...frame.count { _ = FrameDecoder.decode(Array(frame.prefix(n)), timestamp: 0) }
        }
        // The inner header cut: IPv4 (proto 4) without a tunnelled packet.
        let cut = try #require(FrameDecoder.decode(Array(Self.ipip.prefix(14 + 20 + 19)), timestamp: 0)?.ipv4)
        #expect(cut.proto == 4 && cut.tunnelled == nil)
        // The inner TCP cut before its flags: the tunnelled packet without TCP.
        let noFlags = try #require(FrameDecoder.decode(Array(Self.ipip.prefix(14 + 40 + 13)), timestamp: 0)?.ipv4?.tunnelled)
        #expect(noFlags.tcp == nil && noFlags.destination == L.vip)
        // A quote that stops before the inner ports still names the tunnelled addresses.
        let q = try #require(FrameDecoder.decode(Array(icmp.prefix(14 + 20 + 8 + 40 + 3)), timestamp: 0)?.ipv4?.icmp?.quoted)
        #expect(q.tunnelled?.destination == L.vip && q.sourcePort == nil)
    }
}
