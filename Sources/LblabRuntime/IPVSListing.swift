#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import LblabTypes

/// The IPVS table of one network namespace, as `ipvsadm -Ln` lists it.
///
/// A plain value: whoever reads the kernel (netlink) or a lab model fills it in, and
/// ``render()`` prints it byte for byte as ipvsadm 1.31 does with `-L -n` and no other
/// format option: the same header, the same columns and padding (including the spaces
/// that pad the last column), services and destinations in ipvsadm's order (it sorts
/// both), and the same words for schedulers' flags, persistence, one-packet scheduling,
/// forwarding methods, fwmark services and IPv6 addresses.
public struct IPVSListing: Sendable, Codable, Equatable {
    /// `IP_VS_VERSION_CODE` of the kernel, e.g. `0x010201` for 1.2.1.
    public var version: UInt32
    /// The size of the kernel's connection hash table (`size=` in the header).
    public var connectionTableSize: UInt32
    /// In any order: ``render()`` sorts them as ipvsadm does.
    public var services: [Service]

    public init(version: UInt32, connectionTableSize: UInt32, services: [Service]) {
        self.version = version
        self.connectionTableSize = connectionTableSize
        self.services = services
    }

    /// What identifies a virtual service.
    public enum Key: Sendable, Codable, Equatable {
        /// Protocol (`IPPROTO_*`: 6 TCP, 17 UDP, 132 SCTP), address and port (host order).
        case address(protocol: UInt16, address: IPAddress, port: UInt16)
        /// A firewall-mark service (`-f MARK`, with `-6` for IPv6).
        case fwmark(UInt32, family: IPFamily)

        var family: IPFamily {
            switch self {
            case .address(_, let a, _): a.family
            case .fwmark(_, let f): f
            }
        }
    }

    /// A virtual service with its destinations.
    public struct Service: Sendable, Codable, Equatable {
        public var key: Key
        public var scheduler: String
        /// `IP_VS_SVC_F_*`: persistent 0x1, hashed 0x2 (ignored), one-packet 0x4,
        /// scheduler flags 0x8 / 0x10 / 0x20.
        public var flags: UInt32
        /// Persistence timeout in seconds (printed when the service is persistent).
        public var timeout: UInt32
        /// Persistence granularity: for IPv4 the mask in host order (`0xffff_ff00` is
        /// 255.255.255.0, `0xffff_ffff` is none); for IPv6 the prefix length (128, or the
        /// all-ones value LblabNetlink reads it as, is none).
        public var netmask: UInt32
        /// Persistence engine (`--pe`, e.g. `sip`), if any.
        public var persistenceEngine: String?
        /// In any order: ``render()`` sorts them as ipvsadm does.
        public var destinations: [Destination]

        public init(key: Key, scheduler: String, flags: UInt32 = 0, timeout: UInt32 = 0, netmask: UInt32? = nil,
                    persistenceEngine: String? = nil, destinations: [Destination] = []) {
            self.key = key
            self.scheduler = scheduler
            self.flags = flags
            self.timeout = timeout
            self.netmask = netmask ?? (key.family == .ipv6 ? 128 : 0xffff_ffff)
            self.persistenceEngine = persistenceEngine
            self.destinations = destinations
        }

        public static let persistent: UInt32 = 0x1
        public static let onePacket: UInt32 = 0x4
        /// Scheduler flags 1-3 (`-b`): for sh and mh, 1 is `*-fallback` and 2 is `*-port`.
        public static let schedulerFlag1: UInt32 = 0x8
        public static let schedulerFlag2: UInt32 = 0x10
        public static let schedulerFlag3: UInt32 = 0x20
    }

    /// A real server of a service.
    public struct Destination: Sendable, Codable, Equatable {
        public var address: IPAddress
        public var port: UInt16
        /// `IP_VS_CONN_F_*` forwarding method: 0 Masq, 1 Local, 2 Tunnel, 3 Route (others
        /// have no name; ipvsadm prints `(null)` for them, and so does this).
        public var forwarding: UInt32
        public var weight: UInt32
        public var activeConnections: UInt32
        public var inactiveConnections: UInt32

        public init(address: IPAddress, port: UInt16, forwarding: UInt32, weight: UInt32,
                    activeConnections: UInt32 = 0, inactiveConnections: UInt32 = 0) {
            self.address = address
            self.port = port
            self.forwarding = forwarding
            self.weight = weight
            self.activeConnections = activeConnections
            self.inactiveConnections = inactiveConnections
        }

        public static let masquerade: UInt32 = 0
        public static let local: UInt32 = 1
        public static let tunnel: UInt32 = 2
        public static let directRoute: UInt32 = 3
    }

    /// The text `ipvsadm -Ln` prints for this table, every line ending in a newline.
    public func render() -> String {
        var out = "IP Virtual Server version \(version >> 16 & 0xff).\(version >> 8 & 0xff).\(version & 0xff)"
            + " (size=\(Int32(bitPattern: connectionTableSize)))\n"
        out += "Prot LocalAddress:Port Scheduler Flags\n"
        out += "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
        for service in Self.ipvsadmSorted(services, by: Self.compareServices) {
            out += Self.serviceLine(service) + "\n"
            for d in Self.ipvsadmSorted(service.destinations, by: Self.compareDestinations) {
                out += Self.destinationLine(d) + "\n"
            }
        }
        return out
    }

    // MARK: - Lines

    static func serviceLine(_ s: Service) -> String {
        var name: String
        switch s.key {
        case .fwmark(let mark, let family):
            name = "FWM  \(mark)" + (family == .ipv6 ? " IPv6" : "")
        case .address(let proto, let address, let port):
            name = pad(protocolName(proto), 4) + " " + addressAndPort(address, port)
            // ipvsadm cuts the name of a non-IPv6 service at 33 characters.
            if address.family != .ipv6 { name = String(name.utf8.prefix(33))! }
        }
        var line = name + " " + s.scheduler
        if s.flags & (Service.schedulerFlag1 | Service.schedulerFlag2 | Service.schedulerFlag3) != 0 {
            line += " (" + schedulerFlags(s) + ")"
        }
        if s.flags & Service.persistent != 0 {
            line += " persistent \(s.timeout)"
            switch s.key.family {
            case .ipv4 where s.netmask != 0xffff_ffff:
                line += " mask " + IPv4Address(s.netmask).description
            case .ipv6 where s.netmask != 128 && s.netmask != 0xffff_ffff:
                line += " mask \(Int32(bitPattern: s.netmask))"
            default:
                break
            }
            if let pe = s.persistenceEngine, !pe.isEmpty { line += " pe " + pe }
        }
        if s.flags & Service.onePacket != 0 { line += " ops" }
        return line
    }

    static func destinationLine(_ d: Destination) -> String {
        var name = addressAndPort(d.address, d.port)
        // ipvsadm cuts the name of a non-IPv6 destination at 28 characters.
        if d.address.family != .ipv6 { name = String(name.utf8.prefix(28))! }
        return "  -> " + pad(name, 28) + " " + pad(forwardingName(d.forwarding), 7) + " "
            + pad(String(Int32(bitPattern: d.weight)), 6) + " " + pad(String(d.activeConnections), 10) + " "
            + pad(String(d.inactiveConnections), 10)
    }

    /// `TCP`, `UDP`, `SCTP`, else `?`.
    static func protocolName(_ proto: UInt16) -> String {
        switch proto {
        case 6: "TCP"
        case 17: "UDP"
        case 132: "SCTP"
        default: "?"
        }
    }

    static func forwardingName(_ method: UInt32) -> String {
        switch method & 0x7 {
        case Destination.masquerade: "Masq"
        case Destination.local: "Local"
        case Destination.tunnel: "Tunnel"
        case Destination.directRoute: "Route"
        default: "(null)"  // glibc's printf of a NULL %s, which is what ipvsadm prints
        }
    }

    /// sh and mh name their two flags; other schedulers' flags are flag-1..3.
    static func schedulerFlags(_ s: Service) -> String {
        let names: [(UInt32, String)]
        switch s.scheduler {
        case "sh": names = [(Service.schedulerFlag1, "sh-fallback"), (Service.schedulerFlag2, "sh-port")]
        case "mh": names = [(Service.schedulerFlag1, "mh-fallback"), (Service.schedulerFlag2, "mh-port")]
        default:
            names = [(Service.schedulerFlag1, "flag-1"), (Service.schedulerFlag2, "flag-2"), (Service.schedulerFlag3, "flag-3")]
        }
        return names.filter { s.flags & $0.0 != 0 }.map(\.1).joined(separator: ",")
    }

    /// `a.b.c.d:port`, or `[v6]:port` in the text of the C library's `inet_ntop`.
    static func addressAndPort(_ address: IPAddress, _ port: UInt16) -> String {
        switch address {
        case .v4(let a): "\(a):\(port)"
        case .v6: "[\(inetNtop6(address.bytes))]:\(port)"
        }
    }

    static func inetNtop6(_ bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = bytes.withUnsafeBytes { raw in
            buffer.withUnsafeMutableBufferPointer { inet_ntop(AF_INET6, raw.baseAddress, $0.baseAddress, socklen_t($0.count)) != nil }
        }
        return ok ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
    }

    /// printf's `%-Ns`: left-aligned, padded with spaces to `width` bytes, never cut.
    static func pad(_ s: String, _ width: Int) -> String {
        let n = s.utf8.count
        return n >= width ? s : s + String(repeating: " ", count: width - n)
    }

    // MARK: - ipvsadm's order

    /// ipvsadm sorts with `qsort`, which in glibc (Debian 12's 2.36) is a top-down merge
    /// sort; its comparators subtract unsigned 32-bit values into an `int`, so 10.0.0.1 sorts
    /// after 200.0.0.1 (the difference wraps). Both are reproduced here, so the order is
    /// ipvsadm's even where it is not numeric.
    static func ipvsadmSorted<T>(_ items: [T], by compare: (T, T) -> Int32) -> [T] {
        guard items.count > 1 else { return items }
        let n1 = items.count / 2
        let left = ipvsadmSorted(Array(items[..<n1]), by: compare)
        let right = ipvsadmSorted(Array(items[n1...]), by: compare)
        var out: [T] = []
        out.reserveCapacity(items.count)
        var i = 0, j = 0
        while i < left.count && j < right.count {
            if compare(left[i], right[j]) <= 0 { out.append(left[i]); i += 1 } else { out.append(right[j]); j += 1 }
        }
        out += left[i...]
        out += right[j...]
        return out
    }

    /// `(int)(a - b)` of two unsigned 32-bit values.
    static func wrappedDifference(_ a: UInt32, _ b: UInt32) -> Int32 { Int32(bitPattern: a &- b) }

    /// The 16 bytes of a `union nf_inet_addr` as four host-order words (IPv4 in the first).
    static func words(_ address: IPAddress?) -> [UInt32] {
        var bytes = address?.bytes ?? []
        bytes += [UInt8](repeating: 0, count: 16 - bytes.count)
        return (0..<4).map { i in bytes[4 * i..<4 * i + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } }
    }

    /// Address comparison of libipvs: the first word only, unless the left side is IPv6.
    static func compareAddresses(_ a: IPAddress?, _ b: IPAddress?, leftFamily: IPFamily) -> Int32 {
        let wa = words(a), wb = words(b)
        if leftFamily == .ipv6 {
            for k in 0..<4 {
                let r = wrappedDifference(wa[k], wb[k])
                if r != 0 { return r }
            }
            return 0
        }
        return wrappedDifference(wa[0], wb[0])
    }

    /// libipvs' `ipvs_cmp_services`: fwmark, family, protocol, address, port.
    static func compareServices(_ a: Service, _ b: Service) -> Int32 {
        func parts(_ k: Key) -> (mark: UInt32, proto: UInt16, address: IPAddress?, port: UInt16) {
            switch k {
            case .fwmark(let m, _): (m, 0, nil, 0)
            case .address(let p, let addr, let port): (0, p, addr, port)
            }
        }
        let pa = parts(a.key), pb = parts(b.key)
        var r = wrappedDifference(pa.mark, pb.mark)
        if r != 0 { return r }
        r = Int32(a.key.family.addressFamily) - Int32(b.key.family.addressFamily)
        if r != 0 { return r }
        r = Int32(pa.proto) - Int32(pb.proto)
        if r != 0 { return r }
        r = compareAddresses(pa.address, pb.address, leftFamily: a.key.family)
        if r != 0 { return r }
        return Int32(pa.port) - Int32(pb.port)
    }

    /// libipvs' `ipvs_cmp_dests`: address, then port.
    static func compareDestinations(_ a: Destination, _ b: Destination) -> Int32 {
        let r = compareAddresses(a.address, b.address, leftFamily: a.address.family)
        return r != 0 ? r : Int32(a.port) - Int32(b.port)
    }
}
