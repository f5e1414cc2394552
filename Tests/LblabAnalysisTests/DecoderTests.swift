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
