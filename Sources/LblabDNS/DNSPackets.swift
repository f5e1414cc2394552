import LblabCapture
import LblabTypes

/// A DNS message seen on the wire: when, between which addresses, and what it said.
public struct DNSPacket: Sendable, Equatable, Codable {
    public var time: Double
    public var source: IPv4Address
    public var destination: IPv4Address
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var message: DNSMessage

    public init(time: Double, source: IPv4Address, destination: IPv4Address, sourcePort: UInt16, destinationPort: UInt16, message: DNSMessage) {
        self.time = time
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.message = message
    }
}

public enum DNSPackets {
    /// The DNS messages (UDP port 53, IPv4 over Ethernet, an 802.1Q tag skipped) in captured frames, in order.
    public static func extract(_ frames: CapturedFrames) -> [DNSPacket] {
        var out: [DNSPacket] = []
        for i in frames.indices {
            let r = frames.range(of: i)
            if let p = decode(frames.bytes[r], time: frames.timestamps[i]) { out.append(p) }
        }
        return out
    }

    /// One frame, if it carries a DNS message.
    public static func decode(_ frame: ArraySlice<UInt8>, time: Double) -> DNSPacket? {
        let f = Array(frame)
        guard f.count >= 14 else { return nil }
        var o = 12
        var type = UInt16(f[o]) << 8 | UInt16(f[o + 1])
        if type == 0x8100, f.count >= 18 { o += 4; type = UInt16(f[o]) << 8 | UInt16(f[o + 1]) }
        o += 2
        guard type == 0x0800, f.count >= o + 20, f[o] >> 4 == 4 else { return nil }
        let ihl = Int(f[o] & 0x0f) * 4
        let fragment = (UInt16(f[o + 6]) << 8 | UInt16(f[o + 7])) & 0x3fff
        guard f[o + 9] == 17, fragment == 0, ihl >= 20, f.count >= o + ihl + 8,
              let src = IPv4Address(bytes: f[(o + 12)..<(o + 16)]), let dst = IPv4Address(bytes: f[(o + 16)..<(o + 20)]) else { return nil }
        let u = o + ihl
        let sport = UInt16(f[u]) << 8 | UInt16(f[u + 1]), dport = UInt16(f[u + 2]) << 8 | UInt16(f[u + 3])
        guard sport == 53 || dport == 53, let m = DNSMessage(bytes: f[(u + 8)...]) else { return nil }
        return DNSPacket(time: time, source: src, destination: dst, sourcePort: sport, destinationPort: dport, message: m)
    }
}
