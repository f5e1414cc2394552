import LblabTypes

/// One DNS message as far as a round-robin lab needs it: the header, the first question and the
/// A records of the answer section, in the order the server sent them.
public struct DNSMessage: Sendable, Equatable, Codable {
    public var id: UInt16
    /// A response (QR bit), not a query.
    public var isResponse: Bool
    /// The response code (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, ...).
    public var rcode: UInt8
    /// The first question's name, lower case, without the final dot.
    public var question: String
    public var questionType: UInt16
    /// The A records of the answer section, in wire order.
    public var answers: [ARecord]

    public struct ARecord: Sendable, Equatable, Codable {
        public var name: String
        public var ttl: UInt32
        public var address: IPv4Address

        public init(name: String, ttl: UInt32, address: IPv4Address) {
            self.name = name
            self.ttl = ttl
            self.address = address
        }
    }

    public init(id: UInt16, isResponse: Bool, rcode: UInt8 = 0, question: String, questionType: UInt16 = DNSMessage.typeA, answers: [ARecord] = []) {
        self.id = id
        self.isResponse = isResponse
        self.rcode = rcode
        self.question = question
        self.questionType = questionType
        self.answers = answers
    }

    public static let typeA: UInt16 = 1
    public static let typeAAAA: UInt16 = 28

    /// Decodes a message (the UDP payload); nil when it is not a well-formed DNS message.
    public init?(bytes: some Collection<UInt8>) {
        let b = Array(bytes)
        guard b.count >= 12 else { return nil }
        func u16(_ o: Int) -> UInt16? { o + 2 <= b.count ? UInt16(b[o]) << 8 | UInt16(b[o + 1]) : nil }
        func u32(_ o: Int) -> UInt32? { o + 4 <= b.count ? UInt32(b[o]) << 24 | UInt32(b[o + 1]) << 16 | UInt32(b[o + 2]) << 8 | UInt32(b[o + 3]) : nil }
        id = u16(0)!
        let flags = u16(2)!
        isResponse = flags & 0x8000 != 0
        rcode = UInt8(flags & 0x000f)
        let qd = Int(u16(4)!), an = Int(u16(6)!)
        var o = 12
        guard qd >= 1, let (q, next) = Self.name(b, at: o), let qt = u16(next) else { return nil }
        question = q
        questionType = qt
        o = next + 4
        for _ in 1..<qd { guard let (_, n) = Self.name(b, at: o) else { return nil }; o = n + 4 }
        answers = []
        for _ in 0..<an {
            guard let (name, n) = Self.name(b, at: o), let type = u16(n), let ttl = u32(n + 4), let len = u16(n + 8) else { return nil }
            let data = n + 10
            guard data + Int(len) <= b.count else { return nil }
            if type == Self.typeA, len == 4, let a = IPv4Address(bytes: b[data..<data + 4]) {
                answers.append(ARecord(name: name, ttl: ttl, address: a))
            }
            o = data + Int(len)
        }
        guard o <= b.count else { return nil }
    }

    /// A name at `offset` (labels, compression pointers followed) and the offset after it.
    static func name(_ b: [UInt8], at offset: Int) -> (String, Int)? {
        var labels: [String] = []
        var o = offset, end: Int? = nil, jumps = 0
        while true {
            guard o < b.count else { return nil }
            let len = Int(b[o])
            if len == 0 { o += 1; break }
            if len & 0xc0 == 0xc0 {
                guard o + 1 < b.count, jumps < 16 else { return nil }
                if end == nil { end = o + 2 }
                o = (len & 0x3f) << 8 | Int(b[o + 1])
                jumps += 1
                continue
            }
            guard len <= 63, o + 1 + len <= b.count else { return nil }
            labels.append(String(decoding: b[(o + 1)...(o + len)], as: UTF8.self).lowercased())
            o += 1 + len
        }
        return (labels.joined(separator: "."), end ?? o)
    }

    /// The message on the wire (no compression): for tests and the readiness probe.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        func put16(_ v: UInt16) { out += [UInt8(v >> 8), UInt8(v & 0xff)] }
        func put32(_ v: UInt32) { out += [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
        func putName(_ n: String) {
            for l in n.split(separator: ".") { out.append(UInt8(l.utf8.count)); out += Array(l.utf8) }
            out.append(0)
        }
        put16(id)
        put16((isResponse ? 0x8000 : 0) | 0x0100 | (isResponse ? 0x0080 : 0) | UInt16(rcode))
        put16(1); put16(UInt16(answers.count)); put16(0); put16(0)
        putName(question); put16(questionType); put16(1)
        for a in answers {
            putName(a.name); put16(Self.typeA); put16(1); put32(a.ttl); put16(4); out += a.address.bytes
        }
        return out
    }
}
