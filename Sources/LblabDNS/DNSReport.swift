import LblabAnalysis

/// Per-server numbers of one run: the row of the table `lblab test dns-rr*` prints.
public struct DNSStats: Sendable, Codable, Equatable {
    public struct Server: Sendable, Codable, Equatable {
        public var node: String
        public var connections: Int
        public var share: Double
        public var p50: Double
        public var p99: Double
    }

    public var servers: [Server]
    public var sent: Int
    public var failed: Int
    public var errorRate: Double
    public var p50: Double
    public var p99: Double

    public init(_ run: DNSRun) {
        let ok = run.records.filter { $0.error == nil }
        sent = run.records.count
        failed = sent - ok.count
        errorRate = sent == 0 ? 0 : Double(failed) / Double(sent)
        servers = run.servers.map { s in
            let mine = ok.filter { $0.server == s.node }
            let q = Self.quantiles(mine.map(\.latencyMillis))
            return Server(node: s.node, connections: mine.count, share: ok.isEmpty ? 0 : Double(mine.count) / Double(ok.count), p50: q.p50, p99: q.p99)
        }
        (p50, p99) = Self.quantiles(ok.map(\.latencyMillis))
    }

    static func quantiles(_ values: [Double]) -> (p50: Double, p99: Double) {
        let s = values.sorted()
        func q(_ f: Double) -> Double { s.isEmpty ? 0 : s[min(s.count - 1, Int(Double(s.count) * f))] }
        return (q(0.5), q(0.99))
    }
}

/// The outcome of judging a DNS run.
public struct DNSReport: Sendable, Codable, Equatable {
    public var lab: String
    public var verdicts: [RuleVerdict]
    public var stats: DNSStats
    /// The capture's evidence, one line per client.
    public var evidence: [String]

    public var passed: Bool { !verdicts.isEmpty && verdicts.allSatisfy(\.passed) }

    public func verdict(_ rule: String) -> RuleVerdict? { verdicts.first { $0.rule == rule } }
}

/// The table of DNS runs, one row per variant.
public enum DNSTable {
    public struct Row: Sendable {
        public var variant: String
        public var stats: DNSStats
        public var claim: String
        public var seconds: Double
        public init(variant: String, stats: DNSStats, claim: String, seconds: Double) {
            self.variant = variant
            self.stats = stats
            self.claim = claim
            self.seconds = seconds
        }
    }

    public static func render(_ rows: [Row]) -> String {
        var lines = ["variant              per-server share                          errors   p50 ms   p99 ms   wall s  claim"]
        for r in rows {
            let shares = r.stats.servers.map { "\($0.node) \(String(format: "%.0f%%", 100 * $0.share))" }.joined(separator: " ")
            lines.append(pad(r.variant, 20) + " " + pad(shares, 41) + " " + pad(String(format: "%.1f%%", 100 * r.stats.errorRate), 8)
                         + " " + pad(String(format: "%.2f", r.stats.p50), 8) + " " + pad(String(format: "%.2f", r.stats.p99), 8)
                         + " " + pad(String(format: "%.1f", r.seconds), 7) + " " + r.claim)
        }
        return lines.joined(separator: "\n")
    }

    /// Latency per server: the uneven-servers row's detail.
    public static func latencies(_ stats: DNSStats) -> String {
        stats.servers.map { "\($0.node): \($0.connections) connections, p50 \(String(format: "%.2f", $0.p50)) ms, p99 \(String(format: "%.2f", $0.p99)) ms" }
            .joined(separator: "\n")
    }

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
}
