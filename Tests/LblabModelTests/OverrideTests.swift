import Foundation
import Testing
@testable import LblabModel

/// `--set KEY=VALUE` overrides applied to labs/dr-basic.yaml.
@Suite struct OverrideTests {
    func drBasic(_ overrides: [String]) throws -> LabSpec {
        try LabFile.load(labPath("dr-basic"), overrides: overrides)
    }

    @Test func schedulerShortForm() throws {
        let spec = try drBasic(["scheduler=wrr"])
        #expect(spec.service.scheduler == "wrr")
        // Nothing else moved.
        #expect(spec.service.vip.description == "198.51.100.100")
        #expect(spec.service.port == 80)
        #expect(spec.nodes.count == 4)
    }

    @Test func fullDottedScheduler() throws {
        #expect(try drBasic(["service.scheduler=wrr"]).service.scheduler == "wrr")
    }

    /// One fresh client source port per connection bounds a run's connections.
    @Test func connectionsBeyondTheFreshPortsAreRejected() throws {
        #expect(try drBasic(["connections=60000"]).traffic.connections == 60000)
        let e = try #require(loadError("dr-basic", overrides: ["connections=60001"]))
        #expect(e.key == "traffic.connections")
        #expect(e.description.contains("1...60000"))
    }

    @Test func arpFixFalse() throws {
        let base = try drBasic([])
        #expect(base.arpFix == true)
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

    @Test func trafficAliases() throws {
        let spec = try drBasic(["connections=50", "concurrency=2", "timeout=0.5"])
        #expect(spec.traffic.connections == 50)
        #expect(spec.traffic.concurrency == 2)
        #expect(spec.traffic.timeout == 0.5)
    }

    @Test func servicePortDotted() throws {
        #expect(try drBasic(["service.port=8080"]).service.port == 8080)
        #expect(try drBasic(["port=8081"]).service.port == 8081)
    }

    @Test func vipAlias() throws {
        #expect(try drBasic(["vip=198.51.100.200"]).service.vip.description == "198.51.100.200")
    }

    @Test func expectAliases() throws {
        let spec = try drBasic(["distribution=equal", "path=none", "arp=none"])
        #expect(spec.expect.distribution == .equal)
        #expect(spec.expect.path == PathRule.none)
        #expect(spec.expect.arp == ARPRule.none)
    }

    @Test func laterOverrideWins() throws {
        #expect(try drBasic(["scheduler=sh", "distribution=none", "scheduler=wrr"]).service.scheduler == "wrr")
    }

    @Test func overrideCanAddAMissingKey() throws {
        // The minimal text has no traffic section; --set creates it.
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

    @Test func lcNeedsAnotherDistribution() throws {
        #expect(loadError("dr-basic", overrides: ["scheduler=lc"])?.key == "expect.distribution")
        let ok = try drBasic(["scheduler=lc", "distribution=equal"])
        #expect(ok.service.scheduler == "lc")
    }

    // MARK: errors

    @Test func badValueNamesTheOverride() throws {
        let e = try #require(loadError("dr-basic", overrides: ["scheduler=bogus"]))
        #expect(e.file == "--set scheduler=bogus")
        #expect(e.key == "service.scheduler")
        #expect(e.line == nil, "an override has no line in the file")
        #expect(e.description.contains("--set scheduler=bogus"))
        #expect(e.problem.contains("bogus"))
        #expect(e.valid?.contains("wrr") == true)
    }

    @Test func badWeightOverride() throws {
        let e = try #require(loadError("dr-basic", overrides: ["rs1.weight=70000"]))
        #expect(e.file == "--set rs1.weight=70000")
        #expect(e.key == "nodes.rs1.weight")
        #expect(e.line == nil)
    }

    @Test func vipOverrideOutsideTheSubnet() throws {
        let e = try #require(loadError("dr-basic", overrides: ["vip=10.0.0.1"]))
        #expect(e.file == "--set vip=10.0.0.1")
        #expect(e.key == "service.vip")
    }

    @Test func unknownNode() throws {
        let e = try #require(loadError("dr-basic", overrides: ["nope.weight=1"]))
        #expect(e.file == "--set nope.weight=1")
        #expect(e.problem.contains("nope"))
        #expect(e.description.contains("nope"))
        let valid = try #require(e.valid)
        for n in ["client", "dispatcher", "rs1", "rs2"] { #expect(valid.contains(n), "lists node \(n): \(valid)") }
    }

    @Test(arguments: ["scheduler", "=wrr", ""])
    func missingEquals(override: String) throws {
        let e = try #require(loadError("dr-basic", overrides: [override]))
        #expect(e.file == "--set \(override)")
        #expect(e.problem.contains("KEY=VALUE"))
        #expect(e.valid?.contains("scheduler=wrr") == true)
    }

    @Test func unknownTopLevelKeyOverride() throws {
        let e = try #require(loadError("dr-basic", overrides: ["colour=blue"]))
        #expect(e.file == "--set colour=blue")
        #expect(e.key == "colour")
    }

    @Test func overrideErrorFromParse() throws {
        let e = try #require(labError("""
            service: {vip: 10.0.0.100}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24}
            """, overrides: ["port=0"]))
        #expect(e.file == "--set port=0")
        #expect(e.key == "service.port")
    }

    @Test func overridesDoNotTouchTheFile() throws {
        let before = try String(contentsOfFile: labPath("dr-basic"), encoding: .utf8)
        _ = try drBasic(["scheduler=wrr", "rs1.weight=9"])
        let after = try String(contentsOfFile: labPath("dr-basic"), encoding: .utf8)
        #expect(before == after)
        #expect(try drBasic([]).service.scheduler == "rr")
    }
}
