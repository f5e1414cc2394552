import Testing
@testable import LblabModel
import LblabTypes

/// IPv6 labs: addresses, routes and gateways of family 6, the NAT default route through the
/// dispatcher's IPv6 address, dual stack, `vip_on`, and the errors that name what is wrong.
@Suite struct IPv6LabTests {
    static let dr = """
        service: {vip: "2001:db8::100"}
        nodes:
          c: {role: client, address: "2001:db8::10/64"}
          d: {role: dispatcher, address: "2001:db8::2/64"}
          r1: {role: real, address: "2001:db8::21/64"}
          r2: {role: real, address: "2001:db8::22/64"}
        """
    static let nat = """
        mode: nat
        segments: [front, back]
        service: {vip: "2001:db8:1::100"}
        nodes:
          c: {role: client, segment: front, address: "2001:db8:1::10/64"}
          d:
            role: dispatcher
            interfaces:
              eth0: {segment: front, address: "2001:db8:1::2/64"}
              eth1: {segment: back, address: "2001:db8:2::1/64"}
          r1: {role: real, segment: back, address: "2001:db8:2::21/64"}
          r2: {role: real, segment: back, address: "2001:db8:2::22/64"}
        """

    @Test func drLabParses() throws {
        let spec = try parse(Self.dr)
        #expect(spec.services[0].vip == ip("2001:db8::100"))
        #expect(spec.node(named: "r1")?.address == prefix("2001:db8::21/64"))
        #expect(spec.node(named: "r1")?.vipOn == nil, "the VIP goes on lo by default")
        #expect(spec.usesIPv6)
        #expect(try !parse(smallLab).usesIPv6)
    }

    @Test func natRealServersRouteThroughTheDispatchersIPv6Address() throws {
        let spec = try parse(Self.nat)
        #expect(spec.node(named: "r1")?.routes == [RouteSpec(destination: prefix("::/0"), gateway: ip("2001:db8:2::1"))])
        #expect(spec.node(named: "c")?.routes == [])
    }

    /// A dual-stack NAT real server gets one default route per family it shares with the dispatcher.
    @Test func dualStackGetsADefaultRoutePerFamily() throws {
        let lab = Self.nat
            .replacingOccurrences(of: "eth1: {segment: back, address: \"2001:db8:2::1/64\"}", with: "eth1: {segment: back, addresses: [\"2001:db8:2::1/64\", 203.0.113.1/24]}")
            .replacingOccurrences(of: "r1: {role: real, segment: back, address: \"2001:db8:2::21/64\"}", with: "r1: {role: real, segment: back, addresses: [\"2001:db8:2::21/64\", 203.0.113.21/24]}")
        let spec = try parse(lab)
        #expect(spec.node(named: "r1")?.routes == [defaultRoute(via: "203.0.113.1"), RouteSpec(destination: prefix("::/0"), gateway: ip("2001:db8:2::1"))])
        #expect(spec.node(named: "r2")?.routes == [RouteSpec(destination: prefix("::/0"), gateway: ip("2001:db8:2::1"))])
    }

    @Test func routesAndGatewaysOfFamilySix() throws {
        let spec = try parse(Self.dr.replacingOccurrences(of: "c: {role: client, address: \"2001:db8::10/64\"}",
                                                          with: "c: {role: client, address: \"2001:db8::10/64\", gateway: \"2001:db8::1\", routes: [{to: \"2001:db8:9::/48\", via: \"2001:db8::2\"}, {to: default, dev: eth0}]}")
                                                          .replacingOccurrences(of: "gateway: \"2001:db8::1\", ", with: ""))
        #expect(spec.node(named: "c")?.routes == [RouteSpec(destination: prefix("2001:db8:9::/48"), gateway: ip("2001:db8::2")),
                                                   RouteSpec(destination: prefix("::/0"), gateway: nil, interface: "eth0")])
        let gw = try parse(Self.dr.replacingOccurrences(of: "c: {role: client, address: \"2001:db8::10/64\"}",
                                                        with: "c: {role: client, address: \"2001:db8::10/64\", gateway: \"2001:db8::1\"}"))
        #expect(gw.node(named: "c")?.routes == [RouteSpec(destination: prefix("::/0"), gateway: ip("2001:db8::1"))])
    }

    @Test(arguments: [
        ("\"2001:db8::21/8\"", "is not an IPv4 address with a prefix length 8-30 or an IPv6 address with a prefix length 16-127"),
        ("\"2001:db8::21/128\"", "is not an IPv4 address with a prefix length 8-30 or an IPv6 address with a prefix length 16-127"),
        ("\"fe80::21/64\"", "fe80::21 is link-local or multicast"),
        ("\"2001:db8::/64\"", "2001:db8::/64 is the subnet-router anycast address of its subnet (all host bits zero)"),
    ])
    func addressErrors(address: String, problem: String) throws {
        let e = try #require(labError(Self.dr.replacingOccurrences(of: "\"2001:db8::21/64\"", with: address)))
        #expect(e.key == "nodes.r1.address" && e.line == 5)
        #expect(e.problem.contains(problem), "\(e.problem)")
    }

    @Test func aGatewayOfTheOtherFamily() throws {
        let e = try #require(labError(Self.dr.replacingOccurrences(
            of: "c: {role: client, address: \"2001:db8::10/64\"}",
            with: "c: {role: client, addresses: [\"2001:db8::10/64\", 10.0.0.10/24], routes: [{to: \"2001:db8:9::/48\", via: 10.0.0.1}]}")))
        #expect(e.key == "nodes.c.routes[0].via" && e.line == 3)
        #expect(e.problem == "gateway 10.0.0.1 is IPv4 but the destination 2001:db8:9::/48 is not")
    }

    @Test func anIPv4RealServerBehindAnIPv6VIP() throws {
        let e = try #require(labError(Self.dr.replacingOccurrences(of: "\"2001:db8::22/64\"", with: "10.0.0.22/24")))
        #expect(e.key == "nodes.r2.address" && e.line == 6)
        #expect(e.problem.hasPrefix("real server r2 shares no subnet and segment with its dispatcher d (2001:db8::/64 on lan)"))
    }

    @Test func noIPv6Tunnels() throws {
        let e = try #require(labError("mode: tun\n" + Self.dr))
        #expect(e.key == "nodes.r1.forward")
        #expect(e.problem.contains("lblab builds IP-in-IP (IPv4) tunnels only"))
    }

    @Test func vipOn() throws {
        let spec = try parse(Self.dr, overrides: ["r1.vip_on=eth0"])
        #expect(spec.node(named: "r1")?.vipOn == "eth0")
        #expect(spec.node(named: "r2")?.vipOn == nil)
        #expect(try parse(Self.dr, overrides: ["r1.vip_on=lo"]).node(named: "r1")?.vipOn == nil)
        let e = try #require(labError(Self.dr, overrides: ["r1.vip_on=eth9"]))
        #expect(e.key == "nodes.r1.vip_on" && e.problem == "this node has no interface 'eth9'" && e.valid == "lo, eth0")
        let notReal = try #require(labError(Self.dr, overrides: ["d.vip_on=eth0"]))
        #expect(notReal.problem == "only real servers have a vip_on")
    }

    @Test func theRepositorysIPv6Labs() throws {
        let dr = try LabFile.load(labPath("dr-ipv6"))
        #expect(dr.services[0].vip.family == .ipv6 && dr.nodes.allSatisfy { $0.families == [.ipv6] })
        let nat = try LabFile.load(labPath("nat-ipv6"))
        #expect(nat.node(named: "rs1")?.routes == [RouteSpec(destination: prefix("::/0"), gateway: ip("2001:db8:2::1"))])
    }
}
