import Foundation
import LblabTypes

/// The socket calls of the traffic engine, for either address family.
public enum Sockets {
    /// What a socket carries: a TCP stream or UDP datagrams.
    public enum Kind: Sendable, Hashable {
        case stream, datagram

        var type: Int32 {
            switch self {
            case .stream: Int32(SOCK_STREAM.rawValue)
            case .datagram: Int32(SOCK_DGRAM.rawValue)
            }
        }
    }

    /// Opens `count` non-blocking sockets of `family` in the calling thread's namespace (all or none).
    public static func open(_ count: Int, family: IPFamily, kind: Kind) throws -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            let fd = socket(Int32(family.addressFamily), kind.type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            if fd < 0 {
                let e = errno
                out.forEach { close($0) }
                throw TrafficError(message: "socket(\(family == .ipv4 ? "AF_INET" : "AF_INET6")): \(String(cString: strerror(e)))")
            }
            out.append(fd)
        }
        return out
    }

    /// `address:port` as a `sockaddr_in` or `sockaddr_in6` in a `sockaddr_storage`, and its length.
    static func socketAddress(_ address: IPAddress?, family: IPFamily, port: UInt16) -> (sockaddr_storage, socklen_t) {
        var storage = sockaddr_storage()
        switch family {
        case .ipv4:
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            if let b = address?.bytes, b.count == 4 {
                sa.sin_addr.s_addr = UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
            }
            withUnsafeBytes(of: sa) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
            return (storage, socklen_t(MemoryLayout<sockaddr_in>.size))
        case .ipv6:
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = port.bigEndian
            if let b = address?.bytes, b.count == 16 {
                withUnsafeMutableBytes(of: &sa.sin6_addr) { $0.copyBytes(from: b) }
            }
            withUnsafeBytes(of: sa) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
            return (storage, socklen_t(MemoryLayout<sockaddr_in6>.size))
        }
    }

    /// The address and port in a `sockaddr_storage` filled by the kernel.
    static func endpoint(_ storage: sockaddr_storage) -> (IPAddress?, UInt16) {
        withUnsafeBytes(of: storage) { raw -> (IPAddress?, UInt16) in
            switch Int32(storage.ss_family) {
            case AF_INET:
                let sa = raw.load(as: sockaddr_in.self)
                return (IPAddress(bytes: withUnsafeBytes(of: sa.sin_addr) { Array($0) }), UInt16(bigEndian: sa.sin_port))
            case AF_INET6:
                let sa = raw.load(as: sockaddr_in6.self)
                return (IPAddress(bytes: withUnsafeBytes(of: sa.sin6_addr) { Array($0) }), UInt16(bigEndian: sa.sin6_port))
            default:
                return (nil, 0)
            }
        }
    }

    /// Binds `fd` to the first free port from `next` on (and moves `next` past it): one fresh
    /// source port per connection, so no two of a run share one. Returns an error text.
    static func bindFreshPort(_ fd: Int32, family: IPFamily, next: inout UInt16) -> String? {
        while next < UInt16.max {
            var (sa, len) = socketAddress(nil, family: family, port: next)
            next += 1
            let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
            if rc == 0 { return nil }
            if errno != EADDRINUSE { return "bind: \(String(cString: strerror(errno)))" }
        }
        return "bind: no fresh source port left (at most \(maxPorts) connections per client and run)"
    }

    /// Non-blocking `connect`: nil when connected or in progress, else the error text.
    static func connect(_ fd: Int32, to address: IPAddress, port: UInt16) -> String? {
        var (sa, len) = socketAddress(address, family: address.family, port: port)
        let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, len) } }
        if rc != 0 && errno != EINPROGRESS { return "connect: \(String(cString: strerror(errno)))" }
        return nil
    }

    /// The socket's local address and port.
    static func localEnd(_ fd: Int32) -> (IPAddress?, UInt16) {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return rc == 0 ? endpoint(storage) : (nil, 0)
    }

    /// Source ports are handed out in order from here, per client.
    public static let firstPort: UInt16 = 2000
    /// How many connections one client can open in a run with fresh ports.
    public static let maxPorts = Int(UInt16.max - firstPort)
}

public struct TrafficError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Seconds on the monotonic clock.
func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
