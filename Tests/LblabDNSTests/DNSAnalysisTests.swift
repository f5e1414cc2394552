import LblabTypes
import Testing
@testable import LblabDNS

private func a(_ s: String) -> IPv4Address { IPv4Address(s)! }

/// Runs built by hand: three servers, two clients, records and captured answers as a real run has them.
struct RunBuilder {
    var servers = [DNSRun.Server(node: "web1", address: a("192.0.2.21")), DNSRun.Server(node: "web2", address: a("192.0.2.22")),
                   DNSRun.Server(node: "web3", address: a("192.0.2.23"))]
    var clients = [DNSRun.Client(node: "c1", address: IPv4Interface("192.0.2.10/24")!, nameserver: a("192.0.2.53")),
                   DNSRun.Client(node: "c2", address: IPv4Interface("192.0.2.11/24")!, nameserver: a("192.0.2.53"))]
    var records: [ClientRecord] = []
    var packets: [String: [DNSPacket]] = [:]
    var resolverPackets: [String: [DNSPacket]] = [:]
    var resolvers: [DNSRun.Resolver] = []
    var faults: [DNSRun.Fault] = []
    var expect = DNSExpectations()
    var dead: [String] = []

    /// One lookup of `client` at `t`, answered with `order`; the client connects to glibc's first unless `chosen` says otherwise.
    mutating func lookup(_ client: Int, at t: Double, order: [String], chosen: String? = nil, error: String? = nil, ms: Double = 1, ttl: UInt32 = 5) {
        let c = clients[client]
        let addrs = order.map(a)
        let first = chosen.map(a) ?? AddressSorting.glibcOrder(addrs, source: c.address)[0]
        let server = error == nil ? servers.first { $0.address == first }?.node : nil
        records.append(ClientRecord(client: c.node, start: t, latencyMillis: ms, addresses: addrs, chosen: first, server: server, error: error))
        let id = UInt16(records.count)
        let q = DNSMessage(id: id, isResponse: false, question: "www.lab.test")
        let m = DNSMessage(id: id, isResponse: true, question: "www.lab.test", answers: addrs.map { .init(name: "www.lab.test", ttl: ttl, address: $0) })
        packets[c.node, default: []].append(DNSPacket(time: t + 0.0001, source: c.address.address, destination: c.nameserver, sourcePort: 40000 + id, destinationPort: 53, message: q))
        packets[c.node, default: []].append(DNSPacket(time: t + 0.0002, source: c.nameserver, destination: c.address.address, sourcePort: 53, destinationPort: 40000 + id, message: m))
    }

    var run: DNSRun {
        DNSRun(lab: "t", name: "www.lab.test", ttl: 5, servers: servers, clients: clients, resolvers: resolvers, faults: faults, timeout: 1,
               expect: expect, records: records, clientPackets: packets, resolverPackets: resolverPackets, deadDaemons: dead)
    }

    static let rotation = [["192.0.2.21", "192.0.2.22", "192.0.2.23"], ["192.0.2.22", "192.0.2.23", "192.0.2.21"], ["192.0.2.23", "192.0.2.21", "192.0.2.22"]]
}

@Suite struct DNSAnalysisTests {
    @Test func rotationGivesAnEvenSpreadThatFollowsTheCapture() {
        var b = RunBuilder()
        for i in 0..<60 { b.lookup(i % 2, at: Double(i), order: RunBuilder.rotation[i % 3]) }
        b.expect.spread = .predicted
        #expect(DNSAnalysis.analyze(b.run).passed)
        b.expect.spread = .even
        let r = DNSAnalysis.analyze(b.run)
        #expect(r.passed)
        #expect(r.stats.servers.map(\.connections) == [20, 20, 20])
    }

    /// A cache hands every client one order for the whole run: one server takes it all.
    @Test func aLongCacheFailsTheEvenSpread() {
        var b = RunBuilder()
        for i in 0..<60 { b.lookup(i % 2, at: Double(i), order: RunBuilder.rotation[0], ttl: 3000) }
        b.expect.spread = .even
        let r = DNSAnalysis.analyze(b.run)
        #expect(!r.passed)
        #expect(r.verdict("spread")?.passed == false)
        #expect(r.verdict("spread")?.summary.contains("web1") == true)
        b.expect.spread = .predicted
        #expect(DNSAnalysis.analyze(b.run).passed, "the uneven spread is what the captured answers predict")
    }

    @Test func aConnectionAgainstTheCapturedAnswerFailsThePrediction() {
        var b = RunBuilder()
        for i in 0..<6 { b.lookup(0, at: Double(i), order: RunBuilder.rotation[i % 3]) }
        b.lookup(0, at: 7, order: RunBuilder.rotation[0], chosen: "192.0.2.23")
        let v = DNSAnalysis.analyze(b.run).verdict("spread")
        #expect(v?.passed == false)
        #expect(v?.evidence.joined().contains("connected to 192.0.2.23") == true)
    }

    @Test func aDeadServerGivesAboutOneInNErrorsFromTheFault() {
        var b = RunBuilder()
        b.faults = [.init(time: 30, node: "web2", down: true)]
        for i in 0..<90 {
            let order = RunBuilder.rotation[i % 3]
            let t = Double(i) / 1.5
            let toDead = AddressSorting.glibcOrder(order.map(a), source: b.clients[i % 2].address)[0] == a("192.0.2.22") && t >= 30 - 0.0001
            b.lookup(i % 2, at: t, order: order, error: toDead ? "connect:ECONNREFUSED" : nil)
        }
        b.expect.errors = .fault
        #expect(DNSAnalysis.analyze(b.run).verdict("errors")?.passed == true)
        b.expect.errors = .none
        let claimNone = DNSAnalysis.analyze(b.run)
        #expect(claimNone.verdict("errors")?.passed == false)
        #expect(claimNone.stats.failed > 0)
    }

    @Test func errorsBeforeTheFaultOrOnLiveServersFail() {
        var b = RunBuilder()
        b.faults = [.init(time: 100, node: "web2", down: true)]
        for i in 0..<30 { b.lookup(0, at: Double(i), order: RunBuilder.rotation[i % 3], error: i % 3 == 1 ? "timeout" : nil) }
        b.expect.errors = .fault
        let v = DNSAnalysis.analyze(b.run).verdict("errors")
        #expect(v?.passed == false)
        #expect(v?.evidence.contains { $0.contains("before the fault") } == true)
    }

    @Test func cacheRuleCountsUpstreamQueriesInTheCapture() {
        var b = RunBuilder()
        b.resolvers = [.init(node: "cache", address: a("192.0.2.54"), upstream: a("192.0.2.53"))]
        func q(_ from: String, _ to: String) -> DNSPacket {
            DNSPacket(time: 0, source: a(from), destination: a(to), sourcePort: 40000, destinationPort: 53, message: DNSMessage(id: 1, isResponse: false, question: "www.lab.test"))
        }
        b.resolverPackets["cache"] = Array(repeating: q("192.0.2.10", "192.0.2.54"), count: 40) + Array(repeating: q("192.0.2.54", "192.0.2.53"), count: 3)
        b.lookup(0, at: 0, order: RunBuilder.rotation[0])
        b.expect.cache = .on
        #expect(DNSAnalysis.analyze(b.run).verdict("cache")?.passed == true)
        b.expect.cache = .off
        #expect(DNSAnalysis.analyze(b.run).verdict("cache")?.passed == false)
        b.resolverPackets["cache"] = Array(repeating: q("192.0.2.10", "192.0.2.54"), count: 40) + Array(repeating: q("192.0.2.54", "192.0.2.53"), count: 40)
        #expect(DNSAnalysis.analyze(b.run).verdict("cache")?.passed == true)
        b.expect.cache = .on
        let bypass = DNSAnalysis.analyze(b.run).verdict("cache")
        #expect(bypass?.passed == false)
        #expect(bypass?.evidence == ["cache: 40 queries from clients, 40 sent upstream to 192.0.2.53"])
    }

    @Test func aDeadDaemonFailsLivenessEvenWhenTrafficSucceeded() {
        var b = RunBuilder()
        for i in 0..<6 { b.lookup(0, at: Double(i), order: RunBuilder.rotation[i % 3]) }
        b.dead = ["unbound of cache: not running after the traffic"]
        let r = DNSAnalysis.analyze(b.run)
        #expect(!r.passed)
        #expect(r.verdict("liveness")?.evidence == b.dead)
        #expect(r.verdict("errors")?.passed == true)
    }

    @Test func latencyPerServerShowsTheSlowOne() {
        var b = RunBuilder()
        for i in 0..<30 {
            let order = RunBuilder.rotation[i % 3]
            b.lookup(0, at: Double(i), order: order, ms: order[0] == "192.0.2.23" ? 50 : 1)
        }
        let s = DNSAnalysis.analyze(b.run).stats
        #expect(s.servers.map(\.p50) == [1, 1, 50])
        #expect(DNSTable.render([.init(variant: "dns-rr-slow", stats: s, claim: "3", seconds: 1)]).contains("web3 33%"))
    }
}

@Suite struct AnswerMatchingTests {
    /// A slow connection's record ends after the next lookup's answer was captured: the record
    /// still gets its own answer (seen on a real run: a 22 ms connection and lookups 20 ms apart).
    @Test func aSlowConnectionKeepsItsOwnAnswer() {
        var b = RunBuilder()
        b.lookup(0, at: 0, order: RunBuilder.rotation[2], ms: 22)
        b.lookup(0, at: 0.0215, order: RunBuilder.rotation[0], ms: 0.4)
        b.lookup(0, at: 0.0220, order: RunBuilder.rotation[1])
        let m = DNSAnalysis.match(b.run)
        #expect(m.map { $0.answer?.message.answers.first?.address } == [IPv4Address("192.0.2.23"), IPv4Address("192.0.2.21"), IPv4Address("192.0.2.22")])
        #expect(DNSAnalysis.analyze(b.run).verdict("spread")?.passed == true)
    }
}
