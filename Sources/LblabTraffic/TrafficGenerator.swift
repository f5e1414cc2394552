import Foundation

/// What happened to one client connection.
public struct ConnectionResult: Sendable, Codable, Equatable {
    /// The client's source address (as the kernel chose it for the connection), if known.
    public var localAddress: String?
    /// The client's source port (fresh per connection).
    public var localPort: UInt16
    /// The real server that answered (from its `X-Lblab-Node` header), nil when it failed.
    public var server: String?
    public var error: String?
    /// Seconds from the start of the run to this connection's connect.
    public var start: Double
    /// Seconds from connect to the end of the response.
    public var latency: Double
}

/// Sends N new TCP connections, one HTTP/1.0 request each, at most C at a time, with a
/// `poll` loop on the calling thread. Sockets come from `makeSocket`, which the caller runs
/// inside the client's network namespace; everything after that happens here.
public struct TrafficGenerator {
    public var target: (address: String, port: UInt16)
    public var connections: Int
    public var concurrency: Int
    public var timeout: Double

    public init(address: String, port: UInt16, connections: Int, concurrency: Int, timeout: Double) {
        target = (address, port)
        self.connections = connections
        self.concurrency = concurrency
        self.timeout = timeout
    }

    private final class Connection {
        let fd: Int32
        let started: Double
        var localPort: UInt16 = 0
        var localAddress: String?
        var connected = false
        var request: [UInt8]
        var response: [UInt8] = []
        init(fd: Int32, started: Double, request: [UInt8]) {
            self.fd = fd
            self.started = started
            self.request = request
        }
    }

    /// Runs the traffic; returns one result per connection, in the order they finished.
    /// `makeSocket(k)` must return `k` non-blocking TCP sockets.
    public func run(makeSockets: (Int) throws -> [Int32]) -> [ConnectionResult] {
        let t0 = now()
        var results: [ConnectionResult] = []
        results.reserveCapacity(connections)
        var active: [Connection] = []
        var started = 0
        var nextPort = Self.firstPort
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = target.port.bigEndian
        inet_pton(AF_INET, target.address, &addr.sin_addr)
        let request = Array("GET / HTTP/1.0\r\nHost: \(target.address)\r\nUser-Agent: lblab\r\n\r\n".utf8)

        func finish(_ c: Connection, error: String?) {
            close(c.fd)
            var server: String?
            if error == nil {
                server = Self.node(inResponse: c.response)
            }
            let err = error ?? (server == nil ? "response without X-Lblab-Node (\(c.response.count) bytes)" : nil)
            results.append(ConnectionResult(localAddress: c.localAddress, localPort: c.localPort, server: err == nil ? server : nil, error: err,
                                            start: c.started - t0, latency: now() - c.started))
        }

        while started < connections || !active.isEmpty {
            let want = min(concurrency - active.count, connections - started)
            if want > 0 {
                let fds: [Int32]
                do { fds = try makeSockets(want) } catch {
                    for _ in 0..<want {
                        results.append(ConnectionResult(localAddress: nil, localPort: 0, server: nil, error: "socket: \(error)", start: now() - t0, latency: 0))
                    }
                    started += want
                    continue
                }
                for fd in fds {
                    started += 1
                    let c = Connection(fd: fd, started: now(), request: request)
                    if let error = bindFreshPort(fd, &nextPort) {
                        finish(c, error: error)
                        continue
                    }
                    let rc = withUnsafePointer(to: &addr) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                    }
                    (c.localAddress, c.localPort) = Self.localEnd(fd)
                    if rc != 0 && errno != EINPROGRESS {
                        finish(c, error: "connect: \(String(cString: strerror(errno)))")
                        continue
                    }
                    active.append(c)
                }
            }
            var pfds = active.map { c in
                pollfd(fd: c.fd, events: Int16(c.request.isEmpty ? POLLIN : POLLOUT), revents: 0)
            }
            let deadlineMS = active.map { Int(($0.started + timeout - now()) * 1000) }.min() ?? 0
            _ = poll(&pfds, nfds_t(pfds.count), Int32(max(0, min(deadlineMS + 1, 1000))))
            var still: [Connection] = []
            for (c, p) in zip(active, pfds) {
                if case .finished(let error) = step(c, revents: p.revents) {
                    finish(c, error: error)
                } else if now() - c.started > timeout {
                    finish(c, error: c.connected ? "timeout waiting for the response" : "timeout connecting")
                } else {
                    still.append(c)
                }
            }
            active = still
        }
        return results
    }

    private enum Progress {
        case pending
        /// Finished: nil error means the response arrived in full.
        case finished(error: String?)
    }

    /// Advances one connection as far as it can go without blocking.
    private func step(_ c: Connection, revents: Int16) -> Progress {
        if revents == 0 { return .pending }
        if !c.connected {
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len)
            if err != 0 { return .finished(error: "connect: \(String(cString: strerror(err)))") }
            c.connected = true
        }
        if !c.request.isEmpty {
            let n = c.request.withUnsafeBytes { send(c.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                return errno == EAGAIN ? .pending : .finished(error: "send: \(String(cString: strerror(errno)))")
            }
            c.request.removeFirst(n)
            return .pending
        }
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { c.response += buf[..<n]; continue }
            if n == 0 { return .finished(error: nil) }
            if errno == EAGAIN { return .pending }
            return .finished(error: "recv: \(String(cString: strerror(errno)))")
        }
    }

    /// Source ports are handed out in order from here, one per connection, so no two
    /// connections of a run share one (the kernel's ephemeral choice may reuse a port within
    /// a run, which IPVS's connection reuse handling and the per-flow analysis both notice).
    public static let firstPort: UInt16 = 2000
    /// How many connections one run can have with fresh ports.
    public static let maxConnections = Int(UInt16.max - firstPort)

    /// Binds `fd` to the next free port from `next` on.
    private func bindFreshPort(_ fd: Int32, _ next: inout UInt16) -> String? {
        while next < UInt16.max {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_port = next.bigEndian
            next += 1
            let rc = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if rc == 0 { return nil }
            if errno != EADDRINUSE { return "bind: \(String(cString: strerror(errno)))" }
        }
        return "bind: no fresh source port left (at most \(Self.maxConnections) connections per run)"
    }

    static func node(inResponse bytes: [UInt8]) -> String? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.hasPrefix("HTTP/1.") else { return nil }
        for line in text.split(separator: "\r\n") {
            let l = line.lowercased()
            if l.hasPrefix("x-lblab-node:") {
                return line.dropFirst("x-lblab-node:".count).trimmingCharacters(in: .whitespaces)
            }
            if line.isEmpty { break }
        }
        return nil
    }

    /// The socket's local address and port (bound by connect).
    static func localEnd(_ fd: Int32) -> (address: String?, port: UInt16) {
        var sa = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard rc == 0 else { return (nil, 0) }
        let a = UInt32(bigEndian: sa.sin_addr.s_addr)
        return ("\(a >> 24).\(a >> 16 & 0xff).\(a >> 8 & 0xff).\(a & 0xff)", UInt16(bigEndian: sa.sin_port))
    }

    /// Opens `count` non-blocking TCP sockets in the calling thread's namespace.
    public static func openSockets(_ count: Int) throws -> [Int32] {
        var out: [Int32] = []
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            if fd < 0 {
                out.forEach { close($0) }
                throw TrafficError(message: "socket(): \(String(cString: strerror(errno)))")
            }
            out.append(fd)
        }
        return out
    }
}

public struct TrafficError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

private func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
