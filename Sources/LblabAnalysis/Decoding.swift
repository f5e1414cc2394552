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

/// An IPv4 header, with the TCP segment when there is one.
public struct IPv4Packet: Sendable, Equatable {
    public var source: IPv4Address
    public var destination: IPv4Address
    public var proto: UInt8
    public var ttl: UInt8
    public var totalLength: Int
    /// `nil` unless proto is TCP, this is the first fragment and the captured bytes reach the flags.
    public var tcp: TCPSegment?

    public init(source: IPv4Address, destination: IPv4Address, proto: UInt8, ttl: UInt8, totalLength: Int = 0, tcp: TCPSegment? = nil) {
        self.source = source
        self.destination = destination
        self.proto = proto
        self.ttl = ttl
        self.totalLength = totalLength
        self.tcp = tcp
    }
}

/// An Ethernet frame, decoded as far as lblab needs.
public struct DecodedFrame: Sendable, Equatable {
    public enum Payload: Sendable, Equatable {
        case arp(ARPPacket)
        case ipv4(IPv4Packet)
        /// Anything else, including ARP/IPv4 too short (or malformed) to decode.
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
    public var tcp: TCPSegment? { ipv4?.tcp }
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
struct Packet: Sendable {
    enum Kind: UInt8, Sendable {
        /// Shorter than an Ethernet header.
        case runt
        /// Neither ARP nor IPv4, or ARP/IPv4 too short or malformed to decode.
        case other
        case arp
        /// IPv4 without a decoded TCP header.
        case ipv4
        /// IPv4 with its TCP header (ports and flags).
        case tcp
    }

    var sourceMAC = MAC48(0)
    var destinationMAC = MAC48(0)
    /// IPv4 source address; for ARP, the sender's protocol address.
    var source = IPv4Address(0)
    /// IPv4 destination address; for ARP, the target's protocol address.
    var destination = IPv4Address(0)
    var sourcePort: UInt16 = 0
    var destinationPort: UInt16 = 0
    /// The EtherType after at most one 802.1Q tag.
    var etherType: UInt16 = 0
    /// Offset of the ARP or IPv4 header.
    var l3: UInt16 = 0
    /// Offset of the TCP header (`kind == .tcp`).
    var l4: UInt16 = 0
    var kind = Kind.runt
    /// IPv4 protocol number.
    var proto: UInt8 = 0
    var tcpFlags: UInt8 = 0

    var isIPv4: Bool { kind == .ipv4 || kind == .tcp }
    /// A TCP connection request: SYN without ACK.
    var isInitialSYN: Bool { kind == .tcp && tcpFlags & (TCPSegment.syn | TCPSegment.ack) == TCPSegment.syn }

    /// Decodes Ethernet II, one optional 802.1Q tag, ARP (Ethernet/IPv4), IPv4 and TCP, never reading
    /// past the end of `b` and decoding as much as its bytes allow (snapshot length).
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
            source = IPv4Address(FrameDecoder.be32(b, o + 14))
            destination = IPv4Address(FrameDecoder.be32(b, o + 24))
        case FrameDecoder.etherTypeIPv4:
            guard b.count >= o + 20, b[o] >> 4 == 4 else { return }
            let ihl = Int(b[o] & 0x0f) * 4
            guard ihl >= 20 else { return }
            kind = .ipv4
            proto = b[o + 9]
            source = IPv4Address(FrameDecoder.be32(b, o + 12))
            destination = IPv4Address(FrameDecoder.be32(b, o + 16))
            let fragmentOffset = FrameDecoder.be16(b, o + 6) & 0x1fff
            let t = o + ihl
            if proto == 6, fragmentOffset == 0, b.count >= t + 14 {
                kind = .tcp
                l4 = UInt16(t)
                sourcePort = FrameDecoder.be16(b, t)
                destinationPort = FrameDecoder.be16(b, t + 2)
                tcpFlags = b[t + 13]
            }
        default:
            return
        }
    }
}

/// Decodes Ethernet II frames: ARP, IPv4 and TCP. Tolerant of truncated frames (snapshot length):
/// it never reads past the end and decodes as much as the bytes allow.
public enum FrameDecoder {
    public static let etherTypeIPv4: UInt16 = 0x0800
    public static let etherTypeARP: UInt16 = 0x0806
    public static let etherTypeVLAN: UInt16 = 0x8100

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
        case .ipv4, .tcp:
            let o = Int(p.l3)
            let totalLength = Int(be16(b, o + 2))
            var packet = IPv4Packet(source: p.source, destination: p.destination, proto: p.proto, ttl: b[o + 8], totalLength: totalLength)
            if p.kind == .tcp {
                let t = Int(p.l4)
                let dataOffset = Int(b[t + 12] >> 4) * 4
                packet.tcp = TCPSegment(
                    sourcePort: p.sourcePort, destinationPort: p.destinationPort,
                    sequenceNumber: be32(b, t + 4), acknowledgmentNumber: be32(b, t + 8),
                    flags: p.tcpFlags,
                    payloadLength: max(0, totalLength - (t - o) - dataOffset))
            }
            payload = .ipv4(packet)
        }
        return DecodedFrame(timestamp: timestamp, sourceMAC: p.sourceMAC.address, destinationMAC: p.destinationMAC.address, payload: payload)
    }

    /// The ARP fields of a frame `Packet` decoded as ARP.
    static func arp(_ b: UnsafeRawBufferPointer, _ p: Packet) -> ARPPacket {
        let o = Int(p.l3)
        return ARPPacket(operation: be16(b, o + 6), senderMAC: MAC48(be48(b, o + 8)).address, senderIP: p.source,
                         targetMAC: MAC48(be48(b, o + 18)).address, targetIP: p.destination)
    }

    @inline(__always) static func be16(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt16 { UInt16(b[i]) << 8 | UInt16(b[i + 1]) }
    @inline(__always) static func be32(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }
    @inline(__always) static func be48(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt64 {
        UInt64(be16(b, i)) << 32 | UInt64(be32(b, i + 2))
    }
}
