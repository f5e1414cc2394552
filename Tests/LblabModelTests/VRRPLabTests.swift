import Testing
@testable import LblabModel
import LblabTypes

/// `vrrp:` on dispatchers and `sync:`: a redundant dispatcher pair.
@Suite struct VRRPLabTests {
    /// Lines 1-9: a client, two VRRP dispatchers p (150) and b (100), two real servers.
    func lab(p: String = "{priority: 150}", b: String = "{priority: 100}", extra: String = "") -> String {
        """
        service: {vip: 10.0.0.100}
        nodes:
          c: {role: client, address: 10.0.0.10/24}
          b: {role: dispatcher, address: 10.0.0.3/24, vrrp: \(b)}
          p: {role: dispatcher, address: 10.0.0.2/24, vrrp: \(p)}
          r1: {role: real, address: 10.0.0.21/24}
          r2: {role: real, address: 10.0.0.22/24}
        \(extra)
        """
    }

    @Test func twoDispatchersServeOneServiceThePrimaryNamesIt() throws {
        let spec = try parse(lab())
        #expect(spec.usesVRRP)
        #expect(spec.services[0].dispatcher == "p")
        #expect(spec.dispatchers(of: spec.services[0]).map(\.name) == ["p", "b"])
        #expect(spec.node(named: "p")?.vrrp == VRRPSpec(priority: 150, routerID: 51, advertInterval: 1, interface: "eth0"))
        #expect(spec.sync == false)
        #expect(spec.expect.arp == .none, "the vrrp rule, not arp, judges who answers for the VIP")
    }

    @Test func shippedLabIsAPrimaryAndABackupWithSync() throws {
        let spec = try LabFile.load(labPath("dr-vrrp"))
        #expect(spec.vrrpPeersByPriority.map(\.name) == ["primary", "backup"])
        #expect(spec.sync == true)
        #expect(spec.vrrpDispatchers.allSatisfy { $0.vrrp?.routerID == 51 })
        let off = try LabFile.load(labPath("dr-vrrp"), overrides: ["sync=false", "backup.vrrp.router_id=52"])
        #expect(off.sync == false)
        #expect(off.node(named: "backup")?.vrrp?.routerID == 52)
    }

    /// The wrong variants are valid files: the running lab shows what goes wrong.
    @Test func equalPrioritiesAndMismatchedRouterIDsParse() throws {
        let equal = try parse(lab(b: "{priority: 150}"))
        #expect(equal.services[0].dispatcher == "b", "on a tie the first in the file names the service")
        let split = try parse(lab(b: "{priority: 100, router_id: 52}"))
        #expect(split.vrrpDispatchers.map { $0.vrrp!.routerID }.sorted() == [51, 52])
    }

    @Test func interfaceDefaultsToTheOneOnTheVIPSubnet() throws {
        let spec = try parse("""
            segments: [mgmt, lan]
            service: {vip: 10.0.0.100}
            nodes:
              c: {role: client, segment: lan, address: 10.0.0.10/24}
              p:
                role: dispatcher
                vrrp: {priority: 200}
                interfaces: {eth0: {segment: mgmt, address: 192.0.2.2/24}, eth1: {segment: lan, address: 10.0.0.2/24}}
              b:
                role: dispatcher
                vrrp: {priority: 100}
                interfaces: {eth0: {segment: mgmt, address: 192.0.2.3/24}, eth1: {segment: lan, address: 10.0.0.3/24}}
              r1: {role: real, segment: lan, address: 10.0.0.21/24}
            """)
        #expect(spec.vrrpDispatchers.map(\.vrrp!.interface) == ["eth1", "eth1"])
    }

    @Test func errorsNameTheKeyAndTheFix() throws {
        let onReal = try #require(labError(lab(extra: "") .replacingOccurrences(of: "r2: {role: real, address: 10.0.0.22/24}",
                                                                                 with: "r2: {role: real, address: 10.0.0.22/24, vrrp: {priority: 1}}")))
        #expect(onReal.key == "nodes.r2.vrrp" && onReal.line == 7 && onReal.problem.contains("only dispatchers"))

        let noPriority = try #require(labError(lab(p: "{router_id: 5}")))
        #expect(noPriority.key == "nodes.p.vrrp.priority" && noPriority.problem == "missing")

        let owner = try #require(labError(lab(p: "{priority: 255}")))
        #expect(owner.key == "nodes.p.vrrp.priority" && owner.problem.contains("1...254"))

        let router = try #require(labError(lab(b: "{priority: 100, router_id: 0}")))
        #expect(router.key == "nodes.b.vrrp.router_id" && router.line == 4)

        let iface = try #require(labError(lab(p: "{priority: 150, interface: eth3}")))
        #expect(iface.key == "nodes.p.vrrp.interface" && iface.valid == "eth0")

        let unknown = try #require(labError(lab(p: "{priority: 150, prio: 3}")))
        #expect(unknown.key == "nodes.p.vrrp.prio" && unknown.problem == "unknown key 'prio'")

        let slow = try #require(labError(lab(extra: "faults: [{at: 1, node: p, action: slow}]")))
        #expect(slow.key == "faults[0].action" && slow.problem.contains("a dispatcher runs keepalived") && slow.valid == "down, up, unplug, plug")

        let arp = try #require(labError(lab(extra: "expect: {arp: dispatcher-only}")))
        #expect(arp.key == "expect.arp" && arp.line == 8 && arp.valid?.contains("none") == true)
    }

    @Test func syncNeedsTwoVRRPDispatchers() throws {
        let noVRRP = try #require(labError(smallLab + "\nsync: true"))
        #expect(noVRRP.key == "sync" && noVRRP.line == 7 && noVRRP.problem.contains("no dispatcher with vrrp"))

        let alone = try #require(labError("""
            service: {vip: 10.0.0.100}
            sync: true
            nodes:
              c: {role: client, address: 10.0.0.10/24}
              p: {role: dispatcher, address: 10.0.0.2/24, vrrp: {priority: 150}}
              r1: {role: real, address: 10.0.0.21/24}
            """))
        #expect(alone.key == "sync" && alone.line == 2 && alone.problem.contains("one VRRP dispatcher"))
        #expect(try parse(lab(extra: "sync: yes")).sync == true)
    }

    @Test func aDispatcherWithoutVRRPInAVRRPLabIsRefused() throws {
        let e = try #require(labError("""
            service: {vip: 10.0.0.100, dispatcher: p}
            nodes:
              c: {role: client, address: 10.0.0.10/24}
              p: {role: dispatcher, address: 10.0.0.2/24, vrrp: {priority: 150}}
              b: {role: dispatcher, address: 10.0.0.3/24}
              r1: {role: real, address: 10.0.0.21/24}
            """))
        #expect(e.key == "nodes.b" && e.problem.contains("no vrrp:"))
    }

    @Test func theVIPMustBeOnAVRRPDispatchersSubnet() throws {
        let e = try #require(labError(lab().replacingOccurrences(of: "b: {role: dispatcher, address: 10.0.0.3/24",
                                                                 with: "b: {role: dispatcher, address: 10.0.1.3/24")))
        #expect(e.key == "nodes.b" && e.line == 4 && e.problem.contains("no interface on the subnet of VIP 10.0.0.100"), "\(e)")
    }
}
