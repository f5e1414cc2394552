import Foundation
import Testing
@testable import LblabModel
import LblabTypes

/// `--set KEY=VALUE` overrides applied to labs/dr-basic.yaml.
@Suite struct OverrideTests {
    func drBasic(_ overrides: [String]) throws -> LabSpec {
        try LabFile.load(labPath("dr-basic"), overrides: overrides)
    }

    @Test func schedulerShortForm() throws {
        let base = try drBasic([])
        let spec = try drBasic(["scheduler=wrr"])
        #expect(spec.services[0].scheduler == .wrr)
        // Nothing else moved.
        var back = spec
        back.services[0].scheduler = .rr
        #expect(back == base)
    }

    @Test func fullDottedScheduler() throws {
        #expect(try drBasic(["service.scheduler=wrr"]).services[0].scheduler == .wrr)
    }

    /// One fresh client source port per connection bounds a run's connections.
    @Test func connectionsBeyondTheFreshPortsAreRejected() throws {
        #expect(try drBasic(["connections=60000"]).traffic.connections == 60000)
        let e = try #require(loadError("dr-basic", overrides: ["connections=60001"]))
        #expect(e.key == "traffic.connections")
        #expect(e.description.contains("1...60000"))
    }

    @Test func arpFixFalse() throws {
        #expect(try drBasic([]).arpFix == true)
        #expect(try drBasic(["arp_fix=false"]).arpFix == false)
    }

    @Test func nodeWeightShortForm() throws {
        let spec = try drBasic(["rs1.weight=3"])
        #expect(spec.node(named: "rs1")?.weight == 3)
        #expect(spec.node(named: "rs2")?.weight == 1, "only rs1 changes")
    }

    @Test func nodeWeightFullForm() throws {
        let spec = try drBasic(["nodes.rs2.weight=0"])
        #expect(spec.node(named: "rs2")?.weight == 0)
        #expect(spec.node(named: "rs1")?.weight == 1)
    }

    @Test func nodeForwardShortForm() throws {
        let spec = try drBasic(["rs1.forward=masq"])
        #expect(spec.node(named: "rs1")?.forward == .masq)
        #expect(spec.node(named: "rs2")?.forward == .route)
    }

    @Test func rpFilterTunnelAndForwardingSettings() throws {
        let spec = try drBasic(["rs1.rp_filter=1", "rs2.tunnel=yes", "dispatcher.ip_forward=off"])
        #expect(spec.node(named: "rs1")?.rpFilter == 1)
        #expect(spec.node(named: "rs2")?.rpFilter == 0)
        #expect(spec.node(named: "rs2")?.tunnel == true)
        #expect(spec.node(named: "dispatcher")?.ipForward == false)
    }

    @Test func trafficAliases() throws {
        let spec = try drBasic(["connections=50", "concurrency=2", "timeout=0.5", "client=client"])
        #expect(spec.traffic == TrafficSpec(connections: 50, concurrency: 2, timeout: 0.5, client: "client", service: "svc1"))
    }

    @Test func servicePortDotted() throws {
        #expect(try drBasic(["service.port=8080"]).services[0].port == 8080)
        #expect(try drBasic(["port=8081"]).services[0].port == 8081)
    }

    @Test func vipAlias() throws {
        #expect(try drBasic(["vip=198.51.100.200"]).services[0].vip == ip("198.51.100.200"))
    }

    @Test func expectAliases() throws {
        let spec = try drBasic(["distribution=equal", "path=none", "arp=none"])
        #expect(spec.expect == ExpectSpec(distribution: .equal, path: .none, arp: .none))
    }

    @Test func laterOverrideWins() throws {
        #expect(try drBasic(["scheduler=sh", "distribution=none", "scheduler=wrr"]).services[0].scheduler == .wrr)
    }

    @Test func overrideCanAddAMissingKey() throws {
        let text = """
            service: {vip: 10.0.0.100}
            nodes:
              c: {role: client, address: 10.0.0.10/24}
              d: {role: dispatcher, address: 10.0.0.2/24}
              r1: {role: real, address: 10.0.0.21/24}
            """
        let spec = try LabFile.parse(text, file: "m.yaml", overrides: ["connections=9", "r1.weight=7", "name=renamed"])
        #expect(spec.traffic.connections == 9)
        #expect(spec.node(named: "r1")?.weight == 7)
        #expect(spec.name == "renamed")
    }

    /// `--set scheduler=X` works on any lab: every scheduler has an oracle for `distribution: scheduler`.
    @Test func anySchedulerCanBeSet() throws {
        for s in Scheduler.allCases {
            let spec = try drBasic(["scheduler=\(s.rawValue)"])
            #expect(spec.services[0].scheduler == s && spec.expect.distribution == .scheduler)
        }
        #expect(try drBasic(["scheduler=lc", "distribution=equal"]).services[0].scheduler == .lc)
    }

    /// The mode changes the real servers' default forwarding, and what comes with it.
    @Test func modeOverride() throws {
        let tun = try drBasic(["mode=tun"])
        #expect(tun.realServers.allSatisfy { $0.forward == .tunnel && $0.tunnel && $0.rpFilter == 0 })
        let nat = try drBasic(["mode=nat"])
        #expect(nat.realServers.allSatisfy { $0.forward == .masq && $0.routes == [defaultRoute(via: "198.51.100.2")] && $0.rpFilter == nil })
    }

    // MARK: errors

    @Test func badValueNamesTheOverride() throws {
        let e = try #require(loadError("dr-basic", overrides: ["scheduler=bogus"]))
        #expect(e.file == "--set scheduler=bogus")
        #expect(e.key == "service.scheduler")
        #expect(e.line == nil, "an override has no line in the file")
        #expect(e.description == "--set scheduler=bogus: service.scheduler: unknown scheduler 'bogus' (valid: rr, wrr, lc, wlc, sed, nq, sh, dh, lblc, lblcr, mh, fo, ovf, twos)")
    }

    @Test func badWeightOverride() throws {
        let e = try #require(loadError("dr-basic", overrides: ["rs1.weight=70000"]))
        #expect(e.file == "--set rs1.weight=70000")
        #expect(e.key == "nodes.rs1.weight")
        #expect(e.line == nil)
        #expect(e.problem.contains("0...65535"))
    }

    /// A VIP the client cannot reach: the error names the override that put it there.
    @Test func vipOverrideOutsideTheSubnet() throws {
        let e = try #require(loadError("dr-basic", overrides: ["vip=10.0.0.1"]))
        #expect(e.file == "--set vip=10.0.0.1")
        #expect(e.key == "service.vip")
        #expect(e.line == nil)
        #expect(e.problem.contains("client") && e.problem.contains("10.0.0.1"))
    }

    @Test func unknownNode() throws {
        let e = try #require(loadError("dr-basic", overrides: ["nope.weight=1"]))
        #expect(e.file == "--set nope.weight=1")
        #expect(e.problem.contains("nope"))
        #expect(e.valid == "client, dispatcher, rs1, rs2")
    }

    @Test(arguments: ["scheduler", "=wrr", ""])
    func missingEquals(override: String) throws {
        let e = try #require(loadError("dr-basic", overrides: [override]))
        #expect(e.file == "--set \(override)")
        #expect(e.problem.contains("KEY=VALUE"))
        #expect(e.valid?.contains("scheduler=wrr") == true)
    }

    @Test(arguments: ["service..port=1", "rs1.=3", ".x=1"])
    func emptyKeyComponents(override: String) throws {
        let e = try #require(loadError("dr-basic", overrides: [override]))
        #expect(e.file == "--set \(override)")
        #expect(e.problem.contains("not a dotted key"))
    }

    @Test func unknownTopLevelKeyOverride() throws {
        let e = try #require(loadError("dr-basic", overrides: ["colour=blue"]))
        #expect(e.file == "--set colour=blue")
        #expect(e.key == "colour")
        #expect(e.valid?.contains("services") == true)
    }

    @Test func unknownNodeKeyOverride() throws {
        let e = try #require(loadError("dr-basic", overrides: ["rs1.colour=blue"]))
        #expect(e.file == "--set rs1.colour=blue")
        #expect(e.key == "nodes.rs1.colour")
        #expect(e.line == nil)
    }

    @Test func overrideErrorFromParse() throws {
        let e = try #require(labError(smallLab, overrides: ["port=0"]))
        #expect(e.file == "--set port=0")
        #expect(e.key == "service.port")
    }

    @Test func overridesDoNotTouchTheFile() throws {
        let before = try String(contentsOfFile: labPath("dr-basic"), encoding: .utf8)
        _ = try drBasic(["scheduler=wrr", "rs1.weight=9"])
        #expect(try String(contentsOfFile: labPath("dr-basic"), encoding: .utf8) == before)
        #expect(try drBasic([]).services[0].scheduler == .rr)
    }
}

/// Overrides of a `services:` list: aliases set every service, an index sets one.
@Suite struct ServiceListOverrideTests {
    let twoServices = """
        services:
          - {name: web, vip: 10.0.0.100, port: 80}
          - {name: alt, vip: 10.0.0.101, port: 8080, scheduler: wrr}
        nodes:
          c: {role: client, address: 10.0.0.10/24}
          d: {role: dispatcher, address: 10.0.0.2/24}
          r1: {role: real, address: 10.0.0.21/24}
        """

    @Test func aliasSetsEveryService() throws {
        let spec = try parse(twoServices, overrides: ["scheduler=wrr"])
        #expect(spec.services.map(\.scheduler) == [.wrr, .wrr])
        #expect(try parse(twoServices, overrides: ["service.scheduler=sh", "distribution=none"]).services.map(\.scheduler) == [.sh, .sh])
        #expect(try parse(twoServices, overrides: ["services.*.port=81", "services.1.vip=10.0.0.102"]).services.map { $0.vip.withPort($0.port) }
                == ["10.0.0.100:81", "10.0.0.102:81"])
    }

    @Test func indexSetsOneService() throws {
        let spec = try parse(twoServices, overrides: ["services.0.port=8081", "services.1.scheduler=rr"])
        #expect(spec.services.map(\.port) == [8081, 8080])
        #expect(spec.services.map(\.scheduler) == [.rr, .rr])
        #expect(spec.services.map(\.name) == ["web", "alt"])
    }

    @Test func trafficServiceByOverride() throws {
        #expect(try parse(twoServices).traffic.service == "web")
        #expect(try parse(twoServices, overrides: ["traffic.service=alt"]).traffic.service == "alt")
    }

    @Test(arguments: ["services.2.port=81", "services.-1.port=81", "services.x.port=81"])
    func outOfRangeIndex(override: String) throws {
        let e = try #require(labError(twoServices, overrides: [override]))
        #expect(e.file == "--set \(override)")
        #expect(e.key == String(override.prefix { $0 != "=" }))
        #expect(e.problem.contains("does not have"))
        #expect(e.valid?.contains("index") == true)
    }

    /// A bad value in one item names the override and the item's index.
    @Test func badValueInOneItem() throws {
        let e = try #require(labError(twoServices, overrides: ["services.1.port=99999"]))
        #expect(e.file == "--set services.1.port=99999")
        #expect(e.key == "services[1].port")
        #expect(e.line == nil)
    }
}
