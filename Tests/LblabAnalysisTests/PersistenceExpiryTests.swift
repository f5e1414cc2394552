import LblabAnalysis
import LblabTypes
import Testing

/// The persistence template's life as the kernel keeps it: re-armed by each use, gone when its
/// timer fires with no controlled entry left, kept 60 s more when one is left.
@Suite struct PersistenceExpiryTests {
    static let vip = IPAddress("198.51.100.100")!

    /// rr over rs2, rs1 with `-p 2` and entries that linger `linger` s after each close.
    static func service(linger: Double) -> OracleService {
        var s = OracleService(name: "svc1", scheduler: .rr, vip: vip, destinations: [
            OracleDestination(server: "rs2", weight: 1), OracleDestination(server: "rs1", weight: 1),
        ], persistence: 2)
        s.entryLinger = linger...linger
        return s
    }

    /// One client; connection k starts at `starts[k]` and closes 0.05 s later.
    static func conns(_ servers: [String], starts: [Double]) -> [OracleConnection] {
        zip(servers, starts).enumerated().map { i, p in
            OracleConnection(number: i + 1, client: IPAddress("198.51.100.31"), clientPort: UInt16(2000 + i), destination: vip,
                             server: p.0, start: p.1, end: p.1 + 0.05)
        }
    }

    static let starts = [0.0, 0.1, 0.2, 0.3, 4.5, 4.6, 4.7, 4.8]

    @Test func theTemplateExpiresAfterThePauseAndRRDecidesAnew() {
        let run = Self.conns(["rs2", "rs2", "rs2", "rs2", "rs1", "rs1", "rs1", "rs1"], starts: Self.starts)
        let j = SchedulerOracle.judge(Self.service(linger: 1), connections: run, ordered: true)
        #expect(j.passed, "\(j.firstWrong?.reason ?? "")")
        #expect(j.decisions[4].reason.contains("expired"), "\(j.decisions[4].reason)")
        #expect(j.decisions[5].reason.contains("stays on rs1"), "\(j.decisions[5].reason)")
    }

    /// The kernel kept the client on rs2 after the pause (its timeout longer than the pause):
    /// the first connection after the pause goes against the rule.
    @Test func aTemplateThatOutlivesThePauseFailsOnTheFirstConnectionAfterIt() {
        let run = Self.conns(Array(repeating: "rs2", count: 8), starts: Self.starts)
        let j = SchedulerOracle.judge(Self.service(linger: 1), connections: run, ordered: true)
        #expect(j.firstWrong?.connection.number == 5 && j.firstWrong?.expectedText == "rs1", "\(j.firstWrong?.reason ?? "")")
    }

    /// Near its timer's firing the template held client A on rs2: the kernel never asked rr, so
    /// rr's turn is unchanged and client B, new, gets rr's next server (rs1), not the one after.
    @Test func aTemplateHeldNearItsFiringLeavesTheSchedulerAlone() {
        let a = IPAddress("198.51.100.31"), b = IPAddress("198.51.100.32")
        let run = [
            OracleConnection(number: 1, client: a, clientPort: 2000, destination: Self.vip, server: "rs2", start: 0.0, end: 0.05),
            OracleConnection(number: 2, client: a, clientPort: 2001, destination: Self.vip, server: "rs2", start: 2.1, end: 2.15),
            OracleConnection(number: 3, client: b, clientPort: 2002, destination: Self.vip, server: "rs1", start: 2.2, end: 2.25),
        ]
        let j = SchedulerOracle.judge(Self.service(linger: 1), connections: run, ordered: true)
        #expect(j.decisions[1].reason.contains("may or may not have expired"), "\(j.decisions[1].reason)")
        #expect(j.passed, "\(j.firstWrong?.reason ?? "")")
    }

    /// Entries lingering 120 s (the kernel's FIN_WAIT): the template still controls one when its
    /// timer fires, so it is re-armed for 60 s and the client stays.
    @Test func aLingeringEntryKeepsTheTemplate() {
        let stay = Self.conns(Array(repeating: "rs2", count: 8), starts: Self.starts)
        #expect(SchedulerOracle.judge(Self.service(linger: 120), connections: stay, ordered: true).passed)
        let t = PersistenceTemplate(server: "rs2", lastUse: 0.3, timeout: 2, entries: [PersistenceTemplate.entryLife(end: 0.35, linger: 120...120)])
        #expect(t.life(at: 4.5) == .alive(timeout: 60))
        // Near the timer's firing either answer is right.
        let near = PersistenceTemplate(server: "rs2", lastUse: 0.3, timeout: 2, entries: [PersistenceTemplate.entryLife(end: 0.35, linger: 1...1)])
        #expect(near.life(at: 2.35) == .unsure(from: 2.3))
        #expect(near.life(at: 1.0) == .alive(timeout: 2))
        #expect(near.life(at: 4.5) == .expired(since: 2.3))
    }
}
