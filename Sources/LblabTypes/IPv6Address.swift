/// An IPv6 address, stored as two host-order halves (`2001:db8::1` is `hi 0x2001_0db8_0000_0000`,
/// `lo 0x0000_0000_0000_0001`).
public struct IPv6Address: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Parses RFC 4291 text: eight groups of up to four hex digits, one `::` for a run of zero
    /// groups, and an optional dotted IPv4 tail (`::ffff:192.0.2.1`). `nil` for anything else.
    public init?(_ text: String) {
        guard !text.isEmpty, text.count <= 45, text.allSatisfy({ $0.isASCII }) else { return nil }
        var halves: [String] = []
        var rest = Substring(text)
        while let r = rest.firstRange(of: "::") {
            halves.append(String(rest[..<r.lowerBound]))
            rest = rest[r.upperBound...]
        }
        halves.append(String(rest))
        // (A stray ':' next to '::' leaves an empty group, which the group parser rejects.)
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String, allowIPv4Tail: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            for (i, f) in fields.enumerated() {
                if allowIPv4Tail, i == fields.count - 1, f.contains(".") {
                    guard let v4 = IPv4Address(String(f)) else { return nil }
                    out += [UInt16(v4.value >> 16), UInt16(v4.value & 0xffff)]
                    continue
                }
                guard (1...4).contains(f.count), let g = UInt16(f, radix: 16) else { return nil }
                out.append(g)
            }
            return out
        }
        var words: [UInt16]
        if halves.count == 2 {
            guard let head = groups(halves[0], allowIPv4Tail: false), let tail = groups(halves[1], allowIPv4Tail: true),
                  head.count + tail.count <= 7 else { return nil }
            words = head + [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard let all = groups(halves[0], allowIPv4Tail: true), all.count == 8 else { return nil }
            words = all
        }
        self.init(words: words)
    }

    /// From eight 16-bit groups, most significant first.
    public init(words: [UInt16]) {
        precondition(words.count == 8, "an IPv6 address has eight groups")
        high = words[0..<4].reduce(0) { $0 << 16 | UInt64($1) }
        low = words[4..<8].reduce(0) { $0 << 16 | UInt64($1) }
    }

    /// Network-order bytes (16), as on the wire and in netlink attributes.
    public var bytes: [UInt8] {
        (0..<8).map { UInt8(high >> (56 - 8 * UInt64($0)) & 0xff) } + (0..<8).map { UInt8(low >> (56 - 8 * UInt64($0)) & 0xff) }
    }

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count >= 16 else { return nil }
        let b = Array(bytes.prefix(16))
        high = b[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        low = b[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
    }

    public var words: [UInt16] {
        (0..<4).map { UInt16(truncatingIfNeeded: high >> (48 - 16 * UInt64($0))) }
            + (0..<4).map { UInt16(truncatingIfNeeded: low >> (48 - 16 * UInt64($0))) }
    }

    /// RFC 5952 text: lower case, no leading zeros, the longest run of two or more zero groups
    /// (the first of equal runs) as `::`.
    public var description: String {
        let w = words
        var best = (start: -1, length: 0)
        var i = 0
        while i < 8 {
            guard w[i] == 0 else { i += 1; continue }
            var j = i
            while j < 8 && w[j] == 0 { j += 1 }
            if j - i > best.length { best = (i, j - i) }
            i = j
        }
        func hex(_ r: Range<Int>) -> String { w[r].map { String($0, radix: 16) }.joined(separator: ":") }
        guard best.length >= 2 else { return hex(0..<8) }
        return hex(0..<best.start) + "::" + hex((best.start + best.length)..<8)
    }

    public static func < (l: Self, r: Self) -> Bool { (l.high, l.low) < (r.high, r.low) }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let a = IPv6Address(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IPv6 address: \(text)"))
        }
        self = a
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
