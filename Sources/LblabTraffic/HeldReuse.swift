import Foundation
import LblabTypes

/// What a held connection's second request got (a phase with `reuse`): asked when its hold is
/// over, on the same connection, so it shows whether the connection outlived what happened
/// meanwhile (a dispatcher failover: with connection sync the new MASTER knows it, without it
/// the new MASTER resets it).
public struct ReuseResult: Sendable, Equatable {
    /// The node that answered the second request, `nil` when none did.
    public var server: String?
    public var error: String?
    /// Seconds from the start of the traffic to when the second request was sent.
    public var at: Double

    public init(server: String?, error: String?, at: Double) {
        self.server = server
        self.error = error
        self.at = at
    }
}

/// Sends one more request on each of several held connections at once and waits for each answer
/// (the agent answers and closes) or its error, at most `timeout` seconds in all.
enum HeldReuse {
    static func exchange(_ fds: [Int32], host: String, timeout: Double, t0: Double) -> [ReuseResult] {
        let request = Replies.httpRequest(host: host, hold: false)
        let sentAt = monotonicNow() - t0
        var out = [ReuseResult?](repeating: nil, count: fds.count)
        var responses = [[UInt8]](repeating: [], count: fds.count)
        for (i, fd) in fds.enumerated() {
            let n = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n != request.count {
                out[i] = ReuseResult(server: nil, error: "send: \(n < 0 ? String(cString: strerror(errno)) : "short write")", at: sentAt)
            }
        }
        let deadline = monotonicNow() + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while out.contains(where: { $0 == nil }), monotonicNow() < deadline {
            let open = out.indices.filter { out[$0] == nil }
            var pfds = open.map { pollfd(fd: fds[$0], events: Int16(POLLIN), revents: 0) }
            let ms = Int32(max(1, min(1000, (deadline - monotonicNow()) * 1000)))
            _ = poll(&pfds, nfds_t(pfds.count), ms)
            for (k, i) in open.enumerated() where pfds[k].revents != 0 {
                while true {
                    let n = buffer.withUnsafeMutableBytes { recv(fds[i], $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                    if n > 0 { responses[i].append(contentsOf: buffer[..<n]); continue }
                    if n < 0 && errno == EAGAIN { break }
                    if n < 0 {
                        out[i] = ReuseResult(server: nil, error: "recv: \(String(cString: strerror(errno)))", at: sentAt)
                    } else if let node = Replies.node(inHTTP: responses[i]) {
                        out[i] = ReuseResult(server: node, error: nil, at: sentAt)
                    } else {
                        out[i] = ReuseResult(server: nil, error: "closed without an answer (\(responses[i].count) bytes)", at: sentAt)
                    }
                    break
                }
            }
        }
        return out.map { $0 ?? ReuseResult(server: nil, error: "no answer within \(timeout) s", at: sentAt) }
    }
}
