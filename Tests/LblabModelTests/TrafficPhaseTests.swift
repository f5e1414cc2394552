import Foundation
import Testing
@testable import LblabModel
import LblabTypes

/// `traffic:` with several clients, phases, held connections, traces and UDP.
@Suite struct TrafficPhaseTests {
    /// 4 clients from a `count:` group and one on its own, a TCP and a UDP service.
    static let lab = """
        services:
          - {name: web, vip: 10.0.0.100, port: 80}
          - {name: dns, vip: 10.0.0.101, port: 53, protocol: udp}
        nodes:
          c: {role: client, address: 10.0.0.10/24, count: 4}
          solo: {role: client, address: 10.0.0.30/24}
          d: {role: dispatcher, address: 10.0.0.2/24}
          rs1: {role: real, address: 10.0.0.21/24}
          rs2: {role: real, address: 10.0.0.22/24}
        expect: {distribution: none}

        """

    func error(_ traffic: String, overrides: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> LabFileError {
        try #require(labError(Self.lab + traffic, overrides: overrides, sourceLocation: sourceLocation), sourceLocation: sourceLocation)
    }

    /// The line of the `traffic:` text's line `n` (from 1) in the whole file.
    func line(_ n: Int) -> Int { Self.lab.split(separator: "\n", omittingEmptySubsequences: false).count - 1 + n }

    @Test func onePhaseFromTheOldKeys() throws {
        let spec = try parse(Self.lab + "traffic: {connections: 30, concurrency: 3, client: solo, service: dns}")
        #expect(spec.traffic.phases == [TrafficPhase(name: "phase1", clients: ["solo"], service: "dns", connections: 30, concurrency: 3)])
        #expect(spec.traffic.connections == 30 && spec.traffic.client == "solo" && spec.traffic.service == "dns")
        // --set keeps working on a one-phase lab.
        let set = try parse(Self.lab + "traffic: {connections: 30}", overrides: ["connections=7", "concurrency=2", "client=c3"])
        #expect(set.traffic.phases.map { [$0.connections, $0.concurrency] } == [[7, 2]])
        #expect(set.traffic.phases[0].clients == ["c3"])
    }

    @Test func everyClientByDefaultAndGroupsExpand() throws {
        let spec = try parse(Self.lab)
        #expect(spec.traffic.phases[0].clients == ["c1", "c2", "c3", "c4", "solo"])
        let group = try parse(Self.lab + "traffic: {clients: [solo, c]}")
        #expect(group.traffic.phases[0].clients == ["solo", "c1", "c2", "c3", "c4"])
        #expect(group.traffic.clients == ["solo", "c1", "c2", "c3", "c4"])
    }

    @Test func phasesTakeTheTrafficKeysAsDefaults() throws {
        let spec = try parse(Self.lab + """
            traffic:
              concurrency: 4
              clients: c
              phases:
                - {name: long, connections: 10, hold: {until: short}}
                - {name: short, connections: 100, clients: [solo], trace: true, pause: 0.5}
                - {connections: 20, hold: 2.5}
                - {name: udp, service: dns, connections: 12, datagrams_per_socket: 3, hold: 0}
                - {name: last, connections: 1, hold: {until: end}}
            """)
        let p = spec.traffic.phases
        #expect(p.map(\.name) == ["long", "short", "phase3", "udp", "last"])
        #expect(p[0] == TrafficPhase(name: "long", clients: ["c1", "c2", "c3", "c4"], service: "web", connections: 10, concurrency: 4,
                                     hold: .untilPhase(1)))
        #expect(p[1].clients == ["solo"] && p[1].trace && p[1].concurrency == 1 && p[1].pause == 0.5 && p[1].hold == .none)
        #expect(p[2].hold == .seconds(2.5))
        #expect(p[3].service == "dns" && p[3].datagramsPerSocket == 3 && p[3].hold == .none)
        #expect(p[4].hold == .end)
        #expect(spec.traffic.connections == 143)
    }

    @Test(arguments: [
        // (traffic text, key, line in the traffic text, problem)
        ("traffic: {clients: [rs1]}", "traffic.clients", 1, "node 'rs1' is a real server, not a client"),
        ("traffic: {clients: [nobody]}", "traffic.clients", 1, "no client node named 'nobody'"),
        ("traffic: {clients: [c1, c]}", "traffic.clients", 1, "client c1 named twice"),
        ("traffic: {client: c1, clients: [c2]}", "traffic.clients", 1, "give either client: or clients:, not both"),
        ("traffic:\n  phases:\n    - {name: a, hold: {until: b}}\n    - {name: a}", "traffic.phases[1].name", 4, "phase name 'a' is used twice"),
        ("traffic:\n  phases:\n    - {name: a}\n    - {name: b, hold: {until: a}}", "traffic.phases[1].hold.until", 4,
         "phase 'a' is not after this one: a connection can only be held until a later phase is over"),
        ("traffic:\n  phases:\n    - {name: a, hold: {until: zz}}", "traffic.phases[0].hold.until", 3, "no phase named 'zz'"),
        ("traffic:\n  phases:\n    - {hold: forever}", "traffic.phases[0].hold", 3, "'forever' is not a number of seconds in 0...3600"),
        ("traffic:\n  phases:\n    - {service: dns, hold: 3}", "traffic.phases[0].hold", 3,
         "a UDP service has no connection to hold (service dns is UDP 10.0.0.101:53)"),
        ("traffic: {datagrams_per_socket: 4}", "traffic.datagrams_per_socket", 1,
         "datagrams_per_socket is for UDP services (service web is TCP 10.0.0.100:80)"),
        ("traffic:\n  phases: []", "traffic.phases", 2, "must be a list of phases"),
        ("traffic:\n  phases:\n    - {pause: -1}", "traffic.phases[0].pause", 3, "'-1' is not a number of seconds in 0...600"),
        ("traffic:\n  phases:\n    - {trace: maybe}", "traffic.phases[0].trace", 3, "'maybe' is not a boolean"),
        ("traffic:\n  phases:\n    - {name: Bad_Name}", "traffic.phases[0].name", 3, "'Bad_Name' cannot name a phase"),
        ("traffic:\n  phases:\n    - {colour: red}", "traffic.phases[0].colour", 3, "unknown key 'colour'"),
    ])
    func errorsNameKeyAndLine(traffic: String, key: String, line: Int, problem: String) throws {
        let e = try error(traffic)
        #expect(e.key == key)
        #expect(e.line == self.line(line))
        #expect(e.problem == problem)
        #expect(e.description.contains("\(badFile):\(self.line(line))"))
    }

    @Test func tooManyConnectionsForOneClient() throws {
        let e = try error("traffic:\n  clients: solo\n  phases:\n    - {connections: 40000}\n    - {connections: 30000}")
        #expect(e.key == "traffic" && e.problem.contains("client solo would send 70000 connections"))
        // Spread over five clients it fits.
        #expect(try parse(Self.lab + "traffic:\n  phases:\n    - {connections: 40000}\n    - {connections: 30000}").traffic.connections == 70000)
    }

    @Test func overrideNamesItself() throws {
        let e = try error("traffic: {connections: 5}", overrides: ["traffic.clients=rs2"])
        #expect(e.file == "--set traffic.clients=rs2" && e.line == nil && e.key == "traffic.clients")
    }

    @Test func everySendingClientMustReachItsVIP() throws {
        let far = Self.lab.replacingOccurrences(of: "solo: {role: client, address: 10.0.0.30/24}",
                                                with: "solo: {role: client, address: 192.168.9.30/24}")
        let e = try #require(labError(far))
        #expect(e.problem.contains("client solo cannot reach 10.0.0.100"))
        #expect(try parse(far + "traffic: {clients: c}").traffic.phases[0].clients.count == 4)
    }
}

@Suite struct TrafficSpecCodingTests {
    /// Run records written before phases (`lblab analyze` of an old run) still read.
    @Test func oneFlatPhaseDecodes() throws {
        let old = #"{"connections": 9, "concurrency": 3, "timeout": 2, "client": "c", "service": "web"}"#
        let t = try JSONDecoder().decode(TrafficSpec.self, from: Data(old.utf8))
        #expect(t == TrafficSpec(connections: 9, concurrency: 3, timeout: 2, client: "c", service: "web"))
        let phased = TrafficSpec(timeout: 1, phases: [TrafficPhase(name: "a", clients: ["c"], service: "web", connections: 1, concurrency: 1,
                                                                   hold: .untilPhase(1), trace: true),
                                                      TrafficPhase(name: "b", clients: ["c"], service: "web", connections: 2, concurrency: 1,
                                                                   hold: .seconds(1.5))])
        #expect(try JSONDecoder().decode(TrafficSpec.self, from: JSONEncoder().encode(phased)) == phased)
    }
}
