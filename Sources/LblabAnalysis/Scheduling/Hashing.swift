import LblabTypes

/// The kernel's hash functions as the hashing schedulers (sh, dh, mh) use them, computed here the
/// same way so lblab predicts the server of every client (sh, mh) or destination (dh) exactly.
/// Written from `net/netfilter/ipvs/ip_vs_{sh,dh,mh}.c`, `include/linux/hash.h` and
/// `lib/siphash.c` (64-bit build) of Linux 6.1.
public enum KernelHash {
    /// `GOLDEN_RATIO_32` of `include/linux/hash.h`.
    static let goldenRatio32: UInt32 = 0x61C8_8647

    /// `hash_32(val, bits)`: the top `bits` of `val * GOLDEN_RATIO_32`.
    public static func hash32(_ value: UInt32, bits: Int) -> UInt32 {
        (value &* goldenRatio32) >> UInt32(32 - bits)
    }

    /// The address as IPVS folds it for hashing, in host order: IPv4 as is, IPv6 the XOR of its
    /// four 32-bit words.
    public static func fold(_ address: IPAddress) -> UInt32 {
        let b = address.bytes
        var v: UInt32 = 0
        for word in stride(from: 0, to: b.count, by: 4) {
            v ^= UInt32(b[word]) << 24 | UInt32(b[word + 1]) << 16 | UInt32(b[word + 2]) << 8 | UInt32(b[word + 3])
        }
        return v
    }

    /// The sh bucket (of 256) of a source address (and source port with `sh-port`, else 0).
    public static func shBucket(_ address: IPAddress, port: UInt16 = 0) -> Int {
        Int(hash32(UInt32(port) &+ fold(address), bits: 8))
    }

    /// The dh bucket (of 256) of a destination address.
    public static func dhBucket(_ address: IPAddress) -> Int { Int(hash32(fold(address), bits: 8)) }

    /// `hsiphash(&v, 4, key)` on a 64-bit kernel: SipHash-1-3 over the 4 bytes of `v` (little
    /// endian), with both 64-bit key words equal to `key`, truncated to 32 bits.
    public static func hsiphash(_ v: UInt32, key: UInt64) -> UInt32 {
        var v0: UInt64 = 0x736f_6d65_7073_6575 ^ key
        var v1: UInt64 = 0x646f_7261_6e64_6f6d ^ key
        var v2: UInt64 = 0x6c79_6765_6e65_7261 ^ key
        var v3: UInt64 = 0x7465_6462_7974_6573 ^ key
        func rol(_ x: UInt64, _ s: UInt64) -> UInt64 { (x << s) | (x >> (64 - s)) }
        func round() {
            v0 &+= v1; v1 = rol(v1, 13); v1 ^= v0; v0 = rol(v0, 32)
            v2 &+= v3; v3 = rol(v3, 16); v3 ^= v2
            v0 &+= v3; v3 = rol(v3, 21); v3 ^= v0
            v2 &+= v1; v1 = rol(v1, 17); v1 ^= v2; v2 = rol(v2, 32)
        }
        let b: UInt64 = (UInt64(4) << 56) | UInt64(v)
        v3 ^= b
        round()
        v0 ^= b
        v2 ^= 0xff
        round(); round(); round()
        return UInt32(truncatingIfNeeded: (v0 ^ v1) ^ (v2 ^ v3))
    }

    /// The mh keys (`generate_hash_secret`): fixed, so the table is the same on every boot.
    static let mhKey1: UInt64 = 2_654_435_761
    static let mhKey2: UInt64 = 2_654_446_892
    /// `CONFIG_IP_VS_MH_TAB_INDEX=12`: 4093 entries, weights shifted past 6 bits.
    public static let mhTableSize = 4093
    static let mhTableBits = 6

    /// The mh hash of an address (+ port with `mh-port`, + offset), as `ip_vs_mh_hashkey`.
    public static func mhHash(_ address: IPAddress, port: UInt16 = 0, key: UInt64, offset: UInt32 = 0) -> UInt32 {
        hsiphash(offset &+ UInt32(port) &+ fold(address), key: key)
    }

    /// The 256-bucket sh table: destinations in list order, each `weight` buckets in a row
    /// (at least one, even at weight 0), cycling (`ip_vs_sh_reassign`). Values: index into `weights`.
    public static func shTable(weights: [Int]) -> [Int] {
        guard !weights.isEmpty else { return [] }
        var table: [Int] = []
        var d = 0, count = 0
        for _ in 0..<256 {
            table.append(d)
            count += 1
            if count >= weights[d] { d = (d + 1) % weights.count; count = 0 }
        }
        return table
    }

    /// The 256-bucket dh table: destinations in list order, one bucket each, cycling (weights unused).
    public static func dhTable(count: Int) -> [Int] {
        count == 0 ? [] : (0..<256).map { $0 % count }
    }

    /// The Maglev lookup table of `ip_vs_mh_populate` (values: index into `destinations`, -1
    /// empty). `destinations`: (address, port, last weight) in list order.
    public static func mhTable(_ destinations: [(address: IPAddress, port: UInt16, weight: Int)]) -> [Int] {
        let size = mhTableSize
        var g = 0
        for d in destinations where d.weight > 0 { g = g > 0 ? gcd(d.weight, g) : d.weight }
        guard g >= 1 else { return Array(repeating: -1, count: size) }
        let mw = (destinations.map(\.weight).max() ?? 0) / g
        let fls = mw == 0 ? 0 : (Int.bitWidth - mw.leadingZeroBitCount)
        let shift = max(0, fls - mhTableBits)
        var perm = destinations.map { Int(mhHash($0.address, port: $0.port, key: mhKey1) % UInt32(size)) }
        let skip = destinations.map { Int(mhHash($0.address, port: $0.port, key: mhKey2) % UInt32(size - 1)) + 1 }
        let turns = destinations.map { d -> Int in
            let t = (d.weight / g) >> shift
            return t != 0 ? t : (d.weight != 0 ? 1 : 0)
        }
        var table = Array(repeating: -1, count: size)
        var taken = Array(repeating: false, count: size)
        var n = 0
        // The kernel's loop: destinations in list order, each placing `turns` entries in a row
        // (its next free preferred slot each time), round after round until the table is full.
        while n < size {
            var i = 0, dt = 0
            while i < destinations.count {
                if turns[i] < 1 { i += 1; continue }
                var c = perm[i]
                while taken[c] {
                    perm[i] += skip[i]
                    if perm[i] >= size { perm[i] -= size }
                    c = perm[i]
                }
                taken[c] = true
                table[c] = i
                n += 1
                if n == size { return table }
                dt += 1
                if dt >= turns[i] { dt = 0; i += 1 }
            }
        }
        return table
    }

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
}
