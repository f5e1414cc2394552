import LblabModel
import LblabTypes
import Testing
@testable import LblabAnalysis

/// The scheduler oracles against sequences worked out by hand from the kernel's code.
@Suite struct SchedulerOracleTests {
    static let vip = IPAddress("198.51.100.100")!

    /// Destinations in kernel list order (the last added first).
    static func service(_ s: Scheduler, _ weights: [(String, Int)], persistence: Int? = nil, thresholds: [String: (Int, Int)] = [:]) -> OracleService {
        OracleService(name: "web", scheduler: s, vip: vip, destinations: weights.enumerated().map { i, w in
            OracleDestination(server: w.0, address: IPAddress("198.51.100.\(20 + i)"), weight: w.1,
                              upperThreshold: thresholds[w.0]?.0 ?? 0, lowerThreshold: thresholds[w.0]?.1 ?? 0)
        }, persistence: persistence)
    }

    static func conns(_ servers: [String?], client: (Int) -> String = { _ in "192.0.2.10" }, seen: [[DestinationCounts]]? = nil,
                      destination: (Int) -> IPAddress = { _ in vip }) -> [OracleConnection] {
        servers.enumerated().map { i, s in
            OracleConnection(number: i + 1, client: IPAddress(client(i)), clientPort: UInt16(40000 + i), destination: destination(i),
                             server: s, seen: seen?[i], start: Double(i), end: Double(i) + 0.5)
        }
    }

    @Test func rrStartsAtTheListHeadAndSkipsWeightZero() {
        let svc = Self.service(.rr, [("rs3", 1), ("rs2", 0), ("rs1", 1)])
        let ok = SchedulerOracle.judge(svc, connections: Self.conns(["rs3", "rs1", "rs3", "rs1"]), ordered: true)
        #expect(ok.passed && ok.judged == 4)
        let bad = SchedulerOracle.judge(svc, connections: Self.conns(["rs3", "rs1", "rs1", "rs3"]), ordered: true)
        #expect(!bad.passed)
        #expect(bad.firstWrong?.connection.number == 3)
        #expect(bad.firstWrong?.expectedText == "rs3")
        #expect(bad.firstWrong?.connection.label == "#3 192.0.2.10:40002")
        #expect(bad.wrongCount == 1, "after a wrong choice the cursor follows the kernel: #4 rs3 is right after #3 rs1")
    }

    /// A second run on a lab that stayed up starts where the cursor was; any other order still fails.
    @Test func rrAndWrrMayStartMidCycleWhenTheWholeRunFits() {
        let svc = Self.service(.rr, [("rs3", 1), ("rs2", 1), ("rs1", 1)])
        let mid = SchedulerOracle.judge(svc, connections: Self.conns(["rs2", "rs1", "rs3", "rs2"]), ordered: true)
        #expect(mid.passed)
        #expect(mid.notes.contains { $0.contains("after rs3") })
        let bad = SchedulerOracle.judge(svc, connections: Self.conns(["rs2", "rs1", "rs2", "rs3"]), ordered: true)
        // No start explains it: judged from the start that explains the most (after rs3: #1 rs2,
        // #2 rs1), so the first wrong one is #3, where rs3 was due.
        #expect(!bad.passed && bad.firstWrong?.connection.number == 3 && bad.firstWrong?.expectedText == "rs3", "\(bad.firstWrong?.reason ?? "")")
        #expect(bad.notes.contains { $0.contains("explains the most connections") })
        let wrr = Self.service(.wrr, [("rs2", 1), ("rs1", 3)])
        #expect(SchedulerOracle.judge(wrr, connections: Self.conns(["rs1", "rs1", "rs2", "rs1", "rs1", "rs1"]), ordered: true).passed)
        #expect(!SchedulerOracle.judge(wrr, connections: Self.conns(["rs1", "rs2", "rs1", "rs2"]), ordered: true).passed)
    }

    @Test func rrOverlappingConnectionsAreJudgedByCounts() {
        let svc = Self.service(.rr, [("rs2", 1), ("rs1", 1)])
        let j = SchedulerOracle.judge(svc, connections: Self.conns(["rs1", "rs2", "rs2", "rs1"]), ordered: false)
        #expect(j.passed && j.method.hasPrefix("by counts"))
        let bad = SchedulerOracle.judge(svc, connections: Self.conns(["rs1", "rs1", "rs2", "rs1"]), ordered: false)
        #expect(!bad.passed && bad.firstWrong?.connection.number == 4)
    }

    /// Added rs1 (3), rs2 (2), rs3 (1): list rs3, rs2, rs1. After the first add cw = mw = 3 - (3 - 1)
    /// = 1 (the gcd of one weight is itself) and later adds keep it, so the kernel starts with a
    /// cw-1 pass (rs3, rs2, rs1), then full cycles at cw 3, 2, 1.
    @Test func wrrInterleavesWithinEachCycle() {
        let svc = Self.service(.wrr, [("rs3", 1), ("rs2", 2), ("rs1", 3)])
        let cycle = ["rs1", "rs2", "rs1", "rs3", "rs2", "rs1"]
        #expect(SchedulerOracle.judge(svc, connections: Self.conns(["rs3", "rs2", "rs1"] + cycle + cycle), ordered: true).passed)
        let flat = ["rs3", "rs2", "rs1", "rs1", "rs1", "rs1", "rs2", "rs2", "rs3"]
        let j = SchedulerOracle.judge(svc, connections: Self.conns(flat), ordered: true)
        #expect(!j.passed && j.firstWrong?.connection.number == 5 && j.firstWrong?.expectedText == "rs2")
        // Same counts per cycle: the count-based fallback accepts it.
        #expect(SchedulerOracle.judge(svc, connections: Self.conns(flat), ordered: false).passed)
    }

    @Test func wrrWithACommonDivisorStepsByIt() {
        // Added rs1 (4) then rs2 (2): after the first add cw = mw = 4 - (4 - 1) = 1; the second add
        // (gcd 2, mw 3) keeps cw = (1 / 2) * 2 + 1 = 1. So the first cycle runs at cw 1 (rs2, rs1),
        // then cw 3 (rs1), cw 1 (rs2, rs1), ...
        let svc = Self.service(.wrr, [("rs2", 2), ("rs1", 4)])
        #expect(SchedulerOracle.judge(svc, connections: Self.conns(["rs2", "rs1", "rs1", "rs2", "rs1", "rs1"]), ordered: true).passed)
    }

    static func seen(_ rows: [(String, Int, Int)], weights: [String: Int] = [:]) -> [DestinationCounts] {
        rows.map { DestinationCounts(server: $0.0, weight: weights[$0.0] ?? 1, active: $0.1, inactive: $0.2) }
    }

    @Test func sedAndNqAndWlcReadTheCounts() {
        // rs2 weight 2, rs1 weight 1 (list rs2, rs1).
        let ws = [("rs2", 2), ("rs1", 1)]
        let counts = [Self.seen([("rs2", 1, 0), ("rs1", 0, 0)]), Self.seen([("rs2", 2, 0), ("rs1", 0, 0)])]
        // sed: (1+1)/2 = 1 vs (0+1)/1 = 1: tie, first listed (rs2). Then (2+1)/2 = 1.5 vs 1: rs1.
        let sed = SchedulerOracle.judge(Self.service(.sed, ws), connections: Self.conns(["rs2", "rs1"], seen: counts), ordered: true)
        #expect(sed.passed, "\(sed.firstWrong?.reason ?? "")")
        // nq: rs1 idle -> rs1 both times.
        let nq = SchedulerOracle.judge(Self.service(.nq, ws), connections: Self.conns(["rs1", "rs1"], seen: counts), ordered: true)
        #expect(nq.passed)
        let nqWrong = SchedulerOracle.judge(Self.service(.nq, ws), connections: Self.conns(["rs2", "rs1"], seen: counts), ordered: true)
        #expect(nqWrong.firstWrong?.connection.number == 1)
        #expect(nqWrong.firstWrong?.reason.contains("rs1 a0 i0 w1") == true)
        // wlc: 256/2 = 128 vs 0: rs1 both.
        #expect(SchedulerOracle.judge(Self.service(.wlc, ws), connections: Self.conns(["rs1", "rs1"], seen: counts), ordered: true).passed)
        // lc: 256 vs 0, then 512 vs 0: rs1.
        #expect(SchedulerOracle.judge(Self.service(.lc, ws), connections: Self.conns(["rs1", "rs1"], seen: counts), ordered: true).passed)
    }

    @Test func countSchedulersCannotBeJudgedWithoutCounts() {
        let j = SchedulerOracle.judge(Self.service(.lc, [("rs2", 1), ("rs1", 1)]), connections: Self.conns(["rs2", "rs1"]), ordered: true)
        #expect(!j.passed)
        #expect(j.cannotJudge?.contains("lblab test sched-lc") == true)
    }

    @Test func foAndOvf() {
        let ws = [("rs2", 1), ("rs1", 3)]
        #expect(SchedulerOracle.judge(Self.service(.fo, ws), connections: Self.conns(["rs1", "rs1", "rs1"]), ordered: false).passed)
        #expect(!SchedulerOracle.judge(Self.service(.fo, ws), connections: Self.conns(["rs1", "rs2"]), ordered: false).passed)
        // ovf: rs1 (w3) until its active count passes 3.
        let counts = [(0, 0), (1, 0), (2, 0), (3, 0), (4, 0)].map { Self.seen([("rs2", 0, 0), ("rs1", $0.0, $0.1)]) }
        let ovf = SchedulerOracle.judge(Self.service(.ovf, ws), connections: Self.conns(["rs1", "rs1", "rs1", "rs1", "rs2"], seen: counts), ordered: true)
        #expect(ovf.passed, "\(ovf.firstWrong?.reason ?? "")")
    }

    @Test func kernelHashes() {
        #expect(KernelHash.hash32(1, bits: 8) == 0x61)
        #expect(KernelHash.hash32(0, bits: 8) == 0)
        #expect(KernelHash.fold(IPAddress("1.2.3.4")!) == 0x0102_0304)
        #expect(KernelHash.fold(IPAddress("2001:db8::1")!) == 0x2001_0db8 ^ 1)
        // sh weights 2 and 1 in list order: buckets a, a, b, a, a, b, ...
        #expect(Array(KernelHash.shTable(weights: [2, 1]).prefix(6)) == [0, 0, 1, 0, 0, 1])
        #expect(Array(KernelHash.shTable(weights: [0, 1]).prefix(4)) == [0, 1, 0, 1], "weight 0 still takes one bucket")
        // The Maglev table is full, every weighted destination in it, shares near the weights.
        let t = KernelHash.mhTable([(IPAddress("198.51.100.20")!, 80, 1), (IPAddress("198.51.100.21")!, 80, 3)])
        #expect(!t.contains(-1))
        let share = Double(t.filter { $0 == 1 }.count) / Double(t.count)
        #expect(share > 0.7 && share < 0.8)
    }

    @Test func shIsOneServerPerClientAddress() {
        let svc = Self.service(.sh, [("rs2", 1), ("rs1", 1)])
        let clients = (0..<16).map { "192.0.2.\(10 + $0)" }
        let expected = clients.map { KernelHash.shBucket(IPAddress($0)!) % 2 == 0 ? "rs2" : "rs1" }
        #expect(Set(expected).count == 2, "16 clients land on both servers")
        let j = SchedulerOracle.judge(svc, connections: Self.conns(expected, client: { clients[$0] }), ordered: false)
        #expect(j.passed)
        var swapped = expected
        swapped[5] = swapped[5] == "rs1" ? "rs2" : "rs1"
        let bad = SchedulerOracle.judge(svc, connections: Self.conns(swapped, client: { clients[$0] }), ordered: false)
        #expect(bad.firstWrong?.connection.number == 6 && bad.firstWrong?.connection.client == IPAddress(clients[5]))
        #expect(bad.firstWrong?.reason.contains("source 192.0.2.15: bucket") == true)
    }

    /// mh moves few clients when one weight changes; sh's table shifts under most of them.
    @Test func aWeightChangeMovesFewClientsUnderMH() {
        let clients = (0..<64).map { "192.0.2.\(10 + $0)" }
        func moved(_ s: Scheduler) -> Int {
            let svc = Self.service(s, [("rs3", 1), ("rs2", 1), ("rs1", 1)])
            let j = SchedulerOracle.judge(svc, connections: Self.conns(Array(repeating: nil, count: 64), client: { clients[$0] }), ordered: false)
            let note = j.notes.first { $0.contains("would move") } ?? ""
            return Int(note.split(separator: ",").last?.split(separator: " ").first ?? "") ?? -1
        }
        let mh = moved(.mh), sh = moved(.sh)
        #expect(mh >= 0 && sh >= 0)
        #expect(mh < sh, "mh \(mh) vs sh \(sh) of 64")
    }

    @Test func dhIsOneServerPerDestination() {
        let svc = Self.service(.dh, [("rs3", 1), ("rs2", 1), ("rs1", 1)])
        let vips = (100..<106).map { IPAddress("198.51.100.\($0)")! }
        let expected = vips.map { ["rs3", "rs2", "rs1"][KernelHash.dhBucket($0) % 3] }
        #expect(SchedulerOracle.judge(svc, connections: Self.conns(expected, destination: { vips[$0] }), ordered: false).passed)
    }

    @Test func lblcStaysUntilOverloaded() {
        // weight 2 each; list rs2, rs1. rs2 takes connections until its active count passes 2 while rs1 is under half.
        let ws = [("rs2", 2), ("rs1", 2)]
        let counts = [(0, 0), (1, 0), (2, 0), (3, 0), (3, 1)].map { Self.seen([("rs2", $0.0, 0), ("rs1", $0.1, 0)], weights: ["rs2": 2, "rs1": 2]) }
        let j = SchedulerOracle.judge(Self.service(.lblc, ws), connections: Self.conns(["rs2", "rs2", "rs2", "rs1", "rs1"], seen: counts), ordered: true)
        #expect(j.passed, "\(j.firstWrong?.reason ?? "")")
        let rr = SchedulerOracle.judge(Self.service(.lblc, ws), connections: Self.conns(["rs2", "rs1", "rs2", "rs1", "rs2"], seen: counts), ordered: true)
        #expect(rr.firstWrong?.connection.number == 2)
    }

    @Test func persistenceKeepsAClientOnItsServer() {
        let svc = Self.service(.rr, [("rs2", 1), ("rs1", 1)], persistence: 30)
        #expect(SchedulerOracle.judge(svc, connections: Self.conns(["rs2", "rs2", "rs2"]), ordered: true).passed)
        // Without persistence, the same run breaks rr at #2: the "persistence left on" variant.
        let plain = SchedulerOracle.judge(Self.service(.rr, [("rs2", 1), ("rs1", 1)]), connections: Self.conns(["rs2", "rs2", "rs2"]), ordered: true)
        #expect(plain.firstWrong?.connection.number == 2 && plain.firstWrong?.expectedText == "rs1")
        // Two clients: each keeps its own.
        let two = SchedulerOracle.judge(svc, connections: Self.conns(["rs2", "rs1", "rs2", "rs1"], client: { "192.0.2.\(10 + $0 % 2)" }), ordered: true)
        #expect(two.passed)
    }

    /// UDP: without one-packet scheduling the datagrams of one socket share an entry (one server);
    /// with it each datagram is scheduled (rr turns).
    @Test func udpDatagramsShareAnEntryUnlessOnePacket() {
        var svc = Self.service(.rr, [("rs2", 1), ("rs1", 1)])
        svc.datagramsShareEntry = true
        let sameSocket = (0..<4).map { i in
            OracleConnection(number: i + 1, client: IPAddress("192.0.2.10"), clientPort: 5000, destination: Self.vip, server: "rs2",
                             start: Double(i), end: Double(i) + 0.5)
        }
        #expect(SchedulerOracle.judge(svc, connections: sameSocket, ordered: true).passed)
        svc.datagramsShareEntry = false
        let onePacket = SchedulerOracle.judge(svc, connections: sameSocket, ordered: true)
        #expect(onePacket.firstWrong?.connection.number == 2 && onePacket.firstWrong?.expectedText == "rs1")
    }

    @Test func thresholdsMarkAServerOverloaded() {
        // rr; rs2 has u_threshold 2: once it holds 2 connections rr skips it.
        let svc = Self.service(.rr, [("rs2", 1), ("rs1", 1)], thresholds: ["rs2": (2, 0)])
        let counts = [(0, 0), (1, 0), (1, 1), (2, 1), (2, 2)].map { Self.seen([("rs2", $0.0, 0), ("rs1", $0.1, 0)]) }
        let j = SchedulerOracle.judge(svc, connections: Self.conns(["rs2", "rs1", "rs2", "rs1", "rs1"], seen: counts), ordered: true)
        #expect(j.passed, "\(j.firstWrong?.reason ?? "")")
        let ignored = SchedulerOracle.judge(svc, connections: Self.conns(["rs2", "rs1", "rs2", "rs1", "rs2"], seen: counts), ordered: true)
        #expect(ignored.firstWrong?.connection.number == 5)
        #expect(SchedulerOracle.judge(svc, connections: Self.conns(["rs2", "rs1"]), ordered: true).cannotJudge != nil)
    }

    @Test func compactShowsEachDecision() {
        let svc = Self.service(.rr, [("rs2", 1), ("rs1", 1)])
        let j = SchedulerOracle.judge(svc, connections: Self.conns(Array(repeating: "rs2", count: 40)), ordered: true)
        let lines = SchedulerOracle.compact(j, limit: 6, perLine: 3)
        #expect(lines == ["#1 rs2  #2 rs2!=rs1  #3 rs2!=rs1", "#4 rs2!=rs1  #5 rs2!=rs1  #6 rs2!=rs1", "... 34 more"])
    }

    @Test func everySchedulerHasAnExplanationAndALab() {
        for s in Scheduler.allCases {
            #expect(SchedulerOracle.explanation(s).hasPrefix(s.rawValue + " ("))
            #expect(SchedulerOracle.showingLab(s) == "sched-\(s.rawValue)")
        }
    }
}
