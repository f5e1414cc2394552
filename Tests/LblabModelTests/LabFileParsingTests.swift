import Foundation
import Testing
@testable import LblabModel

@Suite struct ShippedLabTests {
    @Test func labsDirectoryHoldsTheShippedLabs() {
        let names = repoLabNames()
        #expect(names.contains("dr-basic"))
        #expect(names.contains("seed-dr"))
    }

    @Test(arguments: repoLabNames())
    func everyShippedLabLoads(name: String) throws {
        let spec = try LabFile.load(labPath(name))
        #expect(spec.name == name, "a shipped lab's name matches its file name")
        #expect(spec.nodes.filter { $0.role == .client }.count == 1)
        #expect(spec.nodes.filter { $0.role == .dispatcher }.count == 1)
        #expect(spec.realServers.count >= 1)
        #expect(spec.mode == .dr)
        #expect(!spec.description.isEmpty)
        #expect(spec.source == URL(fileURLWithPath: labPath(name)).standardizedFileURL.path)
    }

    @Test func drBasicExactValues() throws {
        let spec = try LabFile.load(labPath("dr-basic"))
        #expect(spec.name == "dr-basic")
        #expect(spec.description == "Direct routing, two real servers, round robin, ARP fix on")
        #expect(spec.mode == .dr)
        #expect(spec.service.vip.description == "198.51.100.100")
        #expect(spec.service.port == 80)
        #expect(spec.service.proto == "tcp")
        #expect(spec.service.scheduler == "rr")
        #expect(spec.arpFix == true)

        // Nodes in file order.
        #expect(spec.nodes.map(\.name) == ["client", "dispatcher", "rs1", "rs2"])
        #expect(spec.nodes.map(\.role) == [.client, .dispatcher, .real, .real])
        #expect(spec.client.name == "client")
        #expect(spec.client.address.description == "198.51.100.10/24")
        #expect(spec.dispatcher.name == "dispatcher")
        #expect(spec.dispatcher.address.description == "198.51.100.2/24")

        let rs1 = try #require(spec.node(named: "rs1"))
        let rs2 = try #require(spec.node(named: "rs2"))
        #expect(rs1.role == .real && rs2.role == .real)
        #expect(rs1.address.description == "198.51.100.21/24")
        #expect(rs2.address.description == "198.51.100.22/24")
        #expect(rs1.address.prefixLength == 24)
        #expect(rs1.weight == 1)
        #expect(rs2.weight == 1)
        #expect(rs1.forward == .route)
        #expect(rs2.forward == .route)
        #expect(spec.realServers.map(\.name) == ["rs1", "rs2"])
        #expect(spec.node(named: "rs3") == nil)

        #expect(spec.traffic.connections == 1000)
        #expect(spec.traffic.concurrency == 8)
        #expect(spec.traffic.timeout == 5)
        #expect(spec.expect.distribution == .scheduler)
        #expect(spec.expect.path == .mode)
        #expect(spec.expect.arp == .dispatcherOnly)
    }

    /// The article's own DR addresses (SUMMARY.md, 03-2).
    @Test func seedDRMatchesTheArticle() throws {
        let spec = try LabFile.load(labPath("seed-dr"))
        #expect(spec.name == "seed-dr")
        #expect(spec.mode == .dr)
        #expect(spec.service.vip.description == "192.168.219.100")
        #expect(spec.service.port == 80)
        #expect(spec.service.proto == "tcp")
        #expect(spec.service.scheduler == "rr")
        #expect(spec.arpFix == true)
        #expect(spec.dispatcher.name == "dispatcher")
        #expect(spec.dispatcher.address.description == "192.168.219.134/24")
        #expect(spec.client.address.description == "192.168.219.50/24")
        #expect(spec.realServers.map(\.name) == ["web1", "web2"])
        #expect(spec.realServers.map(\.address.description) == ["192.168.219.135/24", "192.168.219.136/24"])
        #expect(spec.realServers.allSatisfy { $0.forward == .route && $0.weight == 1 })
        #expect(spec.traffic.connections == 100)
        #expect(spec.traffic.concurrency == 4)
        #expect(spec.traffic.timeout == 5)
    }
}

@Suite struct DefaultsTests {
    /// Only service.vip and nodes; everything else defaults.
    let minimal = """
        service: {vip: 10.0.0.100}
        nodes:
          c: {role: client, address: 10.0.0.10/24}
          d: {role: dispatcher, address: 10.0.0.2/24}
          r1: {role: real, address: 10.0.0.21/24}
        """

    @Test func minimalLabGetsDefaults() throws {
        let spec = try LabFile.parse(minimal, file: "/somewhere/labs/my-lab.yaml")
        #expect(spec.name == "my-lab", "the name defaults to the file stem")
        #expect(spec.description == "")
        #expect(spec.mode == .dr)
        #expect(spec.service.vip.description == "10.0.0.100")
        #expect(spec.service.port == 80)
        #expect(spec.service.proto == "tcp")
        #expect(spec.service.scheduler == "rr")
        #expect(spec.arpFix == true)
        let r1 = try #require(spec.node(named: "r1"))
        #expect(r1.weight == 1)
        #expect(r1.forward == .route)
        #expect(spec.traffic.connections == 100)
        #expect(spec.traffic.concurrency == 8)
        #expect(spec.traffic.timeout == 5)
        #expect(spec.expect.distribution == .scheduler)
        #expect(spec.expect.path == .mode)
        #expect(spec.expect.arp == .dispatcherOnly)
        #expect(spec.source == nil, "parse() does not know a source path; load() sets it")
    }

    @Test(arguments: [("x.yml", "x"), ("plain", "plain"), ("a/b/c/lab-2.yaml", "lab-2")])
    func nameComesFromTheFileStem(file: String, stem: String) throws {
        #expect(try LabFile.parse(minimal, file: file).name == stem)
    }

    @Test func explicitNameWinsOverTheStem() throws {
        let spec = try LabFile.parse("name: other\n" + minimal, file: "my-lab.yaml")
        #expect(spec.name == "other")
    }

    @Test func explicitValuesAreRead() throws {
        let text = """
            name: full
            description: every key given
            mode: dr
            service: {vip: 10.0.0.100, port: 8080, protocol: tcp, scheduler: wrr}
            arp_fix: false
            nodes:
              c: {role: client, address: 10.0.0.10/24}
              d: {role: dispatcher, address: 10.0.0.2/24}
              r1: {role: real, address: 10.0.0.21/24, weight: 5, forward: masq}
              r2: {role: real, address: 10.0.0.22/24, weight: 0, forward: route}
            traffic: {connections: 7, concurrency: 3, timeout: 1.5}
            expect: {distribution: weights, path: dr, arp: none}
            """
        let spec = try LabFile.parse(text, file: "full.yaml")
        #expect(spec.description == "every key given")
        #expect(spec.service.port == 8080)
        #expect(spec.service.scheduler == "wrr")
        #expect(spec.arpFix == false)
        #expect(spec.node(named: "r1")?.weight == 5)
        #expect(spec.node(named: "r1")?.forward == .masq)
        #expect(spec.node(named: "r2")?.weight == 0)
        #expect(spec.node(named: "r2")?.forward == .route)
        #expect(spec.traffic.connections == 7)
        #expect(spec.traffic.concurrency == 3)
        #expect(spec.traffic.timeout == 1.5)
        #expect(spec.expect.distribution == .weights)
        #expect(spec.expect.path == .dr)
        #expect(spec.expect.arp == ARPRule.none)
    }

    @Test(arguments: [("yes", true), ("on", true), ("true", true), ("no", false), ("off", false), ("false", false)])
    func arpFixBooleans(text: String, value: Bool) throws {
        let spec = try LabFile.parse("arp_fix: \(text)\n" + minimal, file: "b.yaml")
        #expect(spec.arpFix == value)
    }

    @Test func blockStyleNodesParse() throws {
        let text = """
            service:
              vip: 10.0.0.100
              scheduler: wrr
            nodes:
              c:
                role: client
                address: 10.0.0.10/24
              d:
                role: dispatcher
                address: 10.0.0.2/24
              r1:
                role: real
                address: 10.0.0.21/24
                weight: 4
            """
        let spec = try LabFile.parse(text, file: "block.yaml")
        #expect(spec.service.scheduler == "wrr")
        #expect(spec.node(named: "r1")?.weight == 4)
        #expect(spec.nodes.map(\.name) == ["c", "d", "r1"])
    }
}
