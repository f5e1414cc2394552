import Testing
@testable import LblabAnalysis
import LblabModel
import LblabTypes

/// The VRRP verdicts on synthetic runs: a primary p (MAC ..:01, priority 150) and a backup b
/// (..:02, 100), VIP 198.51.100.100, the fault (p down) at 3.0 s.
@Suite struct VRRPRuleTests {
    let vip = IPAddress("198.51.100.100")!
    let vip4 = IPv4Address("198.51.100.100")!
    let p = Build.mac(1), b = Build.mac(2), client = Build.mac(9)

    func observation(pHeld: Bool = true, bHeld: Bool = false, pAfter: Bool = false, bAfter: Bool = true, bPriority: Int = 100,
                     bRouter: Int = 51, sync: Bool = true, syncDaemons: Bool = true, before: MACAddress? = nil, after: MACAddress? = nil,
                     fault: Double? = 3.0) -> VRRPObservation {
        VRRPObservation(vip: vip, peers: [
            .init(name: "p", mac: p, priority: 150, routerID: 51, heldBefore: pHeld, heldAfter: pAfter, syncDaemons: syncDaemons ? [.master, .backup] : []),
            .init(name: "b", mac: b, priority: bPriority, routerID: bRouter, heldBefore: bHeld, heldAfter: bAfter, syncDaemons: syncDaemons ? [.backup] : []),
        ], faultNode: fault == nil ? nil : "p", faultAt: fault, neighbourBefore: before ?? p, neighbourAfter: after ?? b, syncExpected: sync)
    }

    /// The primary answers the client at 0.1 s and announces at 0.0; the backup announces at 4.2 s (1.2 s after the fault).
    var healthyARP: [VIPAnnouncement] {
        [.init(at: 0.0, senderMAC: p, gratuitous: true), .init(at: 0.1, senderMAC: p, gratuitous: false),
         .init(at: 4.2, senderMAC: b, gratuitous: true), .init(at: 4.2, senderMAC: b, gratuitous: true)]
    }

    func conn(_ port: UInt16, start: Double, error: String? = nil, server: String? = "rs1", reused: SecondRequest? = nil) -> ConnectionOutcome {
        var o = ConnectionOutcome(client: "client", localAddress: nil, localPort: port, service: "svc1", server: error == nil ? server : nil,
                                  error: error, start: start, latency: 0.01)
        o.reused = reused
        return o
    }

    /// Two held connections (second request at 6 s), connections every 0.5 s; those opened
    /// between the fault and the takeover (3.0-4.2 s) fail.
    func outcomes(heldSurvive: Bool) -> [ConnectionOutcome] {
        var out = [conn(1, start: 0.05, server: "rs1", reused: SecondRequest(server: heldSurvive ? "rs1" : nil, error: heldSurvive ? nil : "recv: Connection reset by peer", at: 6)),
                   conn(2, start: 0.05, server: "rs2", reused: SecondRequest(server: heldSurvive ? "rs2" : nil, error: heldSurvive ? nil : "recv: Connection reset by peer", at: 6))]
        for k in 0..<12 {
            let t = 0.5 * Double(k)
            out.append(conn(UInt16(10 + k), start: t, error: t >= 3.0 && t < 4.2 ? "timeout connecting" : nil))
        }
        return out
    }

    func verdict(_ name: String, _ v: [RuleVerdict]) throws -> RuleVerdict { try #require(v.first { $0.rule == name }) }

    @Test func aHealthyFailoverPassesEveryRuleAndIsMeasured() throws {
        let v = VRRPRules.judge(observation(), announcements: healthyARP, outcomes: outcomes(heldSurvive: true))
        #expect(v.map(\.rule) == ["vrrp", "takeover", "neighbour", "failover", "sync"])
        #expect(v.allSatisfy { $0.passed }, "\(v.filter { !$0.passed })")
        let takeover = try verdict("takeover", v)
        #expect(takeover.summary == "b took 198.51.100.100 over: gratuitous ARP 1.20 s after p went down")
        let m = VRRPRules.measure(observation(), healthyARP, outcomes(heldSurvive: true))
        #expect(m.toAnnouncement.map { abs($0 - 1.2) < 1e-9 } == true)
        #expect(m.toFirstSuccess.map { abs($0 - 1.51) < 1e-9 } == true, "the connection opened at 4.5 s is answered 10 ms later")
        #expect(m.lostNew == 3 && m.survivedHeld == 2 && m.lostHeld == 0)
        #expect(m.outage.map { abs($0 - 2.0) < 1e-9 } == true, "answers at 2.51 s then 4.51 s: the connections of 3.0-4.0 s failed")
        let sync = try verdict("sync", v)
        #expect(sync.summary == "sync on: 2 of 2 connections held across the failover answered their second request")
    }

    @Test func withoutSyncHeldConnectionsAreLostAndCounted() throws {
        let v = VRRPRules.judge(observation(sync: false, syncDaemons: false), announcements: healthyARP, outcomes: outcomes(heldSurvive: false))
        let s = try verdict("sync", v)
        #expect(s.passed && s.summary.contains("0 of 2"))
        #expect(VRRPRules.measure(observation(), healthyARP, outcomes(heldSurvive: false)).lostHeld == 2)
        // The same run with sync expected fails on sync, naming the lost connections.
        let expected = try verdict("sync", VRRPRules.judge(observation(sync: true), announcements: healthyARP, outcomes: outcomes(heldSurvive: false)))
        #expect(!expected.passed && expected.summary == "2 of 2 connections held across the failover were lost")
    }

    @Test func syncExpectedButNotRunningNamesThePeers() throws {
        let s = try verdict("sync", VRRPRules.judge(observation(syncDaemons: false), announcements: healthyARP, outcomes: outcomes(heldSurvive: true)))
        #expect(!s.passed && s.summary.hasPrefix("sync expected but not running on p, b"))
    }

    @Test func equalPrioritiesFailTheVRRPRule() throws {
        let v = VRRPRules.judge(observation(pHeld: false, bHeld: true, bPriority: 150), announcements: healthyARP, outcomes: outcomes(heldSurvive: true))
        let e = try verdict("vrrp", v)
        #expect(!e.passed)
        #expect(e.summary == "priorities are equal (p 150, b 150): no dispatcher is the primary, VRRP breaks the tie by the higher address, so b became MASTER")
    }

    @Test func mismatchedRouterIDsMakeTwoMastersOnTheWire() throws {
        let arp = healthyARP + [.init(at: 0.0, senderMAC: b, gratuitous: true)]
        let v = VRRPRules.judge(observation(bHeld: true, bRouter: 52), announcements: arp, outcomes: outcomes(heldSurvive: true))
        let e = try verdict("vrrp", v)
        #expect(!e.passed && e.summary.hasPrefix("the dispatchers have different virtual_router_ids (p 51, b 52)"))
        #expect(e.evidence.contains("2 dispatchers hold the VIP at once (p, b): two MASTERs"))
        #expect(e.evidence.contains { $0.hasPrefix("ARP for 198.51.100.100 came from 2 dispatchers (p, b)") })
    }

    @Test func theWrongHolderFails() throws {
        let e = try verdict("vrrp", VRRPRules.judge(observation(pHeld: false, bHeld: true), announcements: healthyARP, outcomes: []))
        #expect(!e.passed && e.summary == "the VIP is on b, not on the primary p (priority 150)")
    }

    @Test func noTakeoverFailsTakeoverNeighbourAndFailover() throws {
        let arp = Array(healthyARP.prefix(2))
        var out = outcomes(heldSurvive: false)
        for i in out.indices where (out[i].start ?? 0) >= 3 { out[i].error = "timeout connecting"; out[i].server = nil }
        let v = VRRPRules.judge(observation(bAfter: false, after: p), announcements: arp, outcomes: out)
        let t = try verdict("takeover", v)
        #expect(!t.passed && t.summary == "no backup announced 198.51.100.100 with gratuitous ARP after p went down")
        let n = try verdict("neighbour", v)
        #expect(!n.passed && n.summary.contains("not a backup's MAC"))
        let f = try verdict("failover", v)
        #expect(!f.passed && f.summary.contains("no connection opened after the fault was answered"))
    }

    @Test func aLateTakeoverIsOverTheBound() throws {
        let arp = [VIPAnnouncement(at: 0, senderMAC: p, gratuitous: true), .init(at: 9.5, senderMAC: b, gratuitous: true)]
        let t = try verdict("takeover", VRRPRules.judge(observation(), announcements: arp, outcomes: outcomes(heldSurvive: true)))
        #expect(!t.passed && t.summary == "b announced 198.51.100.100 6.50 s after the fault, later than 4.61 s")
    }

    @Test func withoutAFaultOnlyTheElectionAndSyncAreJudged() throws {
        let v = VRRPRules.judge(observation(fault: nil), announcements: Array(healthyARP.prefix(2)), outcomes: [])
        #expect(v.map(\.rule) == ["vrrp", "sync"])
        #expect(v.allSatisfy { $0.passed })
    }

    @Test func aPlannedFaultThatNeverHappenedFailsTakeoverAndFailover() throws {
        var o = observation(fault: nil)
        o.faultPlanned = "p down at 3.0 s"
        o.faultFailure = "down of p failed: no such process"
        let v = VRRPRules.judge(o, announcements: Array(healthyARP.prefix(2)), outcomes: [])
        #expect(v.map(\.rule) == ["vrrp", "takeover", "failover", "sync"])
        for rule in ["takeover", "failover"] {
            let r = try verdict(rule, v)
            #expect(!r.passed && r.summary == "the fault p down at 3.0 s was never applied: down of p failed: no such process", "\(r.summary)")
        }
    }

    @Test func connectionsFailingBeforeTheFaultFailFailover() throws {
        var out = outcomes(heldSurvive: true)
        out.append(conn(99, start: 1.25, error: "connect: Connection refused"))
        let f = try verdict("failover", VRRPRules.judge(observation(), announcements: healthyARP, outcomes: out))
        #expect(!f.passed)
        #expect(f.summary.contains("1 connections opened before the fault failed, e.g. client:99 at 1.25 s: connect: Connection refused"), "\(f.summary)")
    }

    /// From captured frames: the primary's reply to the client, the backup's gratuitous ARP, and
    /// ARP that is not the VIP's (the client's request, the backup asking for a real server).
    @Test func announcementsFromFrames() {
        let clientIP = IPv4Address("198.51.100.10")!, rs = IPv4Address("198.51.100.21")!
        let frames = RawFrames([
            RawFrame(timestamp: 100.0, bytes: Build.arp(op: 1, senderMAC: client, senderIP: clientIP, targetMAC: MACAddress(bytes: [0, 0, 0, 0, 0, 0])!, targetIP: vip4)),
            RawFrame(timestamp: 100.1, bytes: Build.arp(op: 2, senderMAC: p, senderIP: vip4, targetMAC: client, targetIP: clientIP)),
            RawFrame(timestamp: 103.5, bytes: Build.arp(op: 1, senderMAC: b, senderIP: vip4, targetMAC: .broadcast, targetIP: vip4)),
            RawFrame(timestamp: 103.6, bytes: Build.arp(op: 1, senderMAC: b, senderIP: vip4, targetMAC: MACAddress(bytes: [0, 0, 0, 0, 0, 0])!, targetIP: rs)),
        ])
        let found = VIPAnnouncement.find(in: frames, vip: vip4, origin: 99.5)
        #expect(found.count == 2)
        #expect(found[0].senderMAC == p && !found[0].gratuitous && abs(found[0].at - 0.6) < 1e-9)
        #expect(found[1].senderMAC == b && found[1].gratuitous && abs(found[1].at - 4.0) < 1e-9)
    }
}
