import LblabTypes

/// An IPv6 header, with the TCP segment or the ICMPv6 message it carries (after any extension
/// headers).
public struct IPv6Packet: Sendable, Equatable {
    public var source: IPv6Address
    public var destination: IPv6Address
    /// The upper-layer protocol (6 TCP, 58 ICMPv6), after hop-by-hop, routing, fragment and
    /// destination-options headers.
    public var nextHeader: UInt8
    public var hopLimit: UInt8
    /// The header's payload length (extension headers included).
    public var payloadLength: Int
    public var tcp: TCPSegment?
    public var icmp: ICMPv6Message?

    public init(source: IPv6Address, destination: IPv6Address, nextHeader: UInt8, hopLimit: UInt8, payloadLength: Int = 0,
                tcp: TCPSegment? = nil, icmp: ICMPv6Message? = nil) {
        self.source = source
        self.destination = destination
        self.nextHeader = nextHeader
        self.hopLimit = hopLimit
        self.payloadLength = payloadLength
        self.tcp = tcp
        self.icmp = icmp
    }
}

/// An ICMPv6 message (RFC 4443); for neighbour discovery (RFC 4861) its target address.
public struct ICMPv6Message: Sendable, Equatable {
    public var type: UInt8
    public var code: UInt8
    /// Neighbour solicitation (135) and advertisement (136): the address asked or answered for.
    public var target: IPv6Address?
    /// A neighbour advertisement's flags: router 0x80, solicited 0x40, override 0x20.
    public var flags: UInt8

    public static let neighbourSolicitation: UInt8 = 135
    public static let neighbourAdvertisement: UInt8 = 136

    public init(type: UInt8, code: UInt8, target: IPv6Address? = nil, flags: UInt8 = 0) {
        self.type = type
        self.code = code
        self.target = target
        self.flags = flags
    }

    public var isNeighbourSolicitation: Bool { type == Self.neighbourSolicitation }
    public var isNeighbourAdvertisement: Bool { type == Self.neighbourAdvertisement }
    public var isSolicited: Bool { flags & 0x40 != 0 }
    /// Destination unreachable, packet too big, time exceeded, parameter problem.
    public var isError: Bool { ICMPv6Message.isError(type: type) }
    static func isError(type: UInt8) -> Bool { (1...4).contains(type) }

    public var description: String { Self.describe(type: type, code: code) }

    /// As RFC 4443 and RFC 4861 name them.
    static func describe(type: UInt8, code: UInt8) -> String {
        switch type {
        case 1:
            let codes = ["no route to destination", "administratively prohibited", "beyond scope of source address",
                         "address unreachable", "port unreachable", "source address failed policy", "reject route"]
            return "destination unreachable (\(Int(code) < codes.count ? codes[Int(code)] : "code \(code)"))"
        case 2: return "packet too big"
        case 3: return code == 0 ? "time exceeded (hop limit)" : "time exceeded (reassembly)"
        case 4: return "parameter problem (code \(code))"
        case 128: return "echo request"
        case 129: return "echo reply"
        case 133: return "router solicitation"
        case 134: return "router advertisement"
        case 135: return "neighbour solicitation"
        case 136: return "neighbour advertisement"
        case 143: return "MLDv2 report"
        default: return "ICMPv6 type \(type) code \(code)"
        }
    }
}

/// A neighbour solicitation or advertisement as the NDP rule reads it.
struct NDPMessage: Sendable {
    let type: UInt8
    let target: IPv6Address
    let flags: UInt8
    var isAdvertisement: Bool { type == ICMPv6Message.neighbourAdvertisement }
}

extension Packet {
    /// A neighbour solicitation or advertisement (ICMPv6 135/136) whose target the bytes reach.
    var isNDP: Bool {
        kind == .ipv6 && layers.contains(.icmp) && !layers.contains(.quoted)
            && (icmpType == ICMPv6Message.neighbourSolicitation || icmpType == ICMPv6Message.neighbourAdvertisement)
    }

    /// The IPv6 part of `init(_:)`: the header at `o`, extension headers, then TCP, UDP or ICMPv6 (an
    /// ICMPv6 error's quoted packet in the inner fields, as for ICMP).
    mutating func decodeIPv6(_ b: UnsafeRawBufferPointer, _ o: Int) {
        guard let ip = Self.ipv6(b, o) else { return }
        kind = .ipv6
        proto = ip.proto
        (source, destination) = (ip.source, ip.destination)
        (innerSource, innerDestination) = (ip.source, ip.destination)
        guard ip.first else { return }
        let t = ip.payload
        if ip.proto == 58, b.count >= t + 4 {  // ICMPv6
            layers.insert(.icmp)
            l4 = UInt16(t)
            icmpType = b[t]
            icmpCode = b[t + 1]
            guard ICMPv6Message.isError(type: icmpType), let q = Self.ipv6(b, t + 8) else { return }
            layers.insert(.quoted)
            (innerSource, innerDestination) = (q.source, q.destination)
            if q.first, q.proto == 17, b.count >= q.payload + 4 {
                layers.insert(.udp)
                sourcePort = FrameDecoder.be16(b, q.payload)
                destinationPort = FrameDecoder.be16(b, q.payload + 2)
                datagram = FrameDecoder.datagramNumber(b, q.payload + 8)
            }
            if q.first, q.proto == 6, b.count >= q.payload + 4 {
                layers.insert(.tcp)
                sourcePort = FrameDecoder.be16(b, q.payload)
                destinationPort = FrameDecoder.be16(b, q.payload + 2)
                if b.count >= q.payload + 14 { tcpFlags = b[q.payload + 13] }
            }
            return
        }
        if ip.proto == 6, b.count >= t + 14 {
            layers.insert(.tcp)
            l4 = UInt16(t)
            sourcePort = FrameDecoder.be16(b, t)
            destinationPort = FrameDecoder.be16(b, t + 2)
            tcpFlags = b[t + 13]
        } else if ip.proto == 17, b.count >= t + 8 {
            layers.insert(.udp)
            l4 = UInt16(t)
            sourcePort = FrameDecoder.be16(b, t)
            destinationPort = FrameDecoder.be16(b, t + 2)
            datagram = FrameDecoder.datagramNumber(b, t + 8)
        }
    }

    /// An IPv6 header at `o`, walked through its extension headers (hop-by-hop 0, routing 43,
    /// fragment 44, authentication 51, destination options 60): addresses, the upper-layer
    /// protocol and its offset, and whether this is the first (or only) fragment. `nil` when the
    /// bytes are no IPv6 header.
    static func ipv6(_ b: UnsafeRawBufferPointer, _ o: Int)
        -> (source: WireAddress, destination: WireAddress, proto: UInt8, payload: Int, first: Bool)? {
        guard o >= 0, b.count >= o + 40, b[o] >> 4 == 6 else { return nil }
        let source = WireAddress(high: FrameDecoder.be64(b, o + 8), low: FrameDecoder.be64(b, o + 16))
        let destination = WireAddress(high: FrameDecoder.be64(b, o + 24), low: FrameDecoder.be64(b, o + 32))
        var next = b[o + 6]
        var at = o + 40
        var first = true
        for _ in 0..<8 {
            switch next {
            case 0, 43, 60:
                guard b.count >= at + 2 else { return (source, destination, next, at, false) }
                (next, at) = (b[at], at + (Int(b[at + 1]) + 1) * 8)
            case 44:
                guard b.count >= at + 8 else { return (source, destination, next, at, false) }
                first = first && FrameDecoder.be16(b, at + 2) & 0xfff8 == 0
                (next, at) = (b[at], at + 8)
            case 51:
                guard b.count >= at + 2 else { return (source, destination, next, at, false) }
                (next, at) = (b[at], at + (Int(b[at + 1]) + 2) * 4)
            default:
                return (source, destination, next, at, first)
            }
        }
        return (source, destination, next, at, false)
    }
}

extension FrameDecoder {
    @inline(__always) static func be64(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt64 {
        UInt64(be32(b, i)) << 32 | UInt64(be32(b, i + 4))
    }

    /// The IPv6 fields of a frame `Packet` decoded as IPv6.
    static func ipv6(_ b: UnsafeRawBufferPointer, _ p: Packet) -> IPv6Packet {
        let o = Int(p.l3)
        var packet = IPv6Packet(source: p.source.ipv6, destination: p.destination.ipv6, nextHeader: p.proto, hopLimit: b[o + 7],
                                payloadLength: Int(be16(b, o + 4)))
        if p.layers.contains(.icmp) {
            let ndp = ndp(b, p)
            packet.icmp = ICMPv6Message(type: p.icmpType, code: p.icmpCode, target: ndp?.target, flags: ndp?.flags ?? 0)
        } else if p.isTCP && p.layers.contains(.tcp) {
            let t = Int(p.l4)
            let dataOffset = Int(b[t + 12] >> 4) * 4
            packet.tcp = TCPSegment(sourcePort: p.sourcePort, destinationPort: p.destinationPort,
                                    sequenceNumber: be32(b, t + 4), acknowledgmentNumber: be32(b, t + 8), flags: p.tcpFlags,
                                    payloadLength: max(0, o + 40 + packet.payloadLength - t - dataOffset))
        }
        return packet
    }

    /// The target (and an advertisement's flags) of a neighbour solicitation or advertisement;
    /// `nil` for other packets or when the bytes do not reach the target.
    static func ndp(_ b: UnsafeRawBufferPointer, _ p: Packet) -> NDPMessage? {
        let t = Int(p.l4)
        guard p.isNDP, b.count >= t + 24 else { return nil }
        return NDPMessage(type: p.icmpType, target: IPv6Address(high: be64(b, t + 8), low: be64(b, t + 16)), flags: b[t + 4])
    }
}
