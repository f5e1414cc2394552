extension FrameDecoder {
    private static let probe = Array("lblab ".utf8)
    private static let answerHeader = Array("x-lblab-node:".utf8)

    /// The number of a UDP probe or answer whose payload starts at `o`: a probe is `lblab N\n`,
    /// its answer `X-Lblab-Node: NAME\n` followed by the probe. -1 when the payload is neither (or
    /// the snapshot cut it). With one-packet scheduling each datagram of a socket is a flow of its own,
    /// told apart by this number.
    static func datagramNumber(_ b: UnsafeRawBufferPointer, _ o: Int) -> Int32 {
        var i = o
        if b.count >= i + answerHeader.count, zip(answerHeader.indices, answerHeader).allSatisfy({ k, c in lower(b[i + k]) == c }) {
            while i < b.count && b[i] != 10 { i += 1 }
            i += 1
        }
        guard b.count >= i + probe.count else { return -1 }
        for (k, c) in probe.enumerated() where b[i + k] != c { return -1 }
        i += probe.count
        var n: Int32 = 0
        var digits = 0
        while i < b.count, b[i] >= 48, b[i] <= 57, digits < 9 {
            n = n * 10 + Int32(b[i] - 48)
            digits += 1
            i += 1
        }
        return digits > 0 && i < b.count && b[i] == 10 ? n : -1
    }

    @inline(__always) private static func lower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c + 32 : c }
}
