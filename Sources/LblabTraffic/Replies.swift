/// What the real servers' agent answers, read byte by byte (no `String` work per connection: under
/// emulation that cost more than the connection's system calls).
enum Replies {
    private static let nodeHeader = Array("x-lblab-node:".utf8)
    private static let lengthHeader = Array("content-length:".utf8)

    /// The HTTP request of a connection: `/hold` asks the agent to keep the connection open until
    /// the client closes it.
    static func httpRequest(host: String, hold: Bool) -> [UInt8] {
        Array("GET \(hold ? "/hold" : "/") HTTP/1.0\r\nHost: \(host)\r\nUser-Agent: lblab\r\n\r\n".utf8)
    }

    /// The index just past the blank line that ends the header, if it has arrived.
    static func headerEnd(_ b: [UInt8]) -> Int? {
        guard b.count >= 4 else { return nil }
        var i = 3
        while i < b.count {
            if b[i] == 10 && b[i - 1] == 13 && b[i - 2] == 10 && b[i - 3] == 13 { return i + 1 }
            i += 1
        }
        return nil
    }

    /// The value of header `name` (lower case, with its colon) in `b[..<end]`, trimmed.
    private static func header(_ name: [UInt8], in b: [UInt8], end: Int) -> ArraySlice<UInt8>? {
        var line = 0
        while line < end {
            var eol = line
            while eol < end && b[eol] != 13 && b[eol] != 10 { eol += 1 }
            if eol - line > name.count {
                var match = true
                for k in 0..<name.count where lower(b[line + k]) != name[k] {
                    match = false
                    break
                }
                if match {
                    var s = line + name.count
                    var e = eol
                    while s < e && (b[s] == 32 || b[s] == 9) { s += 1 }
                    while e > s && (b[e - 1] == 32 || b[e - 1] == 9) { e -= 1 }
                    return b[s..<e]
                }
            }
            line = eol
            while line < end && (b[line] == 13 || b[line] == 10) { line += 1 }
        }
        return nil
    }

    private static func lower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c + 32 : c }

    /// The node named by an HTTP response's `X-Lblab-Node` header.
    static func node(inHTTP b: [UInt8]) -> String? {
        guard b.count >= 7, b[0] == 72, b[1] == 84, b[2] == 84, b[3] == 80, b[4] == 47, b[5] == 49, b[6] == 46 else { return nil }  // "HTTP/1."
        guard let end = headerEnd(b) ?? Optional(b.count), let v = header(nodeHeader, in: b, end: end), !v.isEmpty else { return nil }
        return String(decoding: v, as: UTF8.self)
    }

    /// Whether an HTTP response has arrived whole by its `Content-Length` (the agent keeps a held
    /// connection open, so its end is not the end of the stream).
    static func isComplete(_ b: [UInt8]) -> Bool {
        guard let end = headerEnd(b) else { return false }
        guard let v = header(lengthHeader, in: b, end: end) else { return false }
        var n = 0
        for c in v {
            guard c >= 48 && c <= 57 else { return false }
            n = n * 10 + Int(c - 48)
        }
        return b.count >= end + n
    }

    /// The datagram a UDP probe sends: `lblab <sequence>\n`.
    static func datagram(_ sequence: Int) -> [UInt8] { Array("lblab \(sequence)\n".utf8) }

    /// The node a UDP answer names (`X-Lblab-Node: NAME\n` followed by the datagram it answers),
    /// when it answers `request`.
    static func node(inDatagram b: ArraySlice<UInt8>, answering request: [UInt8]) -> String? {
        guard b.count > nodeHeader.count else { return nil }
        let s = b.startIndex
        for k in 0..<nodeHeader.count where lower(b[s + k]) != nodeHeader[k] { return nil }
        var i = s + nodeHeader.count
        while i < b.endIndex && b[i] == 32 { i += 1 }
        var e = i
        while e < b.endIndex && b[e] != 10 { e += 1 }
        guard e > i, e < b.endIndex, b[(e + 1)...].elementsEqual(request) else { return nil }
        return String(decoding: b[i..<e], as: UTF8.self)
    }
}
