import Foundation

/// lblab's control channel to the lab VM: one TCP connection per command, carrying frames of
/// one type byte, a 4-byte big-endian payload length and the payload. The client sends one
/// request frame, then its standard input and signals; the agent in the VM answers with the
/// command's standard output and error as they come, then its exit status.
public enum LabVMFrame: Equatable, Sendable {
    /// The request (JSON `LabVMRequest`), always the first frame from the client.
    case request([UInt8])
    case stdin([UInt8])
    case stdinClosed
    /// A signal for the command's process group (the client got it, e.g. Ctrl-C).
    case signal(Int32)
    case stdout([UInt8])
    case stderr([UInt8])
    /// The command ended: its exit code, or the signal that killed it.
    case exited(Int32)
    case killed(Int32)
    /// The agent could not do what was asked (bad token, no such program, ...): the reason.
    case failure(String)

    /// Largest payload accepted: a frame claiming more is a broken or foreign peer.
    public static let maxPayload = 16 << 20

    var typeByte: UInt8 {
        switch self {
        case .request: return UInt8(ascii: "R")
        case .stdin: return UInt8(ascii: "I")
        case .stdinClosed: return UInt8(ascii: "C")
        case .signal: return UInt8(ascii: "S")
        case .stdout: return UInt8(ascii: "O")
        case .stderr: return UInt8(ascii: "E")
        case .exited: return UInt8(ascii: "X")
        case .killed: return UInt8(ascii: "K")
        case .failure: return UInt8(ascii: "F")
        }
    }

    var payload: [UInt8] {
        switch self {
        case .request(let b), .stdin(let b), .stdout(let b), .stderr(let b): return b
        case .stdinClosed: return []
        case .signal(let n), .exited(let n), .killed(let n): return Self.bigEndian(n)
        case .failure(let s): return Array(s.utf8)
        }
    }

    /// The frame as bytes on the wire.
    public var encoded: [UInt8] {
        let p = payload
        return [typeByte] + Self.bigEndian(Int32(p.count)) + p
    }

    static func bigEndian(_ n: Int32) -> [UInt8] {
        let u = UInt32(bitPattern: n)
        return [UInt8(u >> 24), UInt8((u >> 16) & 0xff), UInt8((u >> 8) & 0xff), UInt8(u & 0xff)]
    }

    static func int32(_ b: ArraySlice<UInt8>) -> Int32? {
        guard b.count == 4 else { return nil }
        let i = b.startIndex
        return Int32(bitPattern: UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3]))
    }

    init(type: UInt8, payload p: ArraySlice<UInt8>) throws {
        func number() throws -> Int32 {
            guard let n = Self.int32(p) else { throw LabVMProtocolError.badFrame("frame '\(Character(Unicode.Scalar(type)))' needs a 4-byte payload, got \(p.count)") }
            return n
        }
        switch type {
        case UInt8(ascii: "R"): self = .request(Array(p))
        case UInt8(ascii: "I"): self = .stdin(Array(p))
        case UInt8(ascii: "C"): self = .stdinClosed
        case UInt8(ascii: "S"): self = .signal(try number())
        case UInt8(ascii: "O"): self = .stdout(Array(p))
        case UInt8(ascii: "E"): self = .stderr(Array(p))
        case UInt8(ascii: "X"): self = .exited(try number())
        case UInt8(ascii: "K"): self = .killed(try number())
        case UInt8(ascii: "F"): self = .failure(String(decoding: p, as: UTF8.self))
        default: throw LabVMProtocolError.badFrame("unknown frame type \(type)")
        }
    }
}

public enum LabVMProtocolError: Error, CustomStringConvertible, Equatable {
    case badFrame(String)

    public var description: String {
        switch self {
        case .badFrame(let why): return "the lab VM's control channel carried a broken frame (\(why)): is another program listening on its port?"
        }
    }
}

/// Splits a byte stream into frames.
public struct LabVMFrameDecoder: Sendable {
    var buffer: [UInt8] = []
    var start = 0

    public init() {}

    public var buffered: Int { buffer.count - start }

    public mutating func append<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        if start > 0 && start == buffer.count { buffer.removeAll(keepingCapacity: true); start = 0 }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame, or nil when more bytes are needed.
    public mutating func next() throws -> LabVMFrame? {
        guard buffer.count - start >= 5 else { return nil }
        let length = Int(UInt32(bitPattern: LabVMFrame.int32(buffer[(start + 1)..<(start + 5)])!))
        guard length <= LabVMFrame.maxPayload else { throw LabVMProtocolError.badFrame("a frame of \(length) bytes") }
        guard buffer.count - start >= 5 + length else { return nil }
        let frame = try LabVMFrame(type: buffer[start], payload: buffer[(start + 5)..<(start + 5 + length)])
        start += 5 + length
        if start > 1 << 16 { buffer.removeFirst(start); start = 0 }
        return frame
    }
}

/// What the client asks the agent in the VM.
public struct LabVMRequest: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// Run the VM's lblab (the host's binary, copied into the VM's memory) with `argv`.
        case lblab
        /// Run `argv` (a program looked up in the VM's PATH) in the VM's root namespace.
        case exec
        /// Answer at once (exit status 0): the agent is up.
        case ping
        /// Print the labs that are up in the VM, one name a line.
        case labs
        /// Stop the agent: the VM powers off.
        case shutdown
    }

    /// Protocol version: the client and the agent are the same build of lblab.
    public static let currentVersion = 1

    public var version: Int
    /// The secret from the VM's state directory (readable by root only): whoever can read it
    /// may run commands in the VM.
    public var token: String
    public var kind: Kind
    public var argv: [String]
    /// Working directory for the command (host paths are the same in the VM, read-only).
    public var cwd: String?
    /// Extra environment (TERM, LBLAB_LOG, ...).
    public var environment: [String: String]
    /// Files written into a private directory in the VM for this command; an argument
    /// `@file:NAME` becomes that file's path.
    public var files: [String: Data]
    /// Whether the client sends standard input (otherwise the command reads /dev/null).
    public var stdin: Bool

    public init(token: String, kind: Kind, argv: [String] = [], cwd: String? = nil, environment: [String: String] = [:],
                files: [String: Data] = [:], stdin: Bool = false) {
        self.version = Self.currentVersion
        self.token = token
        self.kind = kind
        self.argv = argv
        self.cwd = cwd
        self.environment = environment
        self.files = files
        self.stdin = stdin
    }

    public static func fileArgument(_ name: String) -> String { "@file:\(name)" }
}

/// File-descriptor helpers shared by the client and the agent.
enum VMIO {
    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }

    /// Writes all of `bytes` to a blocking descriptor; false when the reader is gone.
    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN {
                    var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&p, 1, 1000)
                    continue
                }
                return false
            }
            off += n
        }
        return true
    }

    /// Reads what is there (up to 64 KiB): nil at end of file, [] when it would block.
    static func readSome(_ fd: Int32) throws -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 { return Array(buf[..<n]) }
            if n == 0 { return nil }
            if errno == EINTR { continue }
            if errno == EAGAIN { return [] }
            if errno == ECONNRESET || errno == EPIPE { return nil }
            throw SystemCallError(call: "read", errno: errno)
        }
    }

    /// Sends as much of `bytes` as the socket takes now; returns how many went (never raises SIGPIPE).
    static func sendSome(_ fd: Int32, _ bytes: [UInt8]) throws -> Int {
        while true {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n >= 0 { return n }
            if errno == EINTR { continue }
            if errno == EAGAIN { return 0 }
            throw SystemCallError(call: "send", errno: errno)
        }
    }
}

/// A failed system call, with the C library's text for its errno.
public struct SystemCallError: Error, CustomStringConvertible {
    public var call: String
    public var errno: Int32
    public var description: String { "\(call): \(String(cString: strerror(errno)))" }
}
