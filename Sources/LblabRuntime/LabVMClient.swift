import CLblabSys
import Foundation

/// The host's end of the lab VM's control channel: QEMU forwards 127.0.0.1:`port` on the host
/// to the agent in the VM.
public struct LabVMClient: Sendable {
    public var port: UInt16
    public var token: String
    public var host: String

    public init(port: UInt16, token: String, host: String = "127.0.0.1") {
        self.port = port
        self.token = token
        self.host = host
    }

    /// How a command in the VM ended.
    public enum Outcome: Equatable, Sendable {
        case exited(Int32)
        case killed(Int32)
        /// The agent could not run it, and said why.
        case failed(String)
        /// The connection closed before the end: the VM (or its agent) went away.
        case lost
    }

    public enum Stream: Sendable { case stdout, stderr }

    /// A connected socket, or nil when nothing listens (QEMU is gone).
    func connect() throws -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemCallError(call: "socket", errno: errno) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &addr.sin_addr)
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if r != 0 {
            let e = errno
            close(fd)
            if e == ECONNREFUSED { return nil }
            throw SystemCallError(call: "connect \(host):\(port)", errno: e)
        }
        return fd
    }

    /// Runs `request` in the VM: its output goes to `output` as it comes; `stdinFD` (when
    /// given) is read and sent until its end; a signal `signals` catches is sent to the
    /// command. `timeout` bounds the whole exchange (nil: none).
    public func run(_ request: LabVMRequest, stdinFD: Int32? = nil, signals: SignalRelay? = nil, timeout: Double? = nil,
                    output: (Stream, [UInt8]) -> Void) throws -> Outcome {
        guard let sock = try connect() else { return .lost }
        defer { close(sock) }
        VMIO.setNonBlocking(sock)
        var pending = LabVMFrame.request(Array(try JSONEncoder().encode(request))).encoded
        var decoder = LabVMFrameDecoder()
        var inFD = request.stdin ? (stdinFD ?? -1) : -1
        let deadline = timeout.map { Date().addingTimeInterval($0) }
        while true {
            var fds = [
                pollfd(fd: sock, events: Int16(POLLIN) | (pending.isEmpty ? 0 : Int16(POLLOUT)), revents: 0),
                pollfd(fd: pending.count < 1 << 18 ? inFD : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: signals?.fd ?? -1, events: Int16(POLLIN), revents: 0),
            ]
            var wait: Int32 = -1
            if let deadline {
                let left = deadline.timeIntervalSinceNow
                if left <= 0 { throw LabVMError.noAnswer(port: port, seconds: timeout ?? 0) }
                wait = Int32(min(left, 1) * 1000) + 1
            }
            let n = poll(&fds, 3, wait)
            if n < 0 { if errno == EINTR { continue }; throw SystemCallError(call: "poll", errno: errno) }
            if n == 0 { continue }
            if fds[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                guard let bytes = try? VMIO.readSome(sock) else { return .lost }
                decoder.append(bytes)
                while let frame = try decoder.next() {
                    switch frame {
                    case .stdout(let b): output(.stdout, b)
                    case .stderr(let b): output(.stderr, b)
                    case .exited(let c): return .exited(c)
                    case .killed(let s): return .killed(s)
                    case .failure(let why): return .failed(why)
                    default: break
                    }
                }
            }
            if fds[0].revents & Int16(POLLOUT) != 0 {
                guard let sent = try? VMIO.sendSome(sock, pending) else { return .lost }
                pending.removeFirst(sent)
            }
            if fds[1].revents != 0 {
                // The descriptor stays blocking (it may be the user's terminal): one read after poll.
                let bytes = (try? VMIO.readSome(inFD)) ?? nil
                if let bytes {
                    if !bytes.isEmpty { pending += LabVMFrame.stdin(bytes).encoded }
                } else {
                    pending += LabVMFrame.stdinClosed.encoded
                    inFD = -1
                }
            }
            if fds[2].revents != 0, let signals {
                while let sig = signals.take() { pending += LabVMFrame.signal(sig).encoded }
            }
        }
    }

    /// Runs a request that prints little and returns its outcome and standard output.
    public func call(_ request: LabVMRequest, timeout: Double) throws -> (Outcome, String) {
        var out: [UInt8] = []
        let outcome = try run(request, timeout: timeout) { stream, bytes in if stream == .stdout { out += bytes } }
        return (outcome, String(decoding: out, as: UTF8.self))
    }

    /// Whether the agent answers within `timeout` seconds.
    public func ping(timeout: Double) -> Bool {
        (try? call(LabVMRequest(token: token, kind: .ping), timeout: timeout).0) == .exited(0)
    }

    /// The labs that are up in the VM.
    public func labs(timeout: Double = 15) throws -> [String] {
        let (outcome, text) = try call(LabVMRequest(token: token, kind: .labs), timeout: timeout)
        guard outcome == .exited(0) else { throw LabVMError.unexpected(what: "list the labs in the lab VM", outcome: "\(outcome)") }
        return text.split(separator: "\n").map(String.init)
    }
}

/// Signals that would end this process (Ctrl-C, the terminal closing, kill), read from a
/// signalfd instead, so they can be passed on to the command in the VM. Blocks them on the
/// calling thread (create it before any other thread exists) until `restore()`.
public final class SignalRelay {
    public static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]
    public let fd: Int32
    /// Every signal taken so far, in order.
    public private(set) var received: [Int32] = []
    private var restored = false

    public init() throws {
        fd = Self.signals.withUnsafeBufferPointer { lblab_signalfd($0.baseAddress, Int32($0.count)) }
        guard fd >= 0 else { throw SystemCallError(call: "signalfd", errno: errno) }
    }

    /// A signal that came, if any (without waiting).
    public func take() -> Int32? {
        var info = [UInt8](repeating: 0, count: 128)
        guard !restored, info.withUnsafeMutableBytes({ read(fd, $0.baseAddress, 128) }) == 128 else { return nil }
        let sig = Int32(info[0]) | Int32(info[1]) << 8 | Int32(info[2]) << 16 | Int32(info[3]) << 24
        received.append(sig)
        return sig
    }

    public func restore() {
        guard !restored else { return }
        restored = true
        close(fd)
        _ = Self.signals.withUnsafeBufferPointer { lblab_unblock_signals($0.baseAddress, Int32($0.count)) }
    }

    deinit { restore() }
}
