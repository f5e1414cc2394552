import Foundation
import Testing
@testable import LblabModel
import LblabTypes

/// `count:` groups: many real servers without listing each one.
@Suite struct CountGroupTests {
    /// Lines 1-5; the group is on line 5.
    func lab(_ group: String, before: String = "") -> String {
        """
        service: {vip: 10.0.0.100}
        nodes:
          c: {role: client, address: 10.0.0.10/24}
          d: {role: dispatcher, address: 10.0.0.2/24}
        \(before)  \(group)
        """
    }

    @Test func membersAreNamedAndAddressedInTurn() throws {
        let spec = try parse(lab("rs: {role: real, address: 10.0.0.21/24, count: 4, weight: 2}"))
        #expect(spec.realServers == (1...4).map { host("rs\($0)", .real, "10.0.0.\(20 + $0)/24", weight: 2, rpFilter: 0, group: "rs") })
        #expect(spec.services[0].servers == ["rs1", "rs2", "rs3", "rs4"])
        #expect(spec.node(named: "rs") == nil, "the group itself is no node")
    }

    @Test func membersExpandInPlaceAndKeepEveryAddress() throws {
        let text = """
            mode: nat
            segments: [front, back]
            service: {vip: 198.51.100.100}
            nodes:
              c: {role: client, segment: front, address: 198.51.100.10/24}
              web: {role: real, segment: back, addresses: [203.0.113.21/24, 192.0.2.21/24], count: 3}
              d:
                role: dispatcher
                interfaces:
                  eth0: {segment: front, address: 198.51.100.2/24}
                  eth1: {segment: back, address: 203.0.113.1/24}
              z: {role: client, segment: front, address: 198.51.100.11/24}
            """
        let spec = try parse(text)
        #expect(spec.nodes.map(\.name) == ["c", "web1", "web2", "web3", "d", "z"])
        #expect(spec.node(named: "web3")?.interfaces[0].addresses == [prefix("203.0.113.23/24"), prefix("192.0.2.23/24")])
        #expect(spec.realServers.allSatisfy { $0.routes == [defaultRoute(via: "203.0.113.1")] && $0.forward == .masq })
    }

    /// The last member would land on the broadcast address (or beyond the subnet).
    @Test(arguments: [("10.0.0.250/24", 6, "rs6", "10.0.0.255", 5), ("10.0.0.21/28", 11, "rs11", "10.0.0.31", 10),
                      ("10.0.0.21/24", 300, "rs235", "10.0.0.255", 234)])
    func runningPastTheSubnet(address: String, count: Int, member: String, lands: String, most: Int) throws {
        let e = try #require(labError(lab("rs: {role: real, address: \(address), count: \(count)}")))
        #expect(e.key == "nodes.rs.count")
        #expect(e.line == 5)
        #expect(e.problem == "\(count) members from \(address) run past the subnet \(prefix(address).subnet): member \(member) would get \(lands)")
        #expect(e.valid == "at most \(most) members from \(prefix(address).address)")
    }

    @Test(arguments: ["0", "1025", "many", "-3"])
    func countOutOfRange(count: String) throws {
        let e = try #require(labError(lab("rs: {role: real, address: 10.0.0.21/24, count: \(count)}")))
        #expect(e.key == "nodes.rs.count" && e.line == 5)
        #expect(e.problem == "'\(count)' is not a whole number in 1...1024")
    }

    @Test func memberNamesMustFitFifteenCharacters() throws {
        #expect(try parse(lab("abcdefghijklmn: {role: real, address: 10.0.0.21/24, count: 9}")).node(named: "abcdefghijklmn9") != nil)
        let e = try #require(labError(lab("abcdefghijklmn: {role: real, address: 10.0.0.21/24, count: 10}")))
        #expect(e.key == "nodes.abcdefghijklmn.count" && e.line == 5)
        #expect(e.problem == "member names abcdefghijklmn1...abcdefghijklmn10 would be longer than 15 characters")
    }

    /// A member with several interfaces has a switch port `member-interface`: the longest member's
    /// port must fit 15 characters, not just the group's.
    @Test func memberPortNamesMustFitFifteenCharacters() throws {
        let text = """
            segments: [front, back]
            service: {vip: 198.51.100.100}
            nodes:
              c: {role: client, segment: front, address: 198.51.100.10/24}
              d: {role: dispatcher, segment: front, address: 198.51.100.2/24}
              webserver:
                role: real
                count: 10
                interfaces:
                  eth0: {segment: front, address: 198.51.100.21/24}
                  eth1: {segment: back, address: 203.0.113.21/24}
            """
        let e = try #require(labError(text))
        #expect(e.key == "nodes.webserver.count")
        #expect(e.line == 8)
        #expect(e.problem.contains("webserver10-eth0"))
        let nine = try parse(text.replacingOccurrences(of: "count: 10", with: "count: 9"))
        #expect(nine.node(named: "webserver9")?.interfaces.count == 2, "webserver9-eth0 is 15 characters")
    }

    @Test func memberCollidingWithTheVIP() throws {
        let e = try #require(labError(lab("rs: {role: real, address: 10.0.0.98/24, count: 5}")))
        #expect(e.key == "nodes.rs.address" && e.line == 5)
        #expect(e.problem == "10.0.0.100 is already used by service svc1")
    }

    @Test func memberCollidingWithAnotherNode() throws {
        let e = try #require(labError(lab("rs: {role: real, address: 10.0.0.8/24, count: 5}")))
        #expect(e.key == "nodes.rs.address" && e.line == 5)
        #expect(e.problem == "10.0.0.10 is already used by c (eth0)")
    }

    /// A node in the file whose name is a member's: an error at whichever comes second.
    @Test func fileNodeNamedLikeAMember() throws {
        let after = try #require(labError(lab("rs: {role: real, address: 10.0.0.21/24, count: 4}\n  rs3: {role: real, address: 10.0.0.50/24}")))
        #expect(after.key == "nodes.rs3" && after.line == 6)
        #expect(after.problem == "node rs3 given twice (it is also a member of the count: group rs)")
        let before = try #require(labError(lab("rs: {role: real, address: 10.0.0.21/24, count: 4}", before: "  rs3: {role: real, address: 10.0.0.50/24}\n")))
        #expect(before.key == "nodes.rs3" && before.line == 6)
        #expect(before.problem == "node rs3 given twice (it is also a member of the count: group rs)")
    }

    // MARK: --set on members

    @Test func setPatchesOneMember() throws {
        let text = lab("rs: {role: real, address: 10.0.0.21/24, count: 8}")
        let spec = try parse(text, overrides: ["rs7.weight=3", "rs2.rp_filter=2", "nodes.rs5.forward=tunnel"])
        #expect(spec.realServers.map(\.weight) == [1, 1, 1, 1, 1, 1, 3, 1])
        #expect(spec.realServers.map(\.rpFilter) == [0, 2, 0, 0, 0, 0, 0, 0])
        #expect(spec.node(named: "rs5")?.forward == .tunnel && spec.node(named: "rs5")?.tunnel == true)
        #expect(spec.node(named: "rs7")?.interfaces == [InterfaceSpec(name: "eth0", segment: "lan", addresses: [prefix("10.0.0.27/24")])])
        #expect(spec.nodes.map(\.name) == ["c", "d"] + (1...8).map { "rs\($0)" }, "a patch adds no node")
    }

    @Test func setResizesTheGroup() throws {
        let text = lab("rs: {role: real, address: 10.0.0.21/24, count: 8}")
        #expect(try parse(text, overrides: ["rs.count=3"]).realServers.map(\.name) == ["rs1", "rs2", "rs3"])
        // A patch of a member the resized group no longer has names no node.
        let e = try #require(labError(text, overrides: ["rs.count=3", "rs7.weight=3"]))
        #expect(e.file == "--set rs7.weight=3")
    }

    @Test func setGatewayOfOneNATMember() throws {
        let text = twoSegmentLab.replacingOccurrences(of: "  r1: {role: real, segment: back, address: 203.0.113.21/24}\n  r2: {role: real, segment: back, address: 203.0.113.22/24}",
                                                      with: "  r: {role: real, segment: back, address: 203.0.113.21/24, count: 3}")
        let spec = try parse(text, overrides: ["r2.gateway=203.0.113.254"])
        #expect(spec.realServers.map(\.routes) == [[defaultRoute(via: "203.0.113.1")], [defaultRoute(via: "203.0.113.254")], [defaultRoute(via: "203.0.113.1")]])
        #expect(try parse(text, overrides: ["r3.gateway=none"]).node(named: "r3")?.routes == [])
        let off = try #require(labError(text, overrides: ["r1.gateway=192.0.2.1"]))
        #expect(off.file == "--set r1.gateway=192.0.2.1" && off.key == "nodes.r1.gateway" && off.line == nil)
    }

    @Test func setErrorsOnMembers() throws {
        let text = lab("rs: {role: real, address: 10.0.0.21/24, count: 4}")
        let unknown = try #require(labError(text, overrides: ["rs2.address=10.0.0.99/24"]))
        #expect(unknown.file == "--set rs2.address=10.0.0.99/24" && unknown.key == "nodes.rs2.address" && unknown.line == nil)
        #expect(unknown.valid == "weight, forward, ip_forward, rp_filter, tunnel, vip_on, gateway, u_threshold, l_threshold, delay_ms, resolver")
        let bad = try #require(labError(text, overrides: ["rs2.weight=heavy"]))
        #expect(bad.file == "--set rs2.weight=heavy" && bad.key == "nodes.rs2.weight" && bad.line == nil)
        let missing = try #require(labError(text, overrides: ["rs9.weight=1"]))
        #expect(missing.file == "--set rs9.weight=1" && missing.problem == "no node named 'rs9' in \(badFile)")
        let clients = lab("cl: {role: client, address: 10.0.0.31/24, count: 2}\n  r: {role: real, address: 10.0.0.21/24}")
        let notReal = try #require(labError(clients, overrides: ["cl2.weight=2"]))
        #expect(notReal.key == "nodes.cl2.weight" && notReal.problem == "only real servers have a weight")
    }
}
