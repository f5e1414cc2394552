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

/// Decodes Ethernet II frames: ARP, IPv4 and TCP. Tolerant of truncated frames (snapshot length):
/// it never reads past the end and decodes as much as the bytes allow.
public enum FrameDecoder {
    public static let etherTypeIPv4: UInt16 = 0x0800
    public static let etherTypeARP: UInt16 = 0x0806
    public static let etherTypeVLAN: UInt16 = 0x8100

    /// `nil` only when the frame is shorter than an Ethernet header.
    public static func decode(_ bytes: [UInt8], timestamp: Double) -> DecodedFrame? {
        guard bytes.count >= 14,
              let dst = MACAddress(bytes: bytes[0..<6]),
              let src = MACAddress(bytes: bytes[6..<12]) else { return nil }
        var etherType = be16(bytes, 12)
        var offset = 14
        if etherType == etherTypeVLAN {  // one 802.1Q tag
            guard bytes.count >= 18 else { return DecodedFrame(timestamp: timestamp, sourceMAC: src, destinationMAC: dst, payload: .other(etherType: etherType)) }
            etherType = be16(bytes, 16)
            offset = 18
        }
        let payload: DecodedFrame.Payload
        switch etherType {
        case etherTypeARP:
            payload = decodeARP(bytes, offset).map { .arp($0) } ?? .other(etherType: etherType)
        case etherTypeIPv4:
            payload = decodeIPv4(bytes, offset).map { .ipv4($0) } ?? .other(etherType: etherType)
        default:
            payload = .other(etherType: etherType)
        }
        return DecodedFrame(timestamp: timestamp, sourceMAC: src, destinationMAC: dst, payload: payload)
    }

    static func decodeARP(_ b: [UInt8], _ o: Int) -> ARPPacket? {
        guard b.count >= o + 28,
              be16(b, o) == 1, be16(b, o + 2) == etherTypeIPv4, b[o + 4] == 6, b[o + 5] == 4,
              let sha = MACAddress(bytes: b[(o + 8)..<(o + 14)]),
              let spa = IPv4Address(bytes: b[(o + 14)..<(o + 18)]),
              let tha = MACAddress(bytes: b[(o + 18)..<(o + 24)]),
              let tpa = IPv4Address(bytes: b[(o + 24)..<(o + 28)]) else { return nil }
        return ARPPacket(operation: be16(b, o + 6), senderMAC: sha, senderIP: spa, targetMAC: tha, targetIP: tpa)
    }

    static func decodeIPv4(_ b: [UInt8], _ o: Int) -> IPv4Packet? {
        guard b.count >= o + 20, b[o] >> 4 == 4 else { return nil }
        let ihl = Int(b[o] & 0x0f) * 4
        guard ihl >= 20,
              let src = IPv4Address(bytes: b[(o + 12)..<(o + 16)]),
              let dst = IPv4Address(bytes: b[(o + 16)..<(o + 20)]) else { return nil }
        let totalLength = Int(be16(b, o + 2))
        let proto = b[o + 9]
        var packet = IPv4Packet(source: src, destination: dst, proto: proto, ttl: b[o + 8], totalLength: totalLength)
        let fragmentOffset = be16(b, o + 6) & 0x1fff
        let t = o + ihl
        if proto == 6, fragmentOffset == 0, b.count >= t + 14 {
            let dataOffset = Int(b[t + 12] >> 4) * 4
            packet.tcp = TCPSegment(
                sourcePort: be16(b, t), destinationPort: be16(b, t + 2),
                sequenceNumber: be32(b, t + 4), acknowledgmentNumber: be32(b, t + 8),
                flags: b[t + 13],
                payloadLength: max(0, totalLength - ihl - dataOffset))
        }
        return packet
    }

    @inline(__always) static func be16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) << 8 | UInt16(b[i + 1]) }
    @inline(__always) static func be32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }
}
