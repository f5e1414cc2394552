import Foundation
import LblabAnalysis
import LblabDNS

/// `lblab test lb-vs-dns`: the same fault (a server down 2 s after the traffic starts, back at
/// 5 s) in DNS round robin (`dns-rr-comeback`) and behind keepalived and IPVS (`dr-keepalived`),
/// side by side: errors and their window, each server's share before, during and after the
/// fault, and how soon the server is used again. Built from the two runs' saved records.
public enum LBvsDNS {
    public static let name = "lb-vs-dns"
    public static let dnsLab = "dns-rr-comeback"
    public static let lbLab = "dr-keepalived"

    /// One side of the table.
    public struct Side: Sendable, Codable, Equatable {
        public var lab: String
        public var connections: Int
        public var failed: Int
        /// Seconds after the down fault of the first and the last failed connection.
        public var errorWindow: ClosedRange<Double>?
        /// Share (0...1) per server of the answered connections started before the down, while
        /// down (to the up), and after the up.
        public var before: [String: Double]
        public var during: [String: Double]
        public var after: [String: Double]
        /// Seconds from the up fault to the first connection the server answered.
        public var firstAnswerAfterUp: Double?
        /// keepalived: seconds from the down to the server's removal, from the up to its re-add.
        public var removedAfter: Double?
        public var readdedAfter: Double?
        public var down: Double
        public var up: Double?
    }

    /// A connection as both sides have it: seconds from the traffic's start, who answered.
    struct Connection {
        var start: Double
        var server: String?
    }

    static func side(lab: String, connections: [Connection], down: Double, up: Double?, node: String) -> Side {
        let failed = connections.filter { $0.server == nil }
        let starts = failed.map(\.start).filter { $0 >= down }
        func share(_ from: Double, _ to: Double) -> [String: Double] {
            let answered = connections.filter { $0.start >= from && $0.start < to }.compactMap(\.server)
            return Dictionary(grouping: answered, by: { $0 }).mapValues { Double($0.count) / Double(max(answered.count, 1)) }
        }
        let end = up ?? .infinity
        return Side(lab: lab, connections: connections.count, failed: failed.count,
                    errorWindow: starts.min().map { ($0 - down)...(starts.max()! - down) },
                    before: share(-.infinity, down), during: share(down, end), after: up.map { share($0, .infinity) } ?? [:],
                    firstAnswerAfterUp: up.flatMap { u in connections.filter { $0.start >= u && $0.server == node }.map(\.start).min().map { $0 - u } },
                    down: down, up: up)
    }

    /// The DNS side from its `dns-run.json`: times from the first lookup; the first down fault's node.
    public static func dnsSide(_ run: DNSRun) -> Side? {
        guard let zero = run.records.map(\.start).min(), let d = run.faults.first(where: \.down) else { return nil }
        let up = run.faults.first { !$0.down && $0.node == d.node && $0.time > d.time }
        let conns = run.records.map { Connection(start: $0.start - zero, server: $0.server) }
        return side(lab: run.lab, connections: conns, down: d.time - zero, up: up.map { $0.time - zero }, node: d.node)
    }

    /// The keepalived side from its `run.json` (outcomes and the IPVS samples).
    public static func lbSide(_ record: RunRecord) -> Side? {
        guard let h = record.health, let d = h.faults.first(where: { $0.action.breaks }) else { return nil }
        let up = h.faults.first { $0.action.repairs && $0.node == d.node && $0.at > d.at }
        let conns = record.outcomes.map { Connection(start: $0.start ?? 0, server: $0.server) }
        var s = side(lab: record.lab, connections: conns, down: d.at, up: up?.at, node: d.node)
        s.removedAfter = h.samples.first { $0.at >= d.at && !$0.servers.contains(d.node) }.map { $0.at - d.at }
        if let u = up?.at { s.readdedAfter = h.samples.first { $0.at >= u && $0.servers.contains(d.node) }.map { $0.at - u } }
        return s
    }

    /// The table, one row per measure, DNS left, keepalived right.
    public static func table(dns: Side, lb: Side) -> String {
        func pct(_ shares: [String: Double]) -> String {
            shares.isEmpty ? "-" : shares.sorted { $0.key < $1.key }.map { String(format: "%@ %.0f%%", $0.key, $0.value * 100) }.joined(separator: ", ")
        }
        func secs(_ v: Double?) -> String { v.map { String(format: "%.2f s", $0) } ?? "-" }
        func window(_ s: Side) -> String {
            s.errorWindow.map { String(format: "+%.2f .. +%.2f s (%.2f s)", $0.lowerBound, $0.upperBound, $0.upperBound - $0.lowerBound) } ?? "none"
        }
        let rows: [(String, String, String)] = [
            ("lab", "\(dns.lab) (DNS round robin)", "\(lb.lab) (keepalived + IPVS)"),
            ("fault", String(format: "down at %.2f s, up at %@", dns.down, secs(dns.up)), String(format: "down at %.2f s, up at %@", lb.down, secs(lb.up))),
            ("connections", "\(dns.connections)", "\(lb.connections)"),
            ("failed", String(format: "%d (%.1f%%)", dns.failed, Double(dns.failed) * 100 / Double(max(dns.connections, 1))),
             String(format: "%d (%.1f%%)", lb.failed, Double(lb.failed) * 100 / Double(max(lb.connections, 1)))),
            ("error window (after down)", window(dns), window(lb)),
            ("dead server out of rotation", "never (DNS keeps its address)", lb.removedAfter.map { String(format: "%.2f s after down", $0) } ?? "never"),
            ("share before the fault", pct(dns.before), pct(lb.before)),
            ("share while down", pct(dns.during), pct(lb.during)),
            ("share after it came back", pct(dns.after), pct(lb.after)),
            ("back in rotation", "at once (it never left)", lb.readdedAfter.map { String(format: "%.2f s after up", $0) } ?? "never"),
            ("first answer after up", secs(dns.firstAnswerAfterUp), secs(lb.firstAnswerAfterUp)),
        ]
        let w0 = rows.map(\.0.count).max()!, w1 = rows.map(\.1.count).max()!
        return rows.map { $0.0.padding(toLength: w0 + 2, withPad: " ", startingAt: 0) + $0.1.padding(toLength: w1 + 3, withPad: " ", startingAt: 0) + $0.2 }
            .joined(separator: "\n")
    }
}
