import Foundation
import Testing
@testable import LblabModel
import LblabTypes

/// `segments:`, `interfaces:`, `addresses:`, `gateway:` and `routes:`.
@Suite struct SegmentTests {
    func lab(segments: String) -> String {
        """
        segments: \(segments)
        service: {vip: 198.51.100.100}
        nodes:
          c: {role: client, segment: front, address: 198.51.100.10/24}
          d: {role: dispatcher, segment: front, address: 198.51.100.2/24}
          r1: {role: real, segment: front, address: 198.51.100.21/24}
          r2: {role: real, segment: back, address: 198.51.100.22/24}
        """
    }

    @Test func noSegmentsMeansOneCalledLan() throws {
        let spec = try parse(smallLab)
        #expect(spec.segments == [SegmentSpec(name: "lan")])
        #expect(spec.nodes.allSatisfy { $0.segments == ["lan"] && $0.interfaces.map(\.name) == ["eth0"] })
    }

    @Test(arguments: ["[front, back]", "{front: {}, back: }", "{front: ~, back: null}", "\n  front:\n  back: {}"])
    func listOrMapping(segments: String) throws {
        let e = try #require(labError(lab(segments: segments)))
        // r2 is on back, its dispatcher only on front: the segments parsed, the topology check ran.
        #expect(e.problem.contains("real server r2 shares no subnet and segment with its dispatcher d (198.51.100.0/24 on front)"))
        let spec = try parse(lab(segments: segments).replacingOccurrences(of: "r2: {role: real, segment: back", with: "r2: {role: real, segment: front")
                             + "\n  x: {role: client, segment: back, address: 192.0.2.1/24}\ntraffic: {client: c}")
        #expect(spec.segments.map(\.name) == ["front", "back"])
    }

    @Test(arguments: ["Front", "fr-ont", "1front", "abcdefghijklm"])
    func badSegmentName(name: String) throws {
        let e = try #require(labError(lab(segments: "[\(name), front, back]")))
        #expect(e.key == "segments.\(name)")
        #expect(e.line == 1)
        #expect(e.problem == "'\(name)' cannot name a segment")
        #expect(e.valid == "1-12 of a-z and 0-9, starting with a letter")
    }

    @Test func segmentGivenTwice() throws {
        let e = try #require(labError(lab(segments: "[front, back, front]")))
        #expect(e.key == "segments.front" && e.line == 1 && e.problem == "segment given twice")
    }

    @Test func emptyOrSettings() throws {
        let empty = try #require(labError(lab(segments: "[]")))
        #expect(empty.key == "segments" && empty.line == 1 && empty.problem == "must name at least one segment")
        let settings = try #require(labError(lab(segments: "{front: 3, back: {}}")))
        #expect(settings.key == "segments.front" && settings.line == 1 && settings.valid == "{} or nothing")
        let keyed = try #require(labError(lab(segments: "{front: {mtu: 9000}, back: {}}")))
        #expect(keyed.key == "segments.front.mtu" && keyed.line == 1)
    }

    @Test func aSegmentNobodyIsOn() throws {
        let e = try #require(labError(smallLab.replacingOccurrences(of: "service:", with: "segments: [lan, spare]\nservice:")
                                      .replacingOccurrences(of: "address:", with: "segment: lan, address:")))
        #expect(e.key == "segments.spare")
        #expect(e.line == 1)
        #expect(e.problem == "no node has an interface on segment spare")
    }

    @Test func severalSegmentsNeedEachNodeToNameOne() throws {
        let e = try #require(labError(twoSegmentLab.replacingOccurrences(of: "r2: {role: real, segment: back,", with: "r2: {role: real,")))
        #expect(e.key == "nodes.r2.segment")
        #expect(e.line == 12)
        #expect(e.problem == "missing: this lab has several segments")
        #expect(e.valid == "front, back")
    }

    @Test func unknownSegment() throws {
        let e = try #require(labError(twoSegmentLab.replacingOccurrences(of: "r2: {role: real, segment: back,", with: "r2: {role: real, segment: middle,")))
        #expect(e.key == "nodes.r2.segment" && e.line == 12)
        #expect(e.problem == "no segment named 'middle'")
        #expect(e.valid == "front, back")
    }
}

@Suite struct InterfaceTests {
    @Test func twoSegmentLabReadsBothInterfaces() throws {
        let spec = try parse(twoSegmentLab)
        #expect(spec.node(named: "d")?.interfaces == [
            InterfaceSpec(name: "eth0", segment: "front", addresses: [prefix("198.51.100.2/24")]),
            InterfaceSpec(name: "eth1", segment: "back", addresses: [prefix("203.0.113.1/24")]),
        ])
        #expect(spec.node(named: "d")?.address == prefix("198.51.100.2/24"), "a node's address is its first interface's first")
        #expect(spec.node(named: "d")?.segments == ["front", "back"])
    }

    /// The switch port of a node with several interfaces is `node-interface`, at most 15 characters.
    @Test func portNameLength() throws {
        let ok = twoSegmentLab.replacingOccurrences(of: "  d:\n", with: "  dispatcher:\n")
        #expect(try parse(ok).node(named: "dispatcher")?.interfaces.count == 2, "dispatcher-eth0 is 15 characters")
        let long = twoSegmentLab.replacingOccurrences(of: "  d:\n", with: "  dispatcher12:\n")
        let e = try #require(labError(long))
        #expect(e.key == "nodes.dispatcher12.interfaces.eth0")
        #expect(e.line == 9)
        #expect(e.problem == "the switch port dispatcher12-eth0 would be longer than the kernel's 15 characters")
        #expect(e.valid == "a node name and interface names of 10 and 4 characters or fewer")
        // With one interface the port is the node's name: 15 characters are fine.
        #expect(try parse(smallLab.replacingOccurrences(of: "r2:", with: "abcdefghijklmno:")).node(named: "abcdefghijklmno") != nil)
    }

    @Test func interfacesAndAddressTogether() throws {
        let e = try #require(labError(twoSegmentLab.replacingOccurrences(of: "    role: dispatcher\n", with: "    role: dispatcher\n    address: 198.51.100.3/24\n")))
        #expect(e.key == "nodes.d.address" && e.line == 8)
        #expect(e.problem == "give either interfaces: or address:, not both")
    }

    @Test(arguments: ["lo", "Eth0", "e-0", "0eth", "abcdefghijklmnop"])
    func badInterfaceName(name: String) throws {
        let e = try #require(labError(twoSegmentLab.replacingOccurrences(of: "      eth1:", with: "      \(name):")))
        #expect(e.key == "nodes.d.interfaces.\(name)" && e.line == 10)
        #expect(e.problem == "'\(name)' cannot name an interface")
    }

    @Test func interfaceErrors() throws {
        let noSegment = try #require(labError(twoSegmentLab.replacingOccurrences(of: "eth1: {segment: back, ", with: "eth1: {")))
        #expect(noSegment.key == "nodes.d.interfaces.eth1.segment" && noSegment.line == 10 && noSegment.valid == "front, back")
        let badKey = try #require(labError(twoSegmentLab.replacingOccurrences(of: "eth1: {segment: back,", with: "eth1: {mtu: 9000, segment: back,")))
        #expect(badKey.key == "nodes.d.interfaces.eth1.mtu" && badKey.line == 10 && badKey.valid == "segment, address, addresses")
        let empty = try #require(labError(twoSegmentLab.replacingOccurrences(of: "    interfaces:\n      eth0: {segment: front, address: 198.51.100.2/24}\n      eth1: {segment: back, address: 203.0.113.1/24}", with: "    interfaces: {}")))
        #expect(empty.key == "nodes.d.interfaces" && empty.line == 8)
    }
}

@Suite struct AddressTests {
    @Test func severalAddressesOnOneInterface() throws {
        let spec = try parse(smallLab.replacingOccurrences(of: "c: {role: client, address: 10.0.0.10/24}",
                                                          with: "c: {role: client, addresses: [10.0.0.10/24, 192.0.2.10/24]}"))
        #expect(spec.node(named: "c")?.interfaces == [InterfaceSpec(name: "eth0", segment: "lan", addresses: [prefix("10.0.0.10/24"), prefix("192.0.2.10/24")])])
        #expect(spec.node(named: "c")?.address == prefix("10.0.0.10/24"))
    }

    @Test func addressErrors() throws {
        let both = try #require(labError(smallLab.replacingOccurrences(of: "r1: {role: real, address: 10.0.0.21/24}",
                                                                       with: "r1: {role: real, address: 10.0.0.21/24, addresses: [10.0.0.31/24]}")))
        #expect(both.key == "nodes.r1.addresses" && both.line == 5 && both.problem == "give either address: or addresses:, not both")
        let none = try #require(labError(smallLab.replacingOccurrences(of: "r1: {role: real, address: 10.0.0.21/24}", with: "r1: {role: real, addresses: []}")))
        #expect(none.key == "nodes.r1.address" && none.line == 5 && none.problem == "missing")
        let six = try #require(labError(smallLab.replacingOccurrences(of: "10.0.0.21/24", with: "\"2001:db8::21/64\"")))
        #expect(six.key == "nodes.r1.address" && six.line == 5)
        #expect(six.problem.hasPrefix("real server r1 shares no subnet and segment with its dispatcher d (10.0.0.0/24 on lan)"),
                "an IPv6 real server behind an IPv4 VIP: \(six.problem)")
        let second = try #require(labError(smallLab.replacingOccurrences(of: "c: {role: client, address: 10.0.0.10/24}",
                                                                         with: "c: {role: client, addresses: [10.0.0.10/24, 10.0.0.10/33]}")))
        #expect(second.key == "nodes.c.addresses" && second.line == 3 && second.problem.contains("10.0.0.10/33"))
    }

    @Test func anAddressUsedOnTwoInterfaces() throws {
        let e = try #require(labError(twoSegmentLab.replacingOccurrences(of: "203.0.113.22/24", with: "203.0.113.1/24")))
        #expect(e.key == "nodes.r2.address" && e.line == 12)
        #expect(e.problem == "203.0.113.1 is already used by d (eth1)")
    }
}

@Suite struct GatewayAndRouteTests {
    func realServer(_ settings: String, in lab: String = smallLab) -> String {
        lab.replacingOccurrences(of: "r1: {role: real, address: 10.0.0.21/24}", with: "r1: {role: real, address: 10.0.0.21/24, \(settings)}")
    }

    @Test func gatewayIsADefaultRoute() throws {
        let spec = try parse(realServer("gateway: 10.0.0.1"))
        #expect(spec.node(named: "r1")?.routes == [defaultRoute(via: "10.0.0.1")])
        #expect(spec.node(named: "r1")?.routes.first?.isDefault == true)
        #expect(spec.node(named: "r2")?.routes == [], "no default route on a DR real server unless given")
    }

    @Test func gatewayMustBeOnLink() throws {
        let e = try #require(labError(realServer("gateway: 10.9.9.1")))
        #expect(e.key == "nodes.r1.gateway" && e.line == 5)
        #expect(e.problem == "gateway 10.9.9.1 is on none of this node's subnets (10.0.0.0/24)")
        #expect(e.valid == "an address on a segment of this node")
    }

    @Test(arguments: ["banana", "10.0.0", "\"2001:db8::1\""])
    func gatewayThatIsNoAddress(gateway: String) throws {
        let e = try #require(labError(realServer("gateway: \(gateway)")))
        #expect(e.key == "nodes.r1.gateway" && e.line == 5)
    }

    /// NAT: a real server with no gateway routes through the dispatcher's address on its subnet;
    /// `gateway: none` means no default route at all; a gateway given wins.
    @Test func natDefaultGateway() throws {
        let spec = try parse(twoSegmentLab)
        #expect(spec.node(named: "r1")?.routes == [defaultRoute(via: "203.0.113.1")])
        #expect(spec.node(named: "c")?.routes == [], "the client gets no route from NAT")
        #expect(spec.node(named: "d")?.routes == [])
        let none = try parse(twoSegmentLab.replacingOccurrences(of: "203.0.113.21/24}", with: "203.0.113.21/24, gateway: none}"))
        #expect(none.node(named: "r1")?.routes == [])
        #expect(none.node(named: "r2")?.routes == [defaultRoute(via: "203.0.113.1")])
        let other = try parse(twoSegmentLab.replacingOccurrences(of: "203.0.113.21/24}", with: "203.0.113.21/24, gateway: 203.0.113.254}"))
        #expect(other.node(named: "r1")?.routes == [defaultRoute(via: "203.0.113.254")])
        let byRoute = try parse(twoSegmentLab.replacingOccurrences(of: "203.0.113.21/24}", with: "203.0.113.21/24, routes: [{to: default, via: 203.0.113.254}]}"))
        #expect(byRoute.node(named: "r1")?.routes == [defaultRoute(via: "203.0.113.254")])
        let prefixOnly = try parse(twoSegmentLab.replacingOccurrences(of: "203.0.113.21/24}", with: "203.0.113.21/24, routes: [{to: 192.0.2.0/24, via: 203.0.113.254}]}"))
        #expect(prefixOnly.node(named: "r1")?.routes == [RouteSpec(destination: prefix("192.0.2.0/24"), gateway: ip("203.0.113.254")), defaultRoute(via: "203.0.113.1")],
                "a route to a prefix does not replace NAT's default")
    }

    @Test func routes() throws {
        let spec = try parse(realServer("routes: [{to: 192.0.2.77/24, via: 10.0.0.1}, {to: 198.18.0.9/15, dev: eth0}, {to: default, via: 10.0.0.3, dev: eth0}]"))
        #expect(spec.node(named: "r1")?.routes == [
            RouteSpec(destination: prefix("192.0.2.0/24"), gateway: ip("10.0.0.1")),
            RouteSpec(destination: prefix("198.18.0.0/15"), gateway: nil, interface: "eth0"),
            RouteSpec(destination: prefix("0.0.0.0/0"), gateway: ip("10.0.0.3"), interface: "eth0"),
        ])
    }

    @Test(arguments: [
        ("routes: [{to: 192.0.2.0/24}]", "nodes.r1.routes[0]", "a route needs via: or dev:"),
        ("routes: [{to: 192.0.2.0/24, dev: eth9}]", "nodes.r1.routes[0].dev", "this node has no interface 'eth9'"),
        ("routes: [{to: 192.0.2.0/24, via: 192.0.2.1}]", "nodes.r1.routes[0].via", "gateway 192.0.2.1 is on none of this node's subnets (10.0.0.0/24)"),
        ("routes: [{via: 10.0.0.1}]", "nodes.r1.routes[0].to", "missing"),
        ("routes: [{to: 300.0.0.0/8, via: 10.0.0.1}]", "nodes.r1.routes[0].to", "'300.0.0.0/8' is not an IP prefix"),
        ("routes: [{to: 192.0.2.0/24, via: 10.0.0.1, metric: 5}]", "nodes.r1.routes[0].metric", "unknown key 'metric'"),
        ("routes: {to: 192.0.2.0/24}", "nodes.r1.routes", "must be a list"),
        ("routes: [{to: 192.0.2.0/24, via: 10.0.0.1}, {to: 192.0.2.9/24, dev: eth0}]", "nodes.r1.routes", "two routes to 192.0.2.0/24"),
        ("gateway: 10.0.0.1, routes: [{to: default, via: 10.0.0.3}]", "nodes.r1.routes", "two routes to 0.0.0.0/0"),
        ("gateway: none, routes: [{to: default, via: 10.0.0.3}]", "nodes.r1.routes[0].to", "a default route, but gateway: none says there is none"),
    ])
    func routeErrors(settings: String, key: String, problem: String) throws {
        let e = try #require(labError(realServer(settings)))
        #expect(e.key == key)
        #expect(e.problem == problem)
        #expect(e.file == badFile && e.line == 5)
    }

    /// A client on another segment reaches the VIP by a route through the dispatcher.
    @Test func clientRoutesToTheVIP() throws {
        let text = twoSegmentLab.replacingOccurrences(of: "c: {role: client, segment: front, address: 198.51.100.10/24}",
                                                      with: "c: {role: client, segment: back, address: 203.0.113.10/24}")
        let e = try #require(labError(text))
        #expect(e.key == "service.vip" && e.line == 3)
        #expect(e.problem == "client c cannot reach 198.51.100.100: it is in no subnet the client shares with d, and no route of the client covers it")
        // A route elsewhere does not help.
        let elsewhere = try #require(labError(text.replacingOccurrences(of: "203.0.113.10/24}", with: "203.0.113.10/24, routes: [{to: 198.51.101.0/24, via: 203.0.113.1}]}")))
        #expect(elsewhere.key == "service.vip" && elsewhere.problem.hasPrefix("client c cannot reach 198.51.100.100"))
        let routed = try parse(text.replacingOccurrences(of: "203.0.113.10/24}", with: "203.0.113.10/24, routes: [{to: 198.51.100.100/32, via: 203.0.113.1}]}"))
        #expect(routed.node(named: "c")?.routes == [RouteSpec(destination: prefix("198.51.100.100/32"), gateway: ip("203.0.113.1"))])
        #expect(try parse(text.replacingOccurrences(of: "203.0.113.10/24}", with: "203.0.113.10/24, gateway: 203.0.113.1}")).traffic.client == "c",
                "a default route covers the VIP")
    }

    /// The real server must share a subnet AND a segment with its dispatcher.
    @Test func realServerOnTheWrongSegment() throws {
        let e = try #require(labError(twoSegmentLab.replacingOccurrences(of: "r2: {role: real, segment: back,", with: "r2: {role: real, segment: front,")))
        #expect(e.key == "nodes.r2.address" && e.line == 12)
        #expect(e.problem.hasPrefix("real server r2 shares no subnet and segment with its dispatcher d (198.51.100.0/24 on front, 203.0.113.0/24 on back)"))
    }
}
