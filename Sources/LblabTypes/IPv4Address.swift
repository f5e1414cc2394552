/// An IPv4 address, stored in host order (`192.0.2.1` is `0xC000_0201`).
public struct IPv4Address: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses dotted-quad text; `nil` for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy(\.isASCII), let n = UInt8(p) else { return nil }
            v = v << 8 | UInt32(n)
        }
        value = v
    }

    /// Network-order bytes, as on the wire and in netlink attributes.
    public var bytes: [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count >= 4 else { return nil }
        var v: UInt32 = 0
        for b in bytes.prefix(4) { v = v << 8 | UInt32(b) }
        value = v
    }

    public var description: String { bytes.map(String.init).joined(separator: ".") }

    public static func < (l: Self, r: Self) -> Bool { l.value < r.value }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let a = IPv4Address(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IPv4 address: \(text)"))
        }
        self = a
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// An interface address with its prefix: `198.51.100.2/24`.
public struct IPv4Interface: Hashable, Sendable, Codable, CustomStringConvertible {
    public var address: IPv4Address
    public var prefixLength: Int

    public init(address: IPv4Address, prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Parses `a.b.c.d/len` (or a bare address, taken as /32).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let a = IPv4Address(String(parts[0])) else { return nil }
        var len = 32
        if parts.count == 2 {
            guard let l = Int(parts[1]), (0...32).contains(l) else { return nil }
            len = l
        }
        address = a
        prefixLength = len
    }

    public var mask: UInt32 { prefixLength == 0 ? 0 : ~UInt32(0) << (32 - UInt32(prefixLength)) }
    public var network: IPv4Address { IPv4Address(address.value & mask) }
    public var broadcast: IPv4Address { IPv4Address(address.value | ~mask) }

    public func contains(_ other: IPv4Address) -> Bool { other.value & mask == address.value & mask }

    public var description: String { "\(address)/\(prefixLength)" }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let a = IPv4Interface(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IPv4 prefix: \(text)"))
        }
        self = a
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
