import LblabTypes

/// An IPv4 or IPv6 address as the analysis compares and hashes it: two integers, no heap. IPv4
/// is held IPv4-mapped (`::ffff:a.b.c.d`, RFC 4291 2.5.5.2), so one type serves frames of both
/// families and a decoded frame stays a fixed-size value.
struct WireAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    var high: UInt64
    var low: UInt64

    static let zero = WireAddress(high: 0, low: 0)

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// An IPv4 address in host order.
    init(v4 value: UInt32) {
        high = 0
        low = 0xffff_0000_0000 | UInt64(value)
    }

    init(_ a: IPv4Address) { self.init(v4: a.value) }
    init(_ a: IPv6Address) { self.init(high: a.high, low: a.low) }

    init(_ a: IPAddress) {
        switch a {
        case .v4(let v4): self.init(v4)
        case .v6(let v6): self.init(v6)
        }
    }

    var isIPv4: Bool { high == 0 && low >> 32 == 0xffff }

    var ip: IPAddress { isIPv4 ? .v4(IPv4Address(UInt32(truncatingIfNeeded: low))) : .v6(IPv6Address(high: high, low: low)) }

    /// The IPv4 address (the low 32 bits), for an address decoded from an IPv4 header or ARP.
    var ipv4: IPv4Address { IPv4Address(UInt32(truncatingIfNeeded: low)) }
    var ipv6: IPv6Address { IPv6Address(high: high, low: low) }

    var description: String { ip.description }

    static func < (l: Self, r: Self) -> Bool { (l.high, l.low) < (r.high, r.low) }
}
