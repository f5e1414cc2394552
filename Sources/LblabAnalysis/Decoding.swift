import LblabTypes

/// An ARP packet (Ethernet/IPv4 only).
public struct ARPPacket: Sendable, Equatable {
    /// 1 = request, 2 = reply.
    public var operation: UInt16
    public var senderMAC: MACAddress
    public var senderIP: IPv4Address
    public var targetMAC: MACAddress
    public var targetIP: IPv4Address

    public static let request: UInt16 = 1
    public static let reply: UInt16 = 2

    public init(operation: UInt16, senderMAC: MACAddress, senderIP: IPv4Address, targetMAC: MACAddress, targetIP: IPv4Address) {
        self.operation = operation
        self.senderMAC = senderMAC
        self.senderIP = senderIP
        self.targetMAC = targetMAC
        self.targetIP = targetIP
    }

    public var isRequest: Bool { operation == Self.request }
    public var isReply: Bool { operation == Self.reply }
}

/// The parts of a TCP header lblab looks at.
public struct TCPSegment: Sendable, Equatable {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var sequenceNumber: UInt32
    public var acknowledgmentNumber: UInt32
    /// The low 8 flag bits (CWR ECE URG ACK PSH RST SYN FIN).
    public var flags: UInt8
    /// Payload bytes, from the IPv4 total length and header lengths (not from the captured bytes,
    /// so it is right even when the snapshot length cut the frame).
    public var payloadLength: Int

    public static let fin: UInt8 = 0x01
    public static let syn: UInt8 = 0x02
    public static let rst: UInt8 = 0x04
    public static let psh: UInt8 = 0x08
    public static let ack: UInt8 = 0x10

    public init(sourcePort: UInt16, destinationPort: UInt16, sequenceNumber: UInt32 = 0,
                acknowledgmentNumber: UInt32 = 0, flags: UInt8, payloadLength: Int) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.sequenceNumber = sequenceNumber
        self.acknowledgmentNumber = acknowledgmentNumber
        self.flags = flags
        self.payloadLength = payloadLength
    }

    public var isSYN: Bool { flags & Self.syn != 0 }
    public var isACK: Bool { flags & Self.ack != 0 }
    public var isFIN: Bool { flags & Self.fin != 0 }
    public var isRST: Bool { flags & Self.rst != 0 }
    /// A connection request: SYN without ACK.
    public var isInitialSYN: Bool { isSYN && !isACK }

    /// `S`, `SA`, `FA`, `R`, `.` (flags only ACK), as tcpdump prints them.
    public var flagText: String {
        var s = ""
        if isSYN { s += "S" }
        if isFIN { s += "F" }
        if isRST { s += "R" }
        if flags & Self.psh != 0 { s += "P" }
        if isACK { s += s.isEmpty ? "." : "A" }
        return s.isEmpty ? "none" : s
    }
}

/// An IPv4 header, with the TCP segment, the IP-in-IP inner packet or the ICMP message it carries.
public struct IPv4Packet: Sendable, Equatable {
    public var source: IPv4Address
    public var destination: IPv4Address
    public var proto: UInt8
    public var ttl: UInt8
    public var totalLength: Int
    /// `nil` unless proto is TCP, this is the first fragment and the captured bytes reach the flags.
    public var tcp: TCPSegment?
    /// The inner packet of IP-in-IP (proto 4), as LVS-TUN sends a request to a real server.
    public var tunnelled: TunnelledPacket?
    /// The ICMP message (proto 1).
    public var icmp: ICMPMessage?

    public init(source: IPv4Address, destination: IPv4Address, proto: UInt8, ttl: UInt8, totalLength: Int = 0, tcp: TCPSegment? = nil,
                tunnelled: TunnelledPacket? = nil, icmp: ICMPMessage? = nil) {
        self.source = source
        self.destination = destination
        self.proto = proto
        self.ttl = ttl
        self.totalLength = totalLength
        self.tcp = tcp
        self.tunnelled = tunnelled
        self.icmp = icmp
    }
}

/// The IPv4 packet inside an IP-in-IP packet.
public struct TunnelledPacket: Sendable, Equatable {
    public var source: IPv4Address
    public var destination: IPv4Address
    public var proto: UInt8
    /// As in `IPv4Packet.tcp`.
    public var tcp: TCPSegment?

    public init(source: IPv4Address, destination: IPv4Address, proto: UInt8, tcp: TCPSegment? = nil) {
        self.source = source
        self.destination = destination
        self.proto = proto
        self.tcp = tcp
    }
}

/// An ICMP message; an error quotes the start of the packet it is about.
public struct ICMPMessage: Sendable, Equatable {
    public var type: UInt8
    public var code: UInt8
    /// The packet an error is about, as far as the quote reaches.
    public var quoted: QuotedPacket?

    public init(type: UInt8, code: UInt8, quoted: QuotedPacket? = nil) {
        self.type = type
        self.code = code
        self.quoted = quoted
    }

    /// Destination unreachable, source quench, redirect, time exceeded, parameter problem.
    public var isError: Bool { ICMPMessage.isError(type: type) }
    static func isError(type: UInt8) -> Bool { [3, 4, 5, 11, 12].contains(type) }

    /// `destination unreachable (port unreachable)`, as RFC 792 names them.
    public var description: String { ICMPMessage.describe(type: type, code: code) }

    static func describe(type: UInt8, code: UInt8) -> String {
        switch type {
        case 0: return "echo reply"
        case 3:
            let codes = ["network unreachable", "host unreachable", "protocol unreachable", "port unreachable",
                         "fragmentation needed", "source route failed", "destination network unknown", "destination host unknown",
                         "source host isolated", "network administratively prohibited", "host administratively prohibited",
                         "network unreachable for TOS", "host unreachable for TOS", "communication administratively prohibited"]
            return "destination unreachable (\(Int(code) < codes.count ? codes[Int(code)] : "code \(code)"))"
        case 4: return "source quench"
        case 5: return "redirect (code \(code))"
        case 8: return "echo request"
        case 11: return code == 0 ? "time exceeded (TTL)" : "time exceeded (reassembly)"
        case 12: return "parameter problem (code \(code))"
        default: return "ICMP type \(type) code \(code)"
        }
    }
}

/// The start of the packet an ICMP error quotes.
public struct QuotedPacket: Sendable, Equatable {
    public var source: IPv4Address
    public var destination: IPv4Address
    public var proto: UInt8
    /// When the quoted packet is IP-in-IP: the inner packet's addresses and protocol.
    public var tunnelled: TunnelledPacket?
    /// The innermost TCP ports, when the quote reaches them.
    public var sourcePort: UInt16?
    public var destinationPort: UInt16?

    public init(source: IPv4Address, destination: IPv4Address, proto: UInt8, tunnelled: TunnelledPacket? = nil,
                sourcePort: UInt16? = nil, destinationPort: UInt16? = nil) {
        self.source = source
        self.destination = destination
        self.proto = proto
        self.tunnelled = tunnelled
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
    }
}

/// An Ethernet frame, decoded as far as lblab needs.
public struct DecodedFrame: Sendable, Equatable {
    public enum Payload: Sendable, Equatable {
        case arp(ARPPacket)
        case ipv4(IPv4Packet)
        case ipv6(IPv6Packet)
        /// Anything else, including ARP/IPv4/IPv6 too short (or malformed) to decode.
        case other(etherType: UInt16)
    }

    public var timestamp: Double
    public var sourceMAC: MACAddress
    public var destinationMAC: MACAddress
    public var payload: Payload

    public init(timestamp: Double, sourceMAC: MACAddress, destinationMAC: MACAddress, payload: Payload) {
        self.timestamp = timestamp
        self.sourceMAC = sourceMAC
        self.destinationMAC = destinationMAC
        self.payload = payload
    }

    public var arp: ARPPacket? { if case .arp(let a) = payload { return a } else { return nil } }
    public var ipv4: IPv4Packet? { if case .ipv4(let p) = payload { return p } else { return nil } }
    public var ipv6: IPv6Packet? { if case .ipv6(let p) = payload { return p } else { return nil } }
    public var tcp: TCPSegment? { ipv4?.tcp ?? ipv6?.tcp }
}

/// A 48-bit Ethernet address in one integer: compared and hashed without the heap array that
/// `MACAddress` holds (the analysis reads two per frame).
struct MAC48: Hashable, Sendable, Comparable {
    var value: UInt64

    init(_ value: UInt64) { self.value = value }
    init(_ mac: MACAddress) { value = mac.bytes.prefix(6).reduce(0) { $0 << 8 | UInt64($1) } }

    var address: MACAddress { MACAddress(bytes: (0..<6).map { UInt8(truncatingIfNeeded: value >> (40 - 8 * UInt64($0))) })! }
    static func < (l: Self, r: Self) -> Bool { l.value < r.value }
}

/// One frame's headers in fixed-size fields, decoded once per frame by the analysis (no heap
/// allocation). `FrameDecoder.decode` builds the public `DecodedFrame` from it, so both read a frame
/// the same way.
///
/// The "inner" fields describe the packet that carries the TCP segment: the IP header itself for
/// plain TCP, the inner header of IP-in-IP, or the packet an ICMP (or ICMPv6) error quotes
/// (innermost header, through IP-in-IP). The flows are found by those inner endpoints in every
/// form. Addresses of both families are `WireAddress`es (IPv4 mapped), so IPv4 and IPv6 flows are
/// indexed alike.
struct Packet: Sendable {
    enum Kind: UInt8, Sendable {
        /// Shorter than an Ethernet header.
        case runt
        /// Neither ARP, IPv4 nor IPv6, or too short or malformed to decode.
        case other
        case arp
        case ipv4
        case ipv6
    }

    /// What an IPv4 packet carries.
    struct Layers: OptionSet, Sendable {
        let rawValue: UInt8
        /// A TCP header (ports; flags when the bytes reach them): live, or quoted by ICMP.
        static let tcp = Layers(rawValue: 1)
        /// IP-in-IP: the TCP (or the quoted packet) sits inside an inner IPv4 header.
        static let ipip = Layers(rawValue: 2)
        /// ICMP (IPv4) or ICMPv6 (IPv6), by `kind`.
        static let icmp = Layers(rawValue: 4)
        /// An ICMP error: the inner fields describe the packet it quotes.
        static let quoted = Layers(rawValue: 8)
        /// A UDP header (ports), live or quoted by ICMP: where `.tcp` is, the packet's transport
        /// predicates below take UDP as well (a UDP flow is a client end's datagrams).
        static let udp = Layers(rawValue: 16)
    }

    var sourceMAC = MAC48(0)
    var destinationMAC = MAC48(0)
    /// The (outer) IP source address; for ARP, the sender's protocol address.
    var source = WireAddress.zero
    /// The (outer) IP destination address; for ARP, the target's protocol address.
    var destination = WireAddress.zero
    /// The addresses of the packet that carries the TCP segment (see the type's documentation).
    var innerSource = WireAddress.zero
    var innerDestination = WireAddress.zero
    var sourcePort: UInt16 = 0
    var destinationPort: UInt16 = 0
    /// The EtherType after at most one 802.1Q tag.
    var etherType: UInt16 = 0
    /// Offset of the ARP, IPv4 or IPv6 header.
    var l3: UInt16 = 0
    /// Offset of the TCP header (live TCP) or of the ICMP / ICMPv6 header.
    var l4: UInt16 = 0
    var kind = Kind.runt
    var layers: Layers = []
    /// The outer IPv4 protocol number; for IPv6, the upper-layer next header (after extension headers).
    var proto: UInt8 = 0
    var tcpFlags: UInt8 = 0
    var icmpType: UInt8 = 0
    var icmpCode: UInt8 = 0
    /// A live UDP datagram of lblab's probe (`lblab N`) or its answer: N, its number in its phase
    /// (what tells the datagrams of one socket apart); -1 for any other packet.
    var datagram: Int32 = -1

    var isIPv4: Bool { kind == .ipv4 }
    /// An IPv4 or IPv6 packet.
    var isIP: Bool { kind == .ipv4 || kind == .ipv6 }
    /// A transport header with ports (TCP, or UDP), live or quoted.
    var hasPorts: Bool { !layers.isDisjoint(with: [.tcp, .udp]) }
    /// A live TCP segment or UDP datagram (plain or tunnelled), not one an ICMP error quotes.
    var isTCP: Bool { hasPorts && !layers.contains(.icmp) }
    var isPlainTCP: Bool { isTCP && !layers.contains(.ipip) }
    var isTunnelledTCP: Bool { isTCP && layers.contains(.ipip) }
    /// A TCP connection request: SYN without ACK (plain or tunnelled); or a UDP datagram (each
    /// is a request; a client end's first one opens its flow).
    var isInitialSYN: Bool {
        isTCP && (layers.contains(.udp) || tcpFlags & (TCPSegment.syn | TCPSegment.ack) == TCPSegment.syn)
    }
    /// An ICMP error that quotes a TCP segment or UDP datagram (whose endpoints are in the inner fields).
    var isICMPErrorAboutTCP: Bool { layers.contains(.quoted) && hasPorts }

    /// Decodes Ethernet II, one optional 802.1Q tag, ARP (Ethernet/IPv4), IPv4, IP-in-IP, ICMP (with
    /// the packet an error quotes), IPv6 and ICMPv6 (`decodeIPv6`) and TCP, never reading past the
    /// end of `b` and decoding as much as its bytes allow (snapshot length).
    init(_ b: UnsafeRawBufferPointer) {
        guard b.count >= 14 else { return }
        destinationMAC = MAC48(FrameDecoder.be48(b, 0))
        sourceMAC = MAC48(FrameDecoder.be48(b, 6))
        kind = .other
        etherType = FrameDecoder.be16(b, 12)
        var o = 14
        if etherType == FrameDecoder.etherTypeVLAN {  // one 802.1Q tag
            guard b.count >= 18 else { return }
            etherType = FrameDecoder.be16(b, 16)
            o = 18
        }
        l3 = UInt16(o)
        switch etherType {
        case FrameDecoder.etherTypeARP:
            guard b.count >= o + 28, FrameDecoder.be16(b, o) == 1, FrameDecoder.be16(b, o + 2) == FrameDecoder.etherTypeIPv4,
                  b[o + 4] == 6, b[o + 5] == 4 else { return }
            kind = .arp
            source = WireAddress(v4: FrameDecoder.be32(b, o + 14))
            destination = WireAddress(v4: FrameDecoder.be32(b, o + 24))
        case FrameDecoder.etherTypeIPv6:
            decodeIPv6(b, o)
        case FrameDecoder.etherTypeIPv4:
            guard let ip = Self.ipv4(b, o) else { return }
            kind = .ipv4
            proto = ip.proto
            (source, destination) = (ip.source, ip.destination)
            (innerSource, innerDestination) = (ip.source, ip.destination)
            guard ip.first else { return }
            var t = o + ip.length
            var carried = ip.proto
            if carried == 4, let inner = Self.ipv4(b, t) {  // IP-in-IP
                layers.insert(.ipip)
                (innerSource, innerDestination) = (inner.source, inner.destination)
                guard inner.first else { return }
                t += inner.length
                carried = inner.proto
            } else if carried == 1, b.count >= t + 4 {  // ICMP
                layers.insert(.icmp)
                l4 = UInt16(t)
                icmpType = b[t]
                icmpCode = b[t + 1]
                guard ICMPMessage.isError(type: icmpType), let q = Self.ipv4(b, t + 8) else { return }
                layers.insert(.quoted)
                (innerSource, innerDestination) = (q.source, q.destination)
                guard q.first else { return }
                var qt = t + 8 + q.length
                var quotedProto = q.proto
                if quotedProto == 4, let qi = Self.ipv4(b, qt) {
                    layers.insert(.ipip)
                    (innerSource, innerDestination) = (qi.source, qi.destination)
                    guard qi.first else { return }
                    qt += qi.length
                    quotedProto = qi.proto
                }
                if quotedProto == 17, b.count >= qt + 4 {
                    layers.insert(.udp)
                    sourcePort = FrameDecoder.be16(b, qt)
                    destinationPort = FrameDecoder.be16(b, qt + 2)
                    datagram = FrameDecoder.datagramNumber(b, qt + 8)   // the quoted datagram's flow, under one-packet
                }
                if quotedProto == 6, b.count >= qt + 4 {
                    layers.insert(.tcp)
                    sourcePort = FrameDecoder.be16(b, qt)
                    destinationPort = FrameDecoder.be16(b, qt + 2)
                    if b.count >= qt + 14 { tcpFlags = b[qt + 13] }
                }
                return
            }
            if carried == 6, b.count >= t + 14 {
                layers.insert(.tcp)
                l4 = UInt16(t)
                sourcePort = FrameDecoder.be16(b, t)
                destinationPort = FrameDecoder.be16(b, t + 2)
                tcpFlags = b[t + 13]
            } else if carried == 17, b.count >= t + 8 {
                layers.insert(.udp)
                l4 = UInt16(t)
                sourcePort = FrameDecoder.be16(b, t)
                destinationPort = FrameDecoder.be16(b, t + 2)
                datagram = FrameDecoder.datagramNumber(b, t + 8)
            }
        default:
            return
        }
    }

    /// An IPv4 header at `o`: addresses, protocol, header length, and whether it is the first (or
    /// only) fragment, the one that holds the next header. `nil` when the bytes are no IPv4 header.
    private static func ipv4(_ b: UnsafeRawBufferPointer, _ o: Int)
        -> (source: WireAddress, destination: WireAddress, proto: UInt8, length: Int, first: Bool)? {
        guard o >= 0, b.count >= o + 20, b[o] >> 4 == 4 else { return nil }
        let length = Int(b[o] & 0x0f) * 4
        guard length >= 20 else { return nil }
        return (WireAddress(v4: FrameDecoder.be32(b, o + 12)), WireAddress(v4: FrameDecoder.be32(b, o + 16)), b[o + 9], length,
                FrameDecoder.be16(b, o + 6) & 0x1fff == 0)
    }
}

/// Decodes Ethernet II frames: ARP, IPv4, IPv6 (with ICMPv6 and NDP) and TCP. Tolerant of truncated frames (snapshot length):
/// it never reads past the end and decodes as much as the bytes allow.
public enum FrameDecoder {
    public static let etherTypeIPv4: UInt16 = 0x0800
    public static let etherTypeARP: UInt16 = 0x0806
    public static let etherTypeVLAN: UInt16 = 0x8100
    public static let etherTypeIPv6: UInt16 = 0x86dd

    /// `nil` only when the frame is shorter than an Ethernet header.
    public static func decode(_ bytes: [UInt8], timestamp: Double) -> DecodedFrame? {
        bytes.withUnsafeBytes { decode($0, timestamp: timestamp) }
    }

    /// `nil` only when the frame is shorter than an Ethernet header.
    public static func decode(_ b: UnsafeRawBufferPointer, timestamp: Double) -> DecodedFrame? {
        let p = Packet(b)
        let payload: DecodedFrame.Payload
        switch p.kind {
        case .runt:
            return nil
        case .other:
            payload = .other(etherType: p.etherType)
        case .arp:
            payload = .arp(arp(b, p))
        case .ipv6:
            payload = .ipv6(ipv6(b, p))
        case .ipv4:
            let o = Int(p.l3)
            let totalLength = Int(be16(b, o + 2))
            var packet = IPv4Packet(source: p.source.ipv4, destination: p.destination.ipv4, proto: p.proto, ttl: b[o + 8], totalLength: totalLength)
            if p.layers.contains(.icmp) {
                var quoted: QuotedPacket?
                if p.layers.contains(.quoted) {
                    let q = Int(p.l4) + 8
                    let qp = b[q + 9]
                    quoted = QuotedPacket(source: IPv4Address(be32(b, q + 12)), destination: IPv4Address(be32(b, q + 16)), proto: qp)
                    if p.layers.contains(.ipip) {
                        quoted?.tunnelled = TunnelledPacket(source: p.innerSource.ipv4, destination: p.innerDestination.ipv4,
                                                            proto: b[q + Int(b[q] & 0x0f) * 4 + 9])
                    }
                    if p.layers.contains(.tcp) {
                        quoted?.sourcePort = p.sourcePort
                        quoted?.destinationPort = p.destinationPort
                    }
                }
                packet.icmp = ICMPMessage(type: p.icmpType, code: p.icmpCode, quoted: quoted)
            } else {
                var tcp: TCPSegment?
                if p.isTCP && p.layers.contains(.tcp) {
                    let t = Int(p.l4)
                    let dataOffset = Int(b[t + 12] >> 4) * 4
                    // The payload from the length of the IPv4 header that carries the segment.
                    let ip = p.layers.contains(.ipip) ? o + Int(b[o] & 0x0f) * 4 : o
                    tcp = TCPSegment(
                        sourcePort: p.sourcePort, destinationPort: p.destinationPort,
                        sequenceNumber: be32(b, t + 4), acknowledgmentNumber: be32(b, t + 8),
                        flags: p.tcpFlags,
                        payloadLength: max(0, Int(be16(b, ip + 2)) - (t - ip) - dataOffset))
                }
                if p.layers.contains(.ipip) {
                    let i = o + Int(b[o] & 0x0f) * 4
                    packet.tunnelled = TunnelledPacket(source: p.innerSource.ipv4, destination: p.innerDestination.ipv4, proto: b[i + 9], tcp: tcp)
                } else {
                    packet.tcp = tcp
                }
            }
            payload = .ipv4(packet)
        }
        return DecodedFrame(timestamp: timestamp, sourceMAC: p.sourceMAC.address, destinationMAC: p.destinationMAC.address, payload: payload)
    }

    /// The ARP fields of a frame `Packet` decoded as ARP.
    static func arp(_ b: UnsafeRawBufferPointer, _ p: Packet) -> ARPPacket {
        let o = Int(p.l3)
        return ARPPacket(operation: be16(b, o + 6), senderMAC: MAC48(be48(b, o + 8)).address, senderIP: IPv4Address(be32(b, o + 14)),
                         targetMAC: MAC48(be48(b, o + 18)).address, targetIP: IPv4Address(be32(b, o + 24)))
    }

    @inline(__always) static func be16(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt16 { UInt16(b[i]) << 8 | UInt16(b[i + 1]) }
    @inline(__always) static func be32(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }
    @inline(__always) static func be48(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt64 {
        UInt64(be16(b, i)) << 32 | UInt64(be32(b, i + 2))
    }
}
