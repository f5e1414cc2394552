/// The address family of an IP address, with the kernel's `AF_*` number.
public enum IPFamily: String, Sendable, Codable, CaseIterable {
    case ipv4, ipv6

    /// `AF_INET` (2) or `AF_INET6` (10).
    public var addressFamily: UInt16 {
        switch self {
        case .ipv4: 2
        case .ipv6: 10
        }
    }

    /// Bits in an address of this family.
    public var bitWidth: Int {
        switch self {
        case .ipv4: 32
        case .ipv6: 128
        }
    }
}

/// An IPv4 or IPv6 address.
public enum IPAddress: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text.
    public init?(_ text: String) {
        if let a = IPv4Address(text) { self = .v4(a) } else if text.contains(":"), let a = IPv6Address(text) { self = .v6(a) } else { return nil }
    }

    /// From 4 or 16 network-order bytes.
    public init?(bytes: some Collection<UInt8>) {
        switch bytes.count {
        case 4: self = .v4(IPv4Address(bytes: bytes)!)
        case 16: self = .v6(IPv6Address(bytes: bytes)!)
        default: return nil
        }
    }

    public var family: IPFamily {
        switch self {
        case .v4: .ipv4
        case .v6: .ipv6
        }
    }

    /// Network-order bytes: 4 for IPv4, 16 for IPv6.
    public var bytes: [UInt8] {
        switch self {
        case .v4(let a): a.bytes
        case .v6(let a): a.bytes
        }
    }

    public var ipv4: IPv4Address? { if case .v4(let a) = self { a } else { nil } }
    public var ipv6: IPv6Address? { if case .v6(let a) = self { a } else { nil } }

    public var description: String {
        switch self {
        case .v4(let a): a.description
        case .v6(let a): a.description
        }
    }

    /// `198.51.100.1:80` or `[2001:db8::1]:80`, as socket addresses are written.
    public func withPort(_ port: UInt16) -> String {
        switch self {
        case .v4(let a): "\(a):\(port)"
        case .v6(let a): "[\(a)]:\(port)"
        }
    }

    /// IPv4 sorts before IPv6; within a family, numerically.
    public static func < (l: Self, r: Self) -> Bool {
        switch (l, r) {
        case (.v4(let a), .v4(let b)): a < b
        case (.v6(let a), .v6(let b)): a < b
        case (.v4, .v6): true
        case (.v6, .v4): false
        }
    }

    /// The address `offset` places after this one (wrapping within the family).
    public func advanced(by offset: UInt64) -> IPAddress {
        switch self {
        case .v4(let a): .v4(IPv4Address(a.value &+ UInt32(truncatingIfNeeded: offset)))
        case .v6(let a): .v6(IPv6Address(high: a.high &+ (a.low.addingReportingOverflow(offset).overflow ? 1 : 0), low: a.low &+ offset))
        }
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let a = IPAddress(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IP address: \(text)"))
        }
        self = a
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// An interface address with its prefix length, IPv4 or IPv6: `198.51.100.2/24`, `2001:db8::2/64`.
/// Also serves as a prefix (a subnet or a route's destination).
public struct IPInterface: Hashable, Sendable, Codable, CustomStringConvertible {
    public var address: IPAddress
    public var prefixLength: Int

    public init(address: IPAddress, prefixLength: Int) {
        precondition((0...address.family.bitWidth).contains(prefixLength), "prefix length out of range")
        self.address = address
        self.prefixLength = prefixLength
    }

    /// A single host: /32 or /128.
    public init(host address: IPAddress) {
        self.init(address: address, prefixLength: address.family.bitWidth)
    }

    public init(_ v4: IPv4Interface) {
        self.init(address: .v4(v4.address), prefixLength: v4.prefixLength)
    }

    /// Parses `address/length`, or a bare address taken as a host prefix.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let a = IPAddress(String(parts[0])) else { return nil }
        var length = a.family.bitWidth
        if parts.count == 2 {
            guard parts[1].count <= 3, parts[1].allSatisfy(\.isNumber), let l = Int(parts[1]),
                  (0...a.family.bitWidth).contains(l) else { return nil }
            length = l
        }
        address = a
        prefixLength = length
    }

    public var family: IPFamily { address.family }

    /// The IPv4 view, when this is an IPv4 interface.
    public var ipv4: IPv4Interface? { address.ipv4.map { IPv4Interface(address: $0, prefixLength: prefixLength) } }

    /// The subnet's first address.
    public var network: IPAddress {
        switch address {
        case .v4(let a): .v4(IPv4Interface(address: a, prefixLength: prefixLength).network)
        case .v6(let a): .v6(IPv6Address(high: a.high & Self.mask6(prefixLength).0, low: a.low & Self.mask6(prefixLength).1))
        }
    }

    /// The IPv4 broadcast address of the subnet; `nil` for IPv6, which has none.
    public var broadcast: IPAddress? {
        ipv4.map { .v4($0.broadcast) }
    }

    /// The subnet as a prefix: `198.51.100.0/24`.
    public var subnet: IPInterface { IPInterface(address: network, prefixLength: prefixLength) }

    public func contains(_ other: IPAddress) -> Bool {
        switch (address, other) {
        case (.v4(let a), .v4(let b)): IPv4Interface(address: a, prefixLength: prefixLength).contains(b)
        case (.v6(let a), .v6(let b)): Self.sameUnderMask(a, b, prefixLength)
        case (.v4, .v6), (.v6, .v4): false
        }
    }

    /// How many addresses the subnet spans (saturating at `UInt64.max` for wide IPv6 prefixes).
    public var size: UInt64 {
        let hostBits = family.bitWidth - prefixLength
        return hostBits >= 64 ? UInt64.max : UInt64(1) << UInt64(hostBits)
    }

    public var description: String { "\(address)/\(prefixLength)" }

    private static func sameUnderMask(_ a: IPv6Address, _ b: IPv6Address, _ length: Int) -> Bool {
        let (hm, lm) = mask6(length)
        return a.high & hm == b.high & hm && a.low & lm == b.low & lm
    }

    private static func mask6(_ length: Int) -> (UInt64, UInt64) {
        let high: UInt64 = length >= 64 ? ~0 : (length == 0 ? 0 : ~UInt64(0) << UInt64(64 - length))
        let low: UInt64 = length <= 64 ? 0 : (length >= 128 ? ~0 : ~UInt64(0) << UInt64(128 - length))
        return (high, low)
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let a = IPInterface(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IP prefix: \(text)"))
        }
        self = a
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
