import Foundation
import Testing
@testable import LblabModel
import LblabTypes

/// The shipped labs, read into exactly the spec they describe.
@Suite struct ShippedLabTests {
    @Test func labsDirectoryHoldsTheShippedLabs() {
        let sched = ["dh", "fo", "lblc", "lblcr", "lc", "mh", "nq", "onepacket", "ovf", "persist", "rr", "sed", "sh", "wlc", "wrr"].map { "sched-\($0)" }
        let dns = ["dns-rr", "dns-rr-cache", "dns-rr-comeback", "dns-rr-dies", "dns-rr-slow", "dns-rr-sorted"]
        #expect(repoLabNames() == dns + ["dr-basic", "dr-ipv6", "dr-keepalived", "dr-scale", "dr-vrrp", "nat-basic", "nat-ipv6", "nat-keepalived"] + sched + ["seed-dr", "seed-nat", "tun-basic"])
    }

    @Test(arguments: repoLabNames())
    func everyShippedLabLoads(name: String) throws {
        let spec = try LabFile.load(labPath(name))
        #expect(spec.name == name, "a shipped lab's name matches its file name")
        for role in spec.mode.requiredRoles { #expect(!spec.nodes(role).isEmpty, "\(name) has a \(role)") }
        #expect(!spec.description.isEmpty)
        #expect(spec.source == URL(fileURLWithPath: labPath(name)).standardizedFileURL.path)
        #expect(spec.services.allSatisfy { !$0.servers.isEmpty })
        #expect(spec.realServers.allSatisfy { $0.forward == spec.mode.defaultForwarding })
    }

    /// A one-segment file means what it meant in v1: segment `lan`, one interface `eth0` per node.
    @Test func drBasicExactly() throws {
        let spec = try LabFile.load(labPath("dr-basic"))
        let expected = LabSpec(
            name: "dr-basic", description: "Direct routing, two real servers, round robin, ARP fix on", mode: .dr,
            segments: [SegmentSpec(name: "lan")],
            nodes: [
                host("client", .client, "198.51.100.10/24"),
                host("dispatcher", .dispatcher, "198.51.100.2/24"),
                host("rs1", .real, "198.51.100.21/24", rpFilter: 0),
                host("rs2", .real, "198.51.100.22/24", rpFilter: 0),
            ],
            services: [ServiceSpec(name: "svc1", vip: ip("198.51.100.100"), port: 80, proto: .tcp, scheduler: .rr,
                                   dispatcher: "dispatcher", servers: ["rs1", "rs2"])],
            arpFix: true,
            traffic: TrafficSpec(connections: 1000, concurrency: 8, timeout: 5, client: "client", service: "svc1"),
            expect: ExpectSpec(distribution: .scheduler, path: .mode, arp: .dispatcherOnly),
            source: URL(fileURLWithPath: labPath("dr-basic")).standardizedFileURL.path)
        #expect(spec.comparable == expected)
        #expect(spec.clients.map(\.name) == ["client"] && spec.dispatchers.map(\.name) == ["dispatcher"])
        #expect(spec.node(named: "rs3") == nil && spec.service(named: "svc1")?.label == "TCP 198.51.100.100:80")
    }

    /// The article's own DR addresses (SUMMARY.md, 03-2).
    @Test func seedDRMatchesTheArticle() throws {
        let spec = try LabFile.load(labPath("seed-dr"))
        #expect(spec.mode == .dr)
        #expect(spec.services == [ServiceSpec(name: "svc1", vip: ip("192.168.219.100"), port: 80, proto: .tcp, scheduler: .rr,
                                              dispatcher: "dispatcher", servers: ["web1", "web2"])])
        #expect(spec.comparable.nodes == [
            host("client", .client, "192.168.219.50/24"),
            host("dispatcher", .dispatcher, "192.168.219.134/24"),
            host("web1", .real, "192.168.219.135/24", rpFilter: 0),
            host("web2", .real, "192.168.219.136/24", rpFilter: 0),
        ])
        #expect(spec.traffic == TrafficSpec(connections: 100, concurrency: 4, timeout: 5, client: "client", service: "svc1"))
    }

    /// NAT: two segments, the dispatcher on both; no gateway written, so each real server's default
    /// route goes through the dispatcher's back address.
    @Test func natBasicExactly() throws {
        let spec = try LabFile.load(labPath("nat-basic"))
        var dispatcher = host("dispatcher", .dispatcher, "198.51.100.2/24", segment: "front")
        dispatcher.interfaces.append(InterfaceSpec(name: "eth1", segment: "back", addresses: [prefix("203.0.113.1/24")]))
        #expect(spec.comparable == LabSpec(
            name: "nat-basic", description: "NAT (masquerading), a front and a back network, two real servers, round robin", mode: .nat,
            segments: [SegmentSpec(name: "front"), SegmentSpec(name: "back")],
            nodes: [
                host("client", .client, "198.51.100.10/24", segment: "front"),
                dispatcher,
                host("rs1", .real, "203.0.113.21/24", segment: "back", routes: [defaultRoute(via: "203.0.113.1")], forward: .masq),
                host("rs2", .real, "203.0.113.22/24", segment: "back", routes: [defaultRoute(via: "203.0.113.1")], forward: .masq),
            ],
            services: [ServiceSpec(name: "svc1", vip: ip("198.51.100.100"), port: 80, proto: .tcp, scheduler: .rr,
                                   dispatcher: "dispatcher", servers: ["rs1", "rs2"])],
            arpFix: true,
            traffic: TrafficSpec(connections: 200, concurrency: 8, timeout: 5, client: "client", service: "svc1"),
            expect: ExpectSpec(), source: spec.source))
    }

    /// The article's NAT addresses: front 192.168.219.0/24 (VIP .100), back 192.168.56.0/24
    /// (dispatcher .100, real servers .135 and .136), gateways written out.
    @Test func seedNATMatchesTheArticle() throws {
        let spec = try LabFile.load(labPath("seed-nat"))
        #expect(spec.mode == .nat)
        #expect(spec.services.map(\.vip) == [ip("192.168.219.100")])
        let d = try #require(spec.node(named: "dispatcher"))
        #expect(d.interfaces == [InterfaceSpec(name: "eth0", segment: "front", addresses: [prefix("192.168.219.134/24")]),
                                 InterfaceSpec(name: "eth1", segment: "back", addresses: [prefix("192.168.56.100/24")])])
        #expect(d.ipForward)
        for (name, address) in [("web1", "192.168.56.135/24"), ("web2", "192.168.56.136/24")] {
            #expect(spec.node(named: name) == host(name, .real, address, segment: "back", routes: [defaultRoute(via: "192.168.56.100")], forward: .masq))
        }
    }

    /// TUN: real servers tunnel, keep rp_filter off, and get the ipip interface.
    @Test func tunBasic() throws {
        let spec = try LabFile.load(labPath("tun-basic"))
        #expect(spec.mode == .tun)
        #expect(spec.realServers == [host("rs1", .real, "198.51.100.21/24", forward: .tunnel, rpFilter: 0, tunnel: true),
                                     host("rs2", .real, "198.51.100.22/24", forward: .tunnel, rpFilter: 0, tunnel: true)])
        #expect(spec.segments == [SegmentSpec(name: "lan")])
    }

    @Test func drScaleIsSixtyFourMembers() throws {
        let spec = try LabFile.load(labPath("dr-scale"))
        #expect(spec.realServers == (1...64).map { host("rs\($0)", .real, "198.51.100.\(100 + $0)/24", rpFilter: 0, group: "rs") })
        #expect(spec.services[0].servers == (1...64).map { "rs\($0)" })
        #expect(spec.traffic.connections == 640)
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
        #expect(spec.comparable == LabSpec(
            name: "my-lab", description: "", mode: .dr, segments: [SegmentSpec(name: "lan")],
            nodes: [host("c", .client, "10.0.0.10/24"), host("d", .dispatcher, "10.0.0.2/24"), host("r1", .real, "10.0.0.21/24", rpFilter: 0)],
            services: [ServiceSpec(name: "svc1", vip: ip("10.0.0.100"), port: 80, proto: .tcp, scheduler: .rr, dispatcher: "d", servers: ["r1"])],
            arpFix: true,
            traffic: TrafficSpec(connections: 100, concurrency: 8, timeout: 5, client: "c", service: "svc1"),
            expect: ExpectSpec(distribution: .scheduler, path: .mode, arp: .dispatcherOnly), source: nil))
    }

    @Test(arguments: [("x.yml", "x"), ("plain", "plain"), ("a/b/c/lab-2.yaml", "lab-2")])
    func nameComesFromTheFileStem(file: String, stem: String) throws {
        #expect(try LabFile.parse(minimal, file: file).name == stem)
    }

    @Test func explicitNameWinsOverTheStem() throws {
        #expect(try LabFile.parse("name: other\n" + minimal, file: "my-lab.yaml").name == "other")
    }

    @Test func explicitValuesAreRead() throws {
        let text = """
            name: full
            description: every key given
            mode: dr
            service: {name: web, vip: 10.0.0.100, port: 8080, protocol: tcp, scheduler: wrr, dispatcher: d, servers: [r2, r1]}
            arp_fix: false
            nodes:
              c: {role: client, address: 10.0.0.10/24}
              d: {role: dispatcher, address: 10.0.0.2/24, ip_forward: false}
              r1: {role: real, address: 10.0.0.21/24, weight: 5, forward: masq, rp_filter: 2}
              r2: {role: real, address: 10.0.0.22/24, weight: 0, forward: route, tunnel: true}
            traffic: {connections: 7, concurrency: 3, timeout: 1.5, client: c, service: web}
            expect: {distribution: weights, path: dr, arp: none}
            """
        let spec = try LabFile.parse(text, file: "full.yaml")
        #expect(spec.description == "every key given")
        #expect(spec.services == [ServiceSpec(name: "web", vip: ip("10.0.0.100"), port: 8080, proto: .tcp, scheduler: .wrr,
                                              dispatcher: "d", servers: ["r2", "r1"])])
        #expect(spec.arpFix == false)
        #expect(spec.node(named: "d")?.ipForward == false)
        // A masq real server in a DR lab gets the NAT default route through its dispatcher.
        #expect(spec.node(named: "r1") == host("r1", .real, "10.0.0.21/24", routes: [defaultRoute(via: "10.0.0.2")], weight: 5, forward: .masq, rpFilter: 2))
        #expect(spec.node(named: "r2") == host("r2", .real, "10.0.0.22/24", weight: 0, rpFilter: 0, tunnel: true))
        #expect(spec.traffic == TrafficSpec(connections: 7, concurrency: 3, timeout: 1.5, client: "c", service: "web"))
        #expect(spec.expect == ExpectSpec(distribution: .weights, path: .dr, arp: .none))
    }

    @Test(arguments: [("yes", true), ("on", true), ("true", true), ("1", true), ("no", false), ("off", false), ("false", false), ("0", false)])
    func booleans(text: String, value: Bool) throws {
        #expect(try LabFile.parse("arp_fix: \(text)\n" + minimal, file: "b.yaml").arpFix == value)
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
        #expect(spec.services[0].scheduler == .wrr)
        #expect(spec.node(named: "r1")?.weight == 4)
        #expect(spec.nodes.map(\.name) == ["c", "d", "r1"])
    }

    /// What `lblab test` of a running lab may change is not part of the topology.
    @Test func topologyIgnoresTrafficAndExpectations() throws {
        let a = try parse(smallLab)
        let b = try parse(smallLab, overrides: ["connections=9", "distribution=equal", "path=none"])
        #expect(a != b && a.topology == b.topology)
        #expect(a.topology != (try parse(smallLab, overrides: ["r1.weight=2"])).topology)
    }
}
