import Foundation
import Testing
@testable import LblabModel
import LblabTypes

/// `services:` lists, `traffic.client/service`, `expect`.
@Suite struct ServiceListTests {
    /// Lines 1-9: two dispatchers d1, d2, real servers r1-r3, then `services:` from line 8.
    func lab(_ services: String, extra: String = "") -> String {
        """
        nodes:
          c: {role: client, address: 10.0.0.10/24}
          d1: {role: dispatcher, address: 10.0.0.2/24}
          d2: {role: dispatcher, address: 10.0.0.3/24}
          r1: {role: real, address: 10.0.0.21/24}
          r2: {role: real, address: 10.0.0.22/24}
          r3: {role: real, address: 10.0.0.23/24}
        services:
        \(services)
        \(extra)
        """
    }

    @Test func servicesWithTheirDefaults() throws {
        let spec = try parse(lab("""
              - {vip: 10.0.0.100, dispatcher: d1}
              - {name: alt, vip: 10.0.0.101, port: 8080, scheduler: wrr, dispatcher: d2, servers: [r3, r1]}
              - {vip: 10.0.0.100, port: 443, dispatcher: d1, servers: r2}
            """))
        #expect(spec.services == [
            ServiceSpec(name: "svc1", vip: ip("10.0.0.100"), port: 80, proto: .tcp, scheduler: .rr, dispatcher: "d1", servers: ["r1", "r2", "r3"]),
            ServiceSpec(name: "alt", vip: ip("10.0.0.101"), port: 8080, proto: .tcp, scheduler: .wrr, dispatcher: "d2", servers: ["r3", "r1"]),
            ServiceSpec(name: "svc3", vip: ip("10.0.0.100"), port: 443, proto: .tcp, scheduler: .rr, dispatcher: "d1", servers: ["r2"]),
        ])
        #expect(spec.traffic.service == "svc1")
        let r1 = try #require(spec.node(named: "r1"))
        #expect(spec.services(of: r1).map(\.name) == ["svc1", "alt"])
        #expect(spec.services(of: try #require(spec.node(named: "d2"))).map(\.name) == ["alt"])
    }

    @Test(arguments: [
        ("  - {vip: 10.0.0.100}", "services[0].dispatcher", 9, "missing: this lab has several dispatchers", "d1, d2"),
        ("  - {vip: 10.0.0.100, dispatcher: r1}", "services[0].dispatcher", 9, "no dispatcher node named 'r1'", "d1, d2"),
        ("  - {vip: 10.0.0.100, dispatcher: d1, servers: [r1, c]}", "services[0].servers", 9, "no real server named 'c'", "r1, r2, r3"),
        ("  - {vip: 10.0.0.100, dispatcher: d1, servers: [r1, r2, r1]}", "services[0].servers", 9, "r1 listed twice", nil),
        ("  - {vip: 10.0.0.100, dispatcher: d1, servers: []}", "services[0].servers", 9, "must name at least one real server", "r1, r2, r3"),
        ("  - {vip: 10.0.0.100, dispatcher: d1}\n  - {vip: 10.0.0.101, dispatcher: d1, name: svc1}", "services[1].name", 10,
         "service name 'svc1' is used twice (also TCP 10.0.0.100:80)", nil),
        ("  - {vip: 10.0.0.100, dispatcher: d1}\n  - {vip: 10.0.0.100, dispatcher: d1, scheduler: wrr}", "services[1].vip", 10,
         "TCP 10.0.0.100:80 on d1 is given twice (also service svc1)", nil),
        ("  - {vip: 10.0.0.100, dispatcher: d1, name: Web}", "services[0].name", 9, "'Web' cannot name a service", "1-15 of a-z and 0-9, starting with a letter"),
        ("  - {vip: 10.0.0.100, dispatcher: d1, protocol: sctp}", "services[0].protocol", 9, "unknown protocol 'sctp'", "tcp, udp"),
        ("  - {vip: 10.0.0.100, dispatcher: d1, colour: red}", "services[0].colour", 9, "unknown key 'colour'", "name, vip, port, protocol, scheduler, dispatcher, servers, persistence, one_packet, health_check"),
        ("  - {dispatcher: d1}", "services[0].vip", 9, "missing", "an IP address such as 198.51.100.100 or 2001:db8::100"),
        ("  - {vip: 10.0.0.2, dispatcher: d1}", "nodes.d1.address", 3, "10.0.0.2 is already used by service svc1", nil),
    ] as [(String, String, Int, String, String?)])
    func serviceErrors(services: String, key: String, line: Int, problem: String, valid: String?) throws {
        let e = try #require(labError(lab(services)))
        #expect(e.key == key)
        #expect(e.line == line)
        #expect(e.problem == problem)
        #expect(e.valid == valid)
    }

    /// The same VIP and port on two dispatchers is two services (e.g. a primary and a backup).
    @Test func sameServiceOnTwoDispatchers() throws {
        let spec = try parse(lab("  - {vip: 10.0.0.100, dispatcher: d1}\n  - {vip: 10.0.0.100, dispatcher: d2}"))
        #expect(spec.services.map(\.dispatcher) == ["d1", "d2"])
    }

    @Test func listShape() throws {
        let e1 = try #require(labError(lab("  {vip: 10.0.0.100}")))
        #expect(e1.key == "services" && e1.line == 9 && e1.problem == "must be a list of services")
        let e2 = try #require(labError(lab("  []")))
        #expect(e2.key == "services" && e2.problem == "must be a list of services")
        let both = try #require(labError(lab("  - {vip: 10.0.0.100, dispatcher: d1}", extra: "service: {vip: 10.0.0.101}")))
        #expect(both.key == "services" && both.line == 8 && both.problem == "give either service: or services:, not both")
    }

    @Test func trafficPicksAServiceAndAClient() throws {
        let services = "  - {name: web, vip: 10.0.0.100, dispatcher: d1}\n  - {name: api, vip: 10.0.0.101, dispatcher: d2}"
        #expect(try parse(lab(services, extra: "traffic: {service: api}")).traffic.service == "api")
        let e = try #require(labError(lab(services, extra: "traffic: {service: db}")))
        #expect(e.key == "traffic.service" && e.line == 11)
        #expect(e.problem == "no service named 'db'" && e.valid == "web, api")
        let c = try #require(labError(lab(services, extra: "traffic: {client: r1}")))
        #expect(c.key == "traffic.client" && c.line == 11 && c.problem == "node 'r1' is a real server, not a client" && c.valid == "c")
    }

    /// `distribution: scheduler` is valid for every scheduler: each has an oracle.
    @Test func distributionSchedulerIsValidForEveryScheduler() throws {
        let services = "  - {name: web, vip: 10.0.0.100, dispatcher: d1}\n  - {name: api, vip: 10.0.0.101, dispatcher: d2, scheduler: lc}"
        #expect(try parse(lab(services)).services.map(\.scheduler) == [.rr, .lc])
        #expect(try parse(lab(services, extra: "traffic: {service: api}")).expect.distribution == .scheduler)
    }
}

@Suite struct ExpectTests {
    @Test(arguments: [
        ("mode", PathRule.mode, LabMode?.some(.dr)), ("dr", .dr, .dr), ("nat", .nat, .nat), ("tun", .tun, .tun), ("none", PathRule.none, nil),
    ])
    func pathValues(text: String, rule: PathRule, checked: LabMode?) throws {
        let spec = try parse(smallLab + "\nexpect: {path: \(text)}")
        #expect(spec.expect.path == rule)
        #expect(rule.mode(in: spec.mode) == checked)
    }

    /// `path: mode` checks the lab's own mode; naming a mode checks that one whatever the lab is.
    @Test func pathModeFollowsTheLab() {
        #expect(PathRule.mode.mode(in: .nat) == .nat)
        #expect(PathRule.mode.mode(in: .tun) == .tun)
        #expect(PathRule.dr.mode(in: .nat) == .dr)
        #expect(PathRule.none.mode(in: .tun) == nil)
    }

    @Test func badPath() throws {
        let e = try #require(labError(smallLab + "\nexpect: {path: direct}"))
        #expect(e.key == "expect.path" && e.line == 7)
        #expect(e.problem == "unknown path 'direct'")
        #expect(e.valid == "mode, dr, nat, tun, none")
        #expect(e.description == "\(badFile):7: expect.path: unknown path 'direct' (valid: mode, dr, nat, tun, none)")
    }

    @Test func arpAndDistributionValues() throws {
        #expect(try parse(smallLab + "\nexpect: {arp: none, distribution: weights}").expect == ExpectSpec(distribution: .weights, path: .mode, arp: .none))
        #expect(labError(smallLab + "\nexpect: {arp: all}")?.valid == "dispatcher-only, none")
        #expect(labError(smallLab + "\nexpect: {distribution: even}")?.valid == "scheduler, equal, weights, none")
        #expect(labError(smallLab + "\nexpect: {paths: dr}")?.valid == "distribution, path, arp")
    }
}
