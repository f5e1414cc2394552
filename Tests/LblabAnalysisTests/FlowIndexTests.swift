import LblabAnalysis
import LblabModel
import LblabTypes
import Testing

/// The analysis indexes every point's frames by client flow once; these runs would judge wrongly
/// if a frame landed under the wrong flow, or if a rule counted servers instead of naming them.
@Suite struct FlowIndexTests {
    typealias L = SyntheticLab

    /// A deterministic shuffle (the order of frames within a point must not matter to the index).
    static func shuffled(_ frames: [RawFrame], seed: UInt64) -> [RawFrame] {
        var state = seed
        var out = frames
        for i in stride(from: out.count - 1, to: 0, by: -1) {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            out.swapAt(i, Int((state >> 33) % UInt64(i + 1)))
        }
        return out
    }

    static func isSYN(_ f: RawFrame, port: UInt16) -> Bool {
        guard let t = FrameDecoder.decode(f.bytes, timestamp: 0)?.tcp else { return false }
        return t.isInitialSYN && t.sourcePort == port
    }

    @Test func interleavedFlowsAreJudgedFlowByFlow() {
        let servers = (0..<40).map { $0 % 3 == 0 ? 2 : 1 }
        var lab = L.drRun(servers: servers)
        for (point, frames) in lab.captures { lab.captures[point] = Self.shuffled(frames, seed: UInt64(point.count)) }
        let report = lab.analyze(expect: ExpectSpec(distribution: .none, path: .mode, arp: .dispatcherOnly))
        #expect(report.passed, "\(report.render())")
        #expect(report.fromCapture == ["rs1": 26, "rs2": 14])
        #expect(report.verdict("dr-path")!.evidence.contains { $0.hasPrefix("(c)") && $0.hasSuffix("40/40") })

        // rs1's capture loses every frame of one flow (client port 40018): that flow, and only it, fails.
        var lost = lab
        let port: UInt16 = 40018
        lost.captures["rs1"]!.removeAll { f in
            guard let ip = FrameDecoder.decode(f.bytes, timestamp: 0)?.ipv4, let t = ip.tcp else { return false }
            return t.sourcePort == port || t.destinationPort == port
        }
        let broken = lost.analyze(expect: ExpectSpec(distribution: .none, path: .mode, arp: .none))
        let dr = broken.verdict("dr-path")!
        #expect(!dr.passed)
        #expect(dr.evidence.contains("1 flows violate the DR path, e.g.:"))
        #expect(dr.evidence.contains { $0.hasPrefix("  flow 198.51.100.10:40018: ") && $0.contains("(b) real servers that received the SYN on their own MAC: []") })
        #expect(broken.fromCapture == ["rs1": 25, "rs2": 14, LabAnalyzer.unseen: 1])
        let dist = broken.verdict("distribution")!
        #expect(dist.evidence.contains("  client port 40018: client says rs1, captures say (unseen)"))
    }

    @Test func anotherClientOnTheSamePortIsAnotherFlow() {
        // A host outside the lab uses the lab client's port 40001 towards the VIP and reaches rs2.
        var lab = L.drRun()
        let stranger = IPv4Address(198, 51, 100, 77)
        lab.see(Build.tcp(ethSrc: L.dispatcher.mac, ethDst: L.rs2.mac, src: stranger, sport: 40001, dst: L.vip, dport: 80, flags: 0x02),
                at: ["dispatcher", "rs2"])
        lab.see(Build.tcp(ethSrc: L.rs2.mac, ethDst: Build.mac(0x77), src: L.vip, sport: 80, dst: stranger, dport: 40001, flags: 0x12),
                at: ["rs2"])
        let report = lab.analyze()
        #expect(report.passed, "\(report.render())")
        #expect(report.fromCapture == ["rs1": 2, "rs2": 2])
    }

    @Test func theServerThatReceivedMustBeTheOneTheDispatcherChose() {
        // The dispatcher sends flow 40001 to rs1's MAC, yet only rs2's point shows it arriving on rs2's MAC.
        var lab = L.drRun()
        lab.captures["rs1"]!.removeAll { Self.isSYN($0, port: 40001) }
        lab.see(Build.tcp(ethSrc: L.dispatcher.mac, ethDst: L.rs2.mac, src: L.client.address, sport: 40001, dst: L.vip, dport: 80,
                          flags: 0x02, tcpOptions: 20), at: ["rs2"])
        let report = lab.analyze()
        let dr = report.verdict("dr-path")!
        #expect(!dr.passed)
        #expect(dr.evidence.contains { $0.hasPrefix("(b)") && $0.hasSuffix("3/4") })
        #expect(dr.evidence.contains { $0.contains("flow 198.51.100.10:40001: (b) real servers that received the SYN on their own MAC: [rs2], dispatcher forwarded to [rs1]") })
        #expect(report.fromCapture == ["rs1": 1, "rs2": 3])
        #expect(report.verdict("distribution")!.evidence.contains("  client port 40001: client says rs1, captures say rs2"))
    }

    @Test func aSYNBothServersReceivedIsCountedUnderSeveral() {
        var lab = L.drRun()
        lab.see(Build.tcp(ethSrc: L.dispatcher.mac, ethDst: L.rs2.mac, src: L.client.address, sport: 40001, dst: L.vip, dport: 80,
                          flags: 0x02, tcpOptions: 20), at: ["rs2"])
        // A retransmitted SYN at rs1 does not make rs1 a receiver twice.
        lab.see(Build.tcp(ethSrc: L.dispatcher.mac, ethDst: L.rs1.mac, src: L.client.address, sport: 40001, dst: L.vip, dport: 80,
                          flags: 0x02, tcpOptions: 20), at: ["rs1"])
        let report = lab.analyze()
        #expect(report.fromCapture == ["rs1": 1, "rs2": 2, LabAnalyzer.several: 1])
        let dr = report.verdict("dr-path")!
        #expect(!dr.passed)
        #expect(dr.evidence.contains { $0.contains("flow 198.51.100.10:40001: (b) real servers that received the SYN on their own MAC: [rs1, rs2]") })
    }

    @Test func contiguousFramesJudgeLikeSingleFrames() {
        let lab = L.drRun(servers: [2, 1, 1])
        let contiguous = lab.captures.mapValues { RawFrames($0) }
        for (point, frames) in lab.captures {
            let c = contiguous[point]!
            #expect(c.count == frames.count)
            #expect((0..<c.count).map { c[$0] } == frames, "\(point)")
        }
        let a = LabAnalyzer.analyze(spec: lab.spec, facts: lab.facts, outcomes: lab.outcomes, captures: contiguous)
        #expect(a == lab.analyze())
        #expect(a.fromCapture == ["rs1": 2, "rs2": 1])
    }
}
