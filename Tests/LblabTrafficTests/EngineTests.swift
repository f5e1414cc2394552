import Foundation
import LblabNetlink
import LblabSystem
import Testing
import LblabTypes
@testable import LblabTraffic

/// Two client namespaces, each joined by a veth pair to a server namespace that runs the agent
/// and holds the target addresses 10.9.0.1 and fd00:9::1 on lo; the clients route to it.
/// Needs root and network namespaces (no IPVS): runs on the host.
final class EngineNet: @unchecked Sendable {
    let prefix = "lblabtt-\(getpid())-\(UInt32.random(in: 0...99_999))"
    let server: NetworkNamespace
    let clients: [NetworkNamespace]
    let agent: Int32
    static let target4 = IPAddress("10.9.0.1")!
    static let target6 = IPAddress("fd00:9::1")!
    static let port: UInt16 = 8080

    init() throws {
        server = try NetworkNamespace.create("\(prefix)-s")
        var made: [NetworkNamespace] = []
        for i in 1...2 { made.append(try NetworkNamespace.create("\(prefix)-c\(i)")) }
        clients = made
        for ns in [server] + made {
            try ns.run {
                try NetworkNamespace.setSysctl("net.ipv6.conf.all.accept_dad", "0")
                try NetworkNamespace.setSysctl("net.ipv6.conf.default.accept_dad", "0")
                try RouteNetlink().setUp(link: "lo")
            }
        }
        let (server, target4, target6) = (server, Self.target4, Self.target6)
        try server.run {
            let r = try RouteNetlink()
            try r.addAddress(IPInterface(host: target4), link: "lo")
            try r.addAddress(IPInterface(host: target6), link: "lo")
            for (i, c) in made.enumerated() {
                try r.createVeth(name: "v\(i + 1)", peerName: "eth0", peerNamespaceFD: c.fd, up: true)
                try r.addAddress(IPInterface(address: IPAddress("10.9.\(i + 1).1")!, prefixLength: 24), link: "v\(i + 1)")
                try r.addAddress(IPInterface(address: IPAddress("fd00:\(i + 1)::1")!, prefixLength: 64), link: "v\(i + 1)")
            }
        }
        for (i, c) in made.enumerated() {
            try c.run {
                let r = try RouteNetlink()
                try r.setUp(link: "eth0")
                try r.addAddress(IPInterface(address: IPAddress("10.9.\(i + 1).2")!, prefixLength: 24), link: "eth0")
                try r.addAddress(IPInterface(address: IPAddress("fd00:\(i + 1)::2")!, prefixLength: 64), link: "eth0")
                try r.addRoute(to: IPInterface(address: IPAddress("0.0.0.0")!, prefixLength: 0), via: IPAddress("10.9.\(i + 1).1")!, link: nil)
                try r.addRoute(to: IPInterface(address: IPAddress("::")!, prefixLength: 0), via: IPAddress("fd00:\(i + 1)::1")!, link: nil)
            }
        }
        agent = try Processes.startHTTPAgent(in: server, port: Self.port, nodeName: "srv")
        // A fresh namespace's IPv6 can drop the first seconds of traffic (seen here: ~6 s of lost
        // datagrams): wait until each client gets an IPv6 answer, so the tests measure the engine.
        let deadline = monotonicNow() + 15
        for c in 0..<clients.count {
            while monotonicNow() < deadline {
                let probe = TrafficPhasePlan(clients: [c], target: Self.target6, port: Self.port, proto: .udp, connections: 1, concurrency: 1)
                if TrafficEngine(clients: trafficClients, phases: [probe], timeout: 0.3, firstPort: 60_000).run().first?.server != nil { break }
            }
        }
    }

    deinit {
        Processes.stop(agent)
        for n in ["s", "c1", "c2"] { try? NetworkNamespace.delete("\(prefix)-\(n)") }
    }

    var trafficClients: [TrafficClient] {
        clients.enumerated().map { i, ns in
            TrafficClient(name: "c\(i + 1)") { count, family, kind in try ns.run { try Sockets.open(count, family: family, kind: kind) } }
        }
    }

    /// TCP sockets of the agent's port in the server namespace that are ESTABLISHED (the kernel's
    /// own table, /proc/thread-self/net/tcp6: the agent listens on IPv6 taking IPv4 too).
    func establishedAtServer() throws -> Int {
        try server.run {
            let text = try String(contentsOfFile: "/proc/thread-self/net/tcp6", encoding: .utf8)
            let port = String(format: ":%04X", Self.port)
            return text.split(separator: "\n").dropFirst().filter { line in
                let f = line.split(separator: " ")
                return f.count > 3 && f[1].hasSuffix(port) && f[3] == "01"
            }.count
        }
    }
}

@Suite(.serialized, .enabled(if: getuid() == 0, "needs root for network namespaces"))
struct EngineTests {
    @Test func clientsTakeTurnsEachFromItsOwnAddress() throws {
        let net = try EngineNet()
        let phase = TrafficPhasePlan(clients: [0, 1], target: EngineNet.target4, port: EngineNet.port, proto: .tcp, connections: 40, concurrency: 6)
        let engine = TrafficEngine(clients: net.trafficClients, phases: [phase], timeout: 5)
        let results = engine.run()
        #expect(results.count == 40)
        #expect(results.allSatisfy { $0.error == nil && $0.server == "srv" && $0.closed == nil })
        for r in results {
            #expect(r.client == r.index % 2)
            #expect(r.localAddress == IPAddress("10.9.\(r.client + 1).2"))
        }
        // Fresh source ports per client, in order from the first.
        for c in 0...1 {
            let ports = results.filter { $0.client == c }.sorted { $0.index < $1.index }.map(\.localPort)
            #expect(ports == Array(Sockets.firstPort..<Sockets.firstPort + 20))
        }
        #expect(engine.timings.hops == 2, "one namespace hop per client for 20 sockets each")
    }

    @Test func heldConnectionsStayEstablishedUntilTheirPhaseIsOver() throws {
        let net = try EngineNet()
        let phases = [
            TrafficPhasePlan(clients: [0], target: EngineNet.target6, port: EngineNet.port, proto: .tcp, connections: 5, concurrency: 5,
                             hold: .untilPhase(1)),
            TrafficPhasePlan(clients: [1], target: EngineNet.target6, port: EngineNet.port, proto: .tcp, connections: 3, concurrency: 1,
                             trace: true),
            TrafficPhasePlan(clients: [1], target: EngineNet.target4, port: EngineNet.port, proto: .tcp, connections: 2, concurrency: 2,
                             hold: .seconds(0.3), pause: 0.1),
        ]
        var established: [Int] = []
        let engine = TrafficEngine(clients: net.trafficClients, phases: phases, timeout: 5)
        let results = engine.run { p, _ in established.append(p == 1 ? ((try? net.establishedAtServer()) ?? -1) : -2) }
        #expect(results.count == 10)
        #expect(results.allSatisfy { $0.error == nil && $0.server == "srv" }, "\(results.compactMap(\.error))")
        // During phase 1 the 5 held connections are open at the server (short ones close at once).
        #expect(established == [5, 5, 5])
        let held = results.filter { $0.phase == 0 }
        let lastOfPhase1 = results.filter { $0.phase == 1 }.map { $0.start + $0.latency }.max()!
        #expect(held.allSatisfy { ($0.closed ?? 0) >= lastOfPhase1 })
        #expect(held.allSatisfy { $0.localAddress == IPAddress("fd00:1::2") })
        for r in results where r.phase == 2 {
            let closed = try #require(r.closed)
            #expect(closed - (r.start + r.latency) >= 0.29)
        }
        #expect(try net.establishedAtServer() == 0, "every held connection closed by the end")
    }

    @Test(arguments: [EngineNet.target4, EngineNet.target6])
    func udpDatagramsEachAnswered(target: IPAddress) throws {
        let net = try EngineNet()
        let phase = TrafficPhasePlan(clients: [0, 1], target: target, port: EngineNet.port, proto: .udp, connections: 12, concurrency: 3,
                                     datagramsPerSocket: 3)
        let results = TrafficEngine(clients: net.trafficClients, phases: [phase], timeout: 2).run()
        #expect(results.count == 12)
        #expect(results.allSatisfy { $0.error == nil && $0.server == "srv" },
                "\(results.filter { $0.error != nil }.map { "c\($0.client) #\($0.index) port \($0.localPort) at \($0.start)" })")
        // Three datagrams per socket: sockets 0 and 2 from c1, 1 and 3 from c2, each with one port.
        let bySocket = Dictionary(grouping: results) { $0.index / 3 }
        for (socket, rs) in bySocket {
            #expect(Set(rs.map(\.localPort)).count == 1)
            #expect(rs.allSatisfy { $0.client == socket % 2 })
        }
    }

    @Test func refusedAndLostAreErrors() throws {
        let net = try EngineNet()
        let phases = [
            TrafficPhasePlan(clients: [0], target: EngineNet.target4, port: 9, proto: .tcp, connections: 2, concurrency: 2),
            TrafficPhasePlan(clients: [0], target: EngineNet.target6, port: 9, proto: .udp, connections: 2, concurrency: 2),
            // No node holds 10.9.1.77 and the server does not forward: the datagram is dropped, lost.
            TrafficPhasePlan(clients: [1], target: IPAddress("10.9.1.77")!, port: EngineNet.port, proto: .udp, connections: 1, concurrency: 1),
        ]
        let results = TrafficEngine(clients: net.trafficClients, phases: phases, timeout: 0.5).run()
        #expect(results.count == 5)
        #expect(results.filter { $0.phase == 0 }.allSatisfy { $0.error == "connect: Connection refused" })
        #expect(results.filter { $0.phase == 1 }.allSatisfy { $0.error == "recv: Connection refused" })
        #expect(results.filter { $0.phase == 2 }.allSatisfy { $0.error == "no answer within 0.5 s (lost)" })
    }
}
