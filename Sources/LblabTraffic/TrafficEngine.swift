import Foundation
import LblabTypes

/// Runs traffic phases in order from several clients with one `poll` loop on the calling thread.
///
/// TCP: one HTTP/1.0 request per connection, each from a fresh source port; the real server closes
/// first, unless the phase holds its connections (request `/hold`: the agent then waits for the
/// client's close, which comes when the hold is over). UDP: one datagram per result, a fresh
/// source port per socket; an answer later than the timeout counts as lost.
///
/// A phase is over when each of its connections has its response (or failed); held connections
/// stay open past it, until their time is up, the phase they wait for is over, or the end.
/// Sockets come from the clients' `openSockets`, in batches (one namespace hop per batch).
public final class TrafficEngine {
    public let clients: [TrafficClient]
    public let phases: [TrafficPhasePlan]
    public let timeout: Double
    /// Sockets opened per namespace hop.
    public static let batch = 256

    /// Where the time went, for `LBLAB_LOG=debug`.
    public struct Timings: Sendable {
        /// Seconds in the clients' namespaces opening sockets, and how many hops.
        public var openingSockets = 0.0
        public var hops = 0
        /// Seconds blocked in `poll`, and how many calls.
        public var polling = 0.0
        public var polls = 0
        /// CPU seconds of the engine's own thread over the run, in user space and in the kernel.
        public var threadUser = 0.0
        public var threadSystem = 0.0
    }
    public private(set) var timings = Timings()

    private final class Flight {
        let fd: Int32
        let client: Int
        let phase: Int
        /// The connection's (or current datagram's) number in its phase, and datagrams left after it.
        var index: Int
        var remaining: Int
        var started = 0.0
        var connected = false
        var request: [UInt8]
        var sent = 0
        var response: [UInt8] = []
        var localAddress: IPAddress?
        var localPort: UInt16 = 0

        init(fd: Int32, client: Int, phase: Int, index: Int, remaining: Int, request: [UInt8]) {
            self.fd = fd
            self.client = client
            self.phase = phase
            self.index = index
            self.remaining = remaining
            self.request = request
        }
    }

    private struct Held {
        var result: Int
        var fd: Int32
        var closeAt: Double?
        var untilPhase: Int?
    }

    private struct PoolKey: Hashable {
        var client: Int
        var family: IPFamily
        var kind: Sockets.Kind
    }

    private var t0 = 0.0
    /// The clock as last read (after each `poll`): connections started and finished in one round
    /// share it. Under emulation a clock read costs a trap to the emulated timer (HPET), and the
    /// engine read it several times per connection.
    private var now = 0.0
    private var results: [TrafficResult] = []
    private var inFlight: [Flight] = []
    private var held: [Held] = []
    private var pools: [PoolKey: [Int32]] = [:]
    private var nextPort: [UInt16]
    private var buffer = [UInt8](repeating: 0, count: 4096)
    private var pfds: [pollfd] = []
    /// The earliest `closeAt` of the held connections (kept as they come and go).
    private var nextHeldClose: Double? { heldCloseMin.isFinite ? heldCloseMin : nil }
    private var heldCloseMin = Double.infinity
    private var trace: (Int, Int) -> Void = { _, _ in }
    /// Per client, the source address of its connections to each target.
    private var sourceAddresses: [Int: [IPAddress: IPAddress]] = [:]
    /// Each phase's HTTP request (the same bytes for every connection of the phase).
    private let httpRequests: [[UInt8]]

    /// Each client's source ports are handed out in order from `firstPort`.
    public init(clients: [TrafficClient], phases: [TrafficPhasePlan], timeout: Double, firstPort: UInt16 = Sockets.firstPort) {
        self.clients = clients
        self.phases = phases
        self.timeout = timeout
        nextPort = Array(repeating: firstPort, count: clients.count)
        httpRequests = phases.map { Replies.httpRequest(host: "\($0.target)", hold: $0.hold.holds) }
    }

    /// The most source ports one client takes (an upper bound: one per connection or UDP socket).
    public static func portsPerClient(_ phases: [TrafficPhasePlan], clients: Int) -> Int {
        var used = [Int](repeating: 0, count: clients)
        for p in phases {
            let sockets = p.proto == .udp ? (p.connections + p.datagramsPerSocket - 1) / p.datagramsPerSocket : p.connections
            for (k, c) in p.clients.enumerated() where c < clients {
                used[c] += sockets / p.clients.count + (k < sockets % p.clients.count ? 1 : 0)
            }
        }
        return used.max() ?? 0
    }

    /// Runs every phase; returns one result per connection (per datagram for UDP), in the order
    /// they finished. `trace(phase, index)` runs before each connection of a traced phase.
    public func run(trace: @escaping (_ phase: Int, _ index: Int) -> Void = { _, _ in }) -> [TrafficResult] {
        self.trace = trace
        let cpu0 = threadCPUNow()
        defer {
            let cpu = threadCPUNow()
            (timings.threadUser, timings.threadSystem) = (cpu.user - cpu0.user, cpu.system - cpu0.system)
        }
        t0 = monotonicNow()
        now = t0
        results = []
        results.reserveCapacity(phases.reduce(0) { $0 + $1.connections })
        for (p, phase) in phases.enumerated() {
            if phase.pause > 0 { idle(until: monotonicNow() + phase.pause) }
            var next = 0
            var socketNumber = 0
            while next < phase.connections || !inFlight.isEmpty {
                while inFlight.count < phase.concurrency && next < phase.connections {
                    let client = phase.clients[socketNumber % phase.clients.count]
                    let count = phase.proto == .udp ? min(phase.datagramsPerSocket, phase.connections - next) : 1
                    start(phase: p, client: client, index: next, count: count,
                          pending: (phase.connections - next + phase.clients.count - 1) / phase.clients.count)
                    socketNumber += 1
                    next += count
                }
                pollOnce()
                closeDue()
            }
            closeHeld { $0.untilPhase == p }
        }
        closeHeld { $0.closeAt == nil }
        while let due = nextHeldClose { idle(until: due) }
        for (_, fds) in pools { fds.forEach { close($0) } }
        pools = [:]
        return results
    }

    // MARK: - Connections

    private func start(phase p: Int, client: Int, index: Int, count: Int, pending: Int) {
        let phase = phases[p]
        let kind: Sockets.Kind = phase.proto == .udp ? .datagram : .stream
        let udpSockets = (pending + phase.datagramsPerSocket - 1) / phase.datagramsPerSocket
        let fd: Int32
        do {
            fd = try socket(client: client, family: phase.target.family, kind: kind, ahead: kind == .datagram ? udpSockets : pending)
        } catch {
            for k in 0..<count {
                results.append(TrafficResult(client: client, phase: p, index: index + k, localAddress: nil, localPort: 0, server: nil,
                                             error: "socket: \(error)", start: now - t0, latency: 0))
            }
            return
        }
        let request = kind == .datagram ? Replies.datagram(index) : httpRequests[p]
        let f = Flight(fd: fd, client: client, phase: p, index: index, remaining: count - 1, request: request)
        if phase.trace {
            trace(p, index)
            now = monotonicNow()
        }
        f.started = now
        if let error = Sockets.bindFreshPort(fd, family: phase.target.family, next: &nextPort[client])
            ?? Sockets.connect(fd, to: phase.target, port: phase.port) {
            finish(f, error: error)
            return
        }
        // The port is the one just bound; the address the kernel's route gives every connection
        // of this client to this target alike: asked once (getsockname), then remembered.
        f.localPort = nextPort[client] - 1
        if let known = sourceAddresses[client]?[phase.target] {
            f.localAddress = known
        } else {
            f.localAddress = Sockets.localEnd(fd).0
            if let a = f.localAddress { sourceAddresses[client, default: [:]][phase.target] = a }
        }
        inFlight.append(f)
        if kind == .datagram { sendDatagram(f) }
    }

    /// A socket from the client's pool, refilled with up to `batch` (at most `ahead`) per hop.
    private func socket(client: Int, family: IPFamily, kind: Sockets.Kind, ahead: Int) throws -> Int32 {
        let key = PoolKey(client: client, family: family, kind: kind)
        if pools[key, default: []].isEmpty {
            let t = monotonicNow()
            pools[key] = try clients[client].openSockets(max(1, min(Self.batch, ahead)), family, kind).reversed()
            now = monotonicNow()
            timings.openingSockets += now - t
            timings.hops += 1
        }
        return pools[key]!.removeLast()
    }

    private func sendDatagram(_ f: Flight) {
        f.started = now
        let n = f.request.withUnsafeBytes { send(f.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        f.sent += 1
        if n < 0 { datagramDone(f, server: nil, error: "send: \(String(cString: strerror(errno)))") }
    }

    /// One datagram answered, lost or failed: its result; then the socket's next datagram, or its close.
    private func datagramDone(_ f: Flight, server: String?, error: String?) {
        results.append(TrafficResult(client: f.client, phase: f.phase, index: f.index, localAddress: f.localAddress, localPort: f.localPort,
                                     server: server, error: error, start: f.started - t0, latency: now - f.started))
        if f.remaining > 0 {
            f.remaining -= 1
            f.index += 1
            f.request = Replies.datagram(f.index)
            if phases[f.phase].trace {
                trace(f.phase, f.index)
                now = monotonicNow()
            }
            f.started = now
            let n = f.request.withUnsafeBytes { send(f.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 { datagramDone(f, server: nil, error: "send: \(String(cString: strerror(errno)))") }
        } else {
            close(f.fd)
            f.remaining = -1
        }
    }

    /// A TCP connection's end: its result; held open (and remembered) when the phase holds.
    private func finish(_ f: Flight, error: String?) {
        var server: String?
        var err = error
        if err == nil {
            server = Replies.node(inHTTP: f.response)
            if server == nil { err = "response without X-Lblab-Node (\(f.response.count) bytes)" }
        }
        results.append(TrafficResult(client: f.client, phase: f.phase, index: f.index, localAddress: f.localAddress, localPort: f.localPort,
                                     server: server, error: err, start: f.started - t0, latency: now - f.started))
        let hold = phases[f.phase].hold
        f.remaining = -1
        guard err == nil, hold.holds else {
            close(f.fd)
            return
        }
        switch hold {
        case .none: close(f.fd)
        case .seconds(let s):
            held.append(Held(result: results.count - 1, fd: f.fd, closeAt: now + s))
            heldCloseMin = min(heldCloseMin, now + s)
        case .untilPhase(let p): held.append(Held(result: results.count - 1, fd: f.fd, untilPhase: p))
        case .end: held.append(Held(result: results.count - 1, fd: f.fd))
        }
    }

    // MARK: - The loop

    private func pollOnce() {
        guard !inFlight.isEmpty else { return }
        // One pollfd array kept across calls, and the earliest deadline found in one pass (no
        // allocation per call: under emulation they showed in the engine's CPU time).
        pfds.removeAll(keepingCapacity: true)
        let before = monotonicNow()
        var due = nextHeldClose ?? now + 1
        for f in inFlight {
            let reading = f.connected && f.sent >= f.request.count || phases[f.phase].proto == .udp
            pfds.append(pollfd(fd: f.fd, events: Int16(reading ? POLLIN : POLLOUT), revents: 0))
            due = min(due, f.started + timeout)
        }
        let ms = Int32(max(0, min(1000, (due - before) * 1000 + 1)))
        _ = poll(&pfds, nfds_t(pfds.count), ms)
        now = monotonicNow()
        let after = now
        timings.polling += after - before
        timings.polls += 1
        for (i, f) in inFlight.enumerated() {
            let revents = pfds[i].revents
            if revents != 0 {
                if phases[f.phase].proto == .udp { readDatagram(f) } else { step(f, revents: revents) }
            }
            if f.remaining >= 0 && after - f.started > timeout {
                if phases[f.phase].proto == .udp {
                    datagramDone(f, server: nil, error: "no answer within \(timeout) s (lost)")
                } else {
                    finish(f, error: f.connected ? "timeout waiting for the response" : "timeout connecting")
                }
            }
        }
        inFlight.removeAll { $0.remaining < 0 }
    }

    /// Advances a TCP connection as far as it goes without blocking.
    private func step(_ f: Flight, revents: Int16) {
        if !f.connected {
            // Writable without an error: connected (the error is only asked for when there is one).
            if revents & Int16(POLLERR | POLLHUP) != 0 {
                var err: Int32 = 0
                var len = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(f.fd, SOL_SOCKET, SO_ERROR, &err, &len)
                if err != 0 { return finish(f, error: "connect: \(String(cString: strerror(err)))") }
            }
            f.connected = true
        }
        if f.sent < f.request.count {
            let n = f.request.withUnsafeBytes { send(f.fd, $0.baseAddress! + f.sent, $0.count - f.sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno != EAGAIN { finish(f, error: "send: \(String(cString: strerror(errno)))") }
                return
            }
            f.sent += n
            if f.sent < f.request.count { return }
        }
        let hold = phases[f.phase].hold.holds
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(f.fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                f.response.append(contentsOf: buffer[..<n])
                if hold && Replies.isComplete(f.response) { return finish(f, error: nil) }
                continue
            }
            if n == 0 { return finish(f, error: hold ? "the server closed a held connection before the response ended" : nil) }
            if errno == EAGAIN { return }
            return finish(f, error: "recv: \(String(cString: strerror(errno)))")
        }
    }

    private func readDatagram(_ f: Flight) {
        while f.remaining >= 0 {
            let n = buffer.withUnsafeMutableBytes { recv(f.fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EAGAIN { return }
                // An ICMP error for an earlier datagram (port unreachable): this one failed.
                return datagramDone(f, server: nil, error: "recv: \(String(cString: strerror(errno)))")
            }
            // Answers to earlier (lost) datagrams of this socket are not this one's.
            if let node = Replies.node(inDatagram: buffer[..<n], answering: f.request) {
                datagramDone(f, server: node, error: nil)
            }
        }
    }

    // MARK: - Held connections

    private func closeHeld(where chosen: (Held) -> Bool) {
        // A phase with `reuse`: one more request on each connection before it closes (HeldReuse.swift).
        let again = held.filter { chosen($0) && phases[results[$0.result].phase].reuse }
        if !again.isEmpty {
            let target = phases[results[again[0].result].phase].target
            for (h, r) in zip(again, HeldReuse.exchange(again.map(\.fd), host: "\(target)", timeout: timeout, t0: t0)) { results[h.result].reused = r }
        }
        // The exchange took a while; `now` stays the round's (the same connections are chosen below).
        let closedAt = again.isEmpty ? now : monotonicNow()
        held.removeAll { h in
            guard chosen(h) else { return false }
            close(h.fd)
            results[h.result].closed = closedAt - t0
            return true
        }
        // Connections started after this (the next phase) start from the time the exchange ended.
        if !again.isEmpty { now = closedAt }
        heldCloseMin = held.reduce(Double.infinity) { min($0, $1.closeAt ?? .infinity) }
    }

    private func closeDue() {
        guard heldCloseMin <= now else { return }
        closeHeld { $0.closeAt.map { $0 <= now } ?? false }
    }

    /// Waits until `deadline`, closing held connections as their time comes.
    private func idle(until deadline: Double) {
        while true {
            now = monotonicNow()
            closeDue()
            guard now < deadline else { return }
            let next = min(deadline, nextHeldClose ?? deadline)
            usleep(useconds_t(max(0, min(1.0, next - now)) * 1e6))
        }
    }
}

/// CPU seconds the calling thread has used, in user space and in the kernel.
func threadCPUNow() -> (user: Double, system: Double) {
    var u = rusage()
    getrusage(1, &u)  // RUSAGE_THREAD (not imported from Glibc)
    return (Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6, Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6)
}
