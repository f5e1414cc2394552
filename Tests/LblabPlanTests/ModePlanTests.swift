import Foundation
import Testing
import LblabModel
@testable import LblabPlan
import LblabTypes

/// What each LVS method needs, step by step, and the wrong variants the issue names. Names and
/// addresses are written out by hand, not computed with `LabNames`.
@Suite struct DRPlanTests {
    let sw = "lblab-dr-basic-switch"
    let dispatcher = "lblab-dr-basic-dispatcher"
    let reals = [("rs1", "lblab-dr-basic-rs1", "198.51.100.21"), ("rs2", "lblab-dr-basic-rs2", "198.51.100.22")]
    let vip = prefix("198.51.100.100/32")
    let service = PlannedService(proto: .tcp, address: ip("198.51.100.100"), port: 80, scheduler: .rr)

    @Test func vipOnTheDispatchersInterfaceAndOnEachRealServersLo() throws {
        let steps = try plan("dr-basic").steps
        let holders = steps.compactMap { s -> String? in
            if case .addAddress(let ns, let link, let a) = s, a.address == ip("198.51.100.100") { "\(ns)/\(link)/\(a.prefixLength)" } else { nil }
        }
        #expect(holders == ["\(dispatcher)/eth0/32", "lblab-dr-basic-rs1/lo/32", "lblab-dr-basic-rs2/lo/32"])
    }

    /// arp_ignore=1 / arp_announce=2 on all and lo, rp_filter 0 on all AND eth0, nothing else.
    @Test func realServerSysctls() throws {
        let steps = try plan("dr-basic").steps
        for (_, ns, _) in reals {
            #expect(steps.sysctls(in: ns) == [
                "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1",
                "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2",
                "net.ipv4.conf.lo.arp_ignore=1", "net.ipv4.conf.lo.arp_announce=2",
                "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.eth0.rp_filter=0",
            ])
        }
        #expect(steps.sysctls(in: dispatcher) == [
            "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1", "net.ipv4.ip_forward=1",
        ])
        #expect(steps.sysctls(in: "lblab-dr-basic-client") == ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
    }

    @Test func ipvsTableIsDirectRouting() throws {
        let steps = try plan("dr-basic").steps
        let ipvs = steps.filter { if case .addService = $0 { true } else if case .addDestination = $0 { true } else { false } }
        #expect(ipvs == [
            .addService(namespace: dispatcher, service: service),
            .addDestination(namespace: dispatcher, service: service, destination: PlannedDestination(address: ip("198.51.100.21"), port: 80, forward: .route, weight: 1)),
            .addDestination(namespace: dispatcher, service: service, destination: PlannedDestination(address: ip("198.51.100.22"), port: 80, forward: .route, weight: 1)),
        ])
        // The VIP is on the dispatcher before the service that uses it.
        #expect(steps.position(of: .addAddress(namespace: dispatcher, link: "eth0", address: vip)) < steps.position(of: ipvs[0]))
    }

    @Test func noRoutesInAOneSegmentLab() throws {
        #expect(!(try plan("dr-basic").steps.contains { if case .addRoute = $0 { true } else { false } }))
    }

    @Test func arpFixOffWritesZeroesAndKeepsTheVIPOnLo() throws {
        let steps = try plan("dr-basic", ["arp_fix=false"]).steps
        for (_, ns, _) in reals {
            #expect(steps.sysctls(in: ns).filter { $0.contains("arp_") } == [
                "net.ipv4.conf.all.arp_ignore=0", "net.ipv4.conf.all.arp_announce=0",
                "net.ipv4.conf.lo.arp_ignore=0", "net.ipv4.conf.lo.arp_announce=0",
            ])
            #expect(steps.contains(.addAddress(namespace: ns, link: "lo", address: vip)))
        }
    }

    /// Wrong variant: strict reverse-path filtering on one real server (the other keeps 0).
    @Test func strictRPFilterOnOneRealServer() throws {
        let steps = try plan("dr-basic", ["rs1.rp_filter=1"]).steps
        #expect(steps.sysctls(in: "lblab-dr-basic-rs1").filter { $0.contains("rp_filter") }
                == ["net.ipv4.conf.all.rp_filter=1", "net.ipv4.conf.eth0.rp_filter=1"])
        #expect(steps.sysctls(in: "lblab-dr-basic-rs2").filter { $0.contains("rp_filter") }
                == ["net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.eth0.rp_filter=0"])
        #expect(steps.count == (try plan("dr-basic").steps.count))
    }

    @Test func weightsSchedulerAndPortReachTheTable() throws {
        let steps = try plan("dr-basic", ["scheduler=wrr", "rs1.weight=5", "nodes.rs2.weight=0", "port=8080"]).steps
        let wrr = PlannedService(proto: .tcp, address: ip("198.51.100.100"), port: 8080, scheduler: .wrr)
        #expect(steps.contains(.addService(namespace: dispatcher, service: wrr)))
        #expect(steps.contains(.addDestination(namespace: dispatcher, service: wrr, destination: PlannedDestination(address: ip("198.51.100.21"), port: 8080, forward: .route, weight: 5))))
        #expect(steps.contains(.addDestination(namespace: dispatcher, service: wrr, destination: PlannedDestination(address: ip("198.51.100.22"), port: 8080, forward: .route, weight: 0))))
        #expect(steps.contains(.startAgent(namespace: "lblab-dr-basic-rs1", node: "rs1", port: 8080, proto: .tcp)))
    }

    /// A masq real server in a DR lab: `-m`, no VIP and no ARP fix on it; its neighbour keeps DR's setup.
    @Test func masqRealServerInADRLab() throws {
        let steps = try plan("dr-basic", ["rs1.forward=masq"]).steps
        #expect(steps.contains(.addDestination(namespace: dispatcher, service: service, destination: PlannedDestination(address: ip("198.51.100.21"), port: 80, forward: .masq, weight: 1))))
        #expect(!steps.contains { $0.namespace == "lblab-dr-basic-rs1" && $0.command.contains("198.51.100.100") })
        #expect(steps.sysctls(in: "lblab-dr-basic-rs1") == ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
        #expect(steps.contains(.addAddress(namespace: "lblab-dr-basic-rs2", link: "lo", address: vip)))
    }
}

@Suite struct NATPlanTests {
    let sw = "lblab-nat-basic-switch"
    let dispatcher = "lblab-nat-basic-dispatcher"
    let service = PlannedService(proto: .tcp, address: ip("198.51.100.100"), port: 80, scheduler: .rr)

    /// One bridge per segment; the dispatcher has a port on each, named after node and interface.
    @Test func twoSegmentsAndTheDispatchersTwoPorts() throws {
        let steps = try plan("nat-basic").steps
        #expect(steps.filter { if case .createBridge = $0 { true } else { false } }
                == [.createBridge(namespace: sw, name: "br-front"), .createBridge(namespace: sw, name: "br-back")])
        #expect(steps.contains(.createVeth(namespace: sw, name: "dispatcher-eth0", peerNamespace: dispatcher, peerName: "eth0")))
        #expect(steps.contains(.createVeth(namespace: sw, name: "dispatcher-eth1", peerNamespace: dispatcher, peerName: "eth1")))
        #expect(steps.contains(.setMaster(namespace: sw, link: "dispatcher-eth0", master: "br-front")))
        #expect(steps.contains(.setMaster(namespace: sw, link: "dispatcher-eth1", master: "br-back")))
        #expect(steps.contains(.addAddress(namespace: dispatcher, link: "eth0", address: prefix("198.51.100.2/24"))))
        #expect(steps.contains(.addAddress(namespace: dispatcher, link: "eth1", address: prefix("203.0.113.1/24"))))
        // One-interface nodes keep the node's name as their port.
        #expect(steps.contains(.setMaster(namespace: sw, link: "client", master: "br-front")))
        for rs in ["rs1", "rs2"] { #expect(steps.contains(.setMaster(namespace: sw, link: rs, master: "br-back"))) }
    }

    /// The VIP on the front interface only; forwarding on; `-m` to the back addresses.
    @Test func dispatcherMasquerades() throws {
        let steps = try plan("nat-basic").steps
        #expect(steps.contains(.addAddress(namespace: dispatcher, link: "eth0", address: prefix("198.51.100.100/32"))))
        #expect(!steps.contains(.addAddress(namespace: dispatcher, link: "eth1", address: prefix("198.51.100.100/32"))))
        #expect(steps.sysctls(in: dispatcher).last == "net.ipv4.ip_forward=1")
        #expect(steps.filter { if case .addDestination = $0 { true } else { false } } == [
            .addDestination(namespace: dispatcher, service: service, destination: PlannedDestination(address: ip("203.0.113.21"), port: 80, forward: .masq, weight: 1)),
            .addDestination(namespace: dispatcher, service: service, destination: PlannedDestination(address: ip("203.0.113.22"), port: 80, forward: .masq, weight: 1)),
        ])
    }

    /// Real servers: default route via the dispatcher's back address; no VIP, no ARP fix, no
    /// rp_filter; the route after the address that makes its gateway reachable.
    @Test func realServersRouteThroughTheDispatcher() throws {
        let steps = try plan("nat-basic").steps
        for (node, address) in [("rs1", "203.0.113.21/24"), ("rs2", "203.0.113.22/24")] {
            let ns = "lblab-nat-basic-\(node)"
            let route = Step.addRoute(namespace: ns, route: PlannedRoute(destination: prefix("0.0.0.0/0"), gateway: ip("203.0.113.1"), link: nil))
            #expect(steps.count(of: route) == 1)
            #expect(steps.position(of: .addAddress(namespace: ns, link: "eth0", address: prefix(address))) < steps.position(of: route))
            #expect(steps.position(of: .setUp(namespace: ns, link: "eth0")) < steps.position(of: route))
            #expect(!steps.contains { $0.namespace == ns && $0.command.contains("198.51.100.100") }, "no VIP on \(node)")
            #expect(steps.sysctls(in: ns) == ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
        }
        // Nobody else gets a route: the client is on-link with the VIP.
        #expect(steps.filter { if case .addRoute = $0 { true } else { false } }.count == 2)
    }

    /// Wrong variant: forwarding off on the dispatcher.
    @Test func forwardingOff() throws {
        let steps = try plan("nat-basic", ["dispatcher.ip_forward=false"]).steps
        #expect(steps.sysctls(in: dispatcher).filter { $0.hasPrefix("net.ipv4") } == ["net.ipv4.ip_forward=0"])
        let p = try plan("nat-basic", ["dispatcher.ip_forward=false"])
        #expect(p.entries.first { $0.step == .setSysctl(namespace: dispatcher, key: "net.ipv4.ip_forward", value: "0") }?.why.contains("OFF") == true)
    }

    /// Wrong variant: a real server whose gateway is not the dispatcher.
    @Test func realServerWithAnotherGateway() throws {
        let steps = try plan("nat-basic", ["rs1.gateway=203.0.113.254"]).steps
        let routes = steps.compactMap { s -> String? in if case .addRoute(let ns, let r) = s { "\(ns) \(r.destination) \(r.gateway.map { "\($0)" } ?? "-")" } else { nil } }
        #expect(routes == ["lblab-nat-basic-rs1 0.0.0.0/0 203.0.113.254", "lblab-nat-basic-rs2 0.0.0.0/0 203.0.113.1"])
    }

    @Test func gatewayNoneLeavesTheRealServerWithoutADefaultRoute() throws {
        let steps = try plan("nat-basic", ["rs2.gateway=none"]).steps
        #expect(!steps.contains { $0.namespace == "lblab-nat-basic-rs2" && $0.command.contains("route add") })
        #expect(steps.contains { $0.namespace == "lblab-nat-basic-rs1" && $0.command.contains("route add default via 203.0.113.1") })
    }
}

@Suite struct TUNPlanTests {
    let dispatcher = "lblab-tun-basic-dispatcher"
    let vip = prefix("198.51.100.100/32")

    /// ipip0 with local = the server's own address, up, holding the VIP; nothing on lo.
    @Test func tunnelInterfaceHoldsTheVIP() throws {
        let steps = try plan("tun-basic").steps
        for (node, rip) in [("rs1", "198.51.100.21"), ("rs2", "198.51.100.22")] {
            let ns = "lblab-tun-basic-\(node)"
            let tunnel = steps.position(of: .createTunnel(namespace: ns, name: "ipip0", local: ip(rip)))
            let up = steps.position(of: .setUp(namespace: ns, link: "ipip0"))
            let onTunnel = steps.position(of: .addAddress(namespace: ns, link: "ipip0", address: vip))
            #expect(tunnel < up && up < onTunnel)
            #expect(!steps.contains(.addAddress(namespace: ns, link: "lo", address: vip)))
            #expect(steps.sysctls(in: ns) == [
                "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1",
                "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2",
                "net.ipv4.conf.lo.arp_ignore=1", "net.ipv4.conf.lo.arp_announce=2",
                "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.eth0.rp_filter=0", "net.ipv4.conf.ipip0.rp_filter=0",
            ])
        }
    }

    @Test func dispatcherTunnels() throws {
        let steps = try plan("tun-basic").steps
        let service = PlannedService(proto: .tcp, address: ip("198.51.100.100"), port: 80, scheduler: .rr)
        #expect(steps.filter { if case .addDestination = $0 { true } else { false } } == [
            .addDestination(namespace: dispatcher, service: service, destination: PlannedDestination(address: ip("198.51.100.21"), port: 80, forward: .tunnel, weight: 1)),
            .addDestination(namespace: dispatcher, service: service, destination: PlannedDestination(address: ip("198.51.100.22"), port: 80, forward: .tunnel, weight: 1)),
        ])
        #expect(!steps.contains { if case .createTunnel(let ns, _, _) = $0 { ns == dispatcher } else { false } }, "the dispatcher needs no ipip interface")
    }

    /// Wrong variant: no tunnel interface. The VIP goes to lo (so the server still owns it), nothing
    /// unwraps the dispatcher's IP-in-IP, rp_filter covers the interfaces that exist.
    @Test func missingTunnelInterface() throws {
        let steps = try plan("tun-basic", ["rs1.tunnel=false"]).steps
        let ns = "lblab-tun-basic-rs1"
        #expect(!steps.contains { if case .createTunnel(ns, _, _) = $0 { true } else { false } })
        #expect(!steps.contains { $0.namespace == ns && $0.command.contains("ipip0") })
        #expect(steps.contains(.addAddress(namespace: ns, link: "lo", address: vip)))
        #expect(steps.sysctls(in: ns).filter { $0.contains("rp_filter") } == ["net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.eth0.rp_filter=0"])
        // The dispatcher still tunnels to it, and rs2 keeps its tunnel.
        #expect(steps.contains { if case .addDestination(_, _, let d) = $0 { d.address == ip("198.51.100.21") && d.forward == .tunnel } else { false } })
        #expect(steps.contains(.createTunnel(namespace: "lblab-tun-basic-rs2", name: "ipip0", local: ip("198.51.100.22"))))
    }

    /// Wrong variant: strict rp_filter on all of rs2's interfaces, the tunnel included.
    @Test func strictRPFilter() throws {
        let steps = try plan("tun-basic", ["rs2.rp_filter=1"]).steps
        #expect(steps.sysctls(in: "lblab-tun-basic-rs2").filter { $0.contains("rp_filter") }
                == ["net.ipv4.conf.all.rp_filter=1", "net.ipv4.conf.eth0.rp_filter=1", "net.ipv4.conf.ipip0.rp_filter=1"])
        #expect(steps.sysctls(in: "lblab-tun-basic-rs1").filter { $0.contains("rp_filter") }
                == ["net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.eth0.rp_filter=0", "net.ipv4.conf.ipip0.rp_filter=0"])
    }

    @Test func looseRPFilterIsWrittenAsTwo() throws {
        let steps = try plan("tun-basic", ["rs1.rp_filter=2"]).steps
        #expect(steps.sysctls(in: "lblab-tun-basic-rs1").contains("net.ipv4.conf.ipip0.rp_filter=2"))
    }
}

/// A 64-server lab written as one `count:` group.
@Suite struct ScalePlanTests {
    let dispatcher = "lblab-dr-scale-dispatcher"

    @Test func sixtyFourRealServers() throws {
        let steps = try plan("dr-scale").steps
        let names = (1...64).map { "rs\($0)" }
        #expect(steps.createdNamespaces == ["lblab-dr-scale-switch", "lblab-dr-scale-client", dispatcher] + names.map { "lblab-dr-scale-\($0)" })
        let dests = steps.compactMap { s -> PlannedDestination? in if case .addDestination(_, _, let d) = s { d } else { nil } }
        #expect(dests == (1...64).map { PlannedDestination(address: ip("198.51.100.\(100 + $0)"), port: 80, forward: .route, weight: 1) })
        for (k, name) in names.enumerated() {
            let ns = "lblab-dr-scale-\(name)"
            #expect(steps.contains(.addAddress(namespace: ns, link: "eth0", address: prefix("198.51.100.\(101 + k)/24"))))
            #expect(steps.contains(.addAddress(namespace: ns, link: "lo", address: prefix("198.51.100.100/32"))))
            #expect(steps.contains(.startAgent(namespace: ns, node: name, port: 80, proto: .tcp)))
        }
        // A member gets the same steps in its namespace as a real server written out by hand.
        let perServer = try plan("dr-basic").steps.filter { $0.namespace == "lblab-dr-basic-rs2" }.count
        #expect(steps.filter { $0.namespace == "lblab-dr-scale-rs64" }.count == perServer)
    }

    @Test func oneMemberPatched() throws {
        let steps = try plan("dr-scale", ["rs7.weight=3"]).steps
        let weights = steps.compactMap { s -> Int? in if case .addDestination(_, _, let d) = s { d.weight } else { nil } }
        #expect(weights == (1...64).map { $0 == 7 ? 3 : 1 })
        #expect(steps.contains { if case .addDestination(_, _, let d) = $0 { d.address == ip("198.51.100.107") && d.weight == 3 } else { false } })
    }

    @Test func resized() throws {
        let steps = try plan("dr-scale", ["rs.count=2"]).steps
        #expect(steps.createdNamespaces == ["lblab-dr-scale-switch", "lblab-dr-scale-client", dispatcher, "lblab-dr-scale-rs1", "lblab-dr-scale-rs2"])
    }
}

/// Several services: each VIP once on each node that holds it, each service with its destinations.
@Suite struct ServicesPlanTests {
    func lab(mode: String, services: String) throws -> Plan {
        Planner.plan(try LabFile.parse("""
            name: multi
            mode: \(mode)
            services:
            \(services)
            nodes:
              c: {role: client, address: 10.0.0.10/24}
              d: {role: dispatcher, address: 10.0.0.2/24}
              r1: {role: real, address: 10.0.0.21/24}
              r2: {role: real, address: 10.0.0.22/24}
            """, file: "multi.yaml"))
    }

    func vipHolders(_ steps: [Step]) -> [String] {
        steps.compactMap { s in
            if case .addAddress(let ns, let link, let a) = s, a.prefixLength == 32 { "\(ns.dropFirst("lblab-multi-".count))/\(link) \(a.address)" } else { nil }
        }
    }

    /// One VIP, two ports (HTTP and HTTPS): the VIP is added once per holder, or `up` fails on EEXIST.
    @Test(arguments: [("dr", "lo"), ("tun", "ipip0")])
    func oneVIPTwoPorts(mode: String, link: String) throws {
        let steps = try lab(mode: mode, services: "  - {vip: 10.0.0.100, port: 80}\n  - {vip: 10.0.0.100, port: 443}").steps
        #expect(vipHolders(steps) == ["d/eth0 10.0.0.100", "r1/\(link) 10.0.0.100", "r2/\(link) 10.0.0.100"])
        #expect(steps.filter { if case .addService = $0 { true } else { false } }.count == 2)
        #expect(steps.filter { if case .addDestination = $0 { true } else { false } }.count == 4)
        // One server per port on each real server, each undone on its own.
        let agents = steps.compactMap { s -> String? in if case .startAgent(_, let node, let port, _) = s { "\(node):\(port)" } else { nil } }
        #expect(agents == ["r1:80", "r1:443", "r2:80", "r2:443"])
        let stops = Plan.teardown(of: steps).compactMap { s -> String? in if case .stopAgent(_, let node, let port) = s { "\(node):\(port)" } else { nil } }
        #expect(stops == ["r2:443", "r2:80", "r1:443", "r1:80"])
    }

    @Test func twoVIPs() throws {
        let steps = try lab(mode: "dr", services: "  - {vip: 10.0.0.100}\n  - {vip: 10.0.0.101, servers: [r2]}").steps
        #expect(vipHolders(steps) == ["d/eth0 10.0.0.100", "d/eth0 10.0.0.101", "r1/lo 10.0.0.100", "r2/lo 10.0.0.100", "r2/lo 10.0.0.101"])
        let dests = steps.compactMap { s -> String? in if case .addDestination(_, let svc, let d) = s { "\(svc.address) \(d.address)" } else { nil } }
        #expect(dests == ["10.0.0.100 10.0.0.21", "10.0.0.100 10.0.0.22", "10.0.0.101 10.0.0.22"])
    }

    /// The VIP goes on the dispatcher interface whose subnet holds it, wherever that interface is.
    @Test func vipOnTheInterfaceOnItsSubnet() throws {
        let spec = try LabFile.parse("""
            name: swapped
            mode: nat
            segments: [front, back]
            service: {vip: 198.51.100.100}
            nodes:
              c: {role: client, segment: front, address: 198.51.100.10/24}
              d:
                role: dispatcher
                interfaces:
                  back0: {segment: back, address: 203.0.113.1/24}
                  front0: {segment: front, address: 198.51.100.2/24}
              r1: {role: real, segment: back, address: 203.0.113.21/24}
            """, file: "swapped.yaml")
        let steps = Planner.plan(spec).steps
        #expect(steps.contains(.addAddress(namespace: "lblab-swapped-d", link: "front0", address: prefix("198.51.100.100/32"))))
        #expect(!steps.contains(.addAddress(namespace: "lblab-swapped-d", link: "back0", address: prefix("198.51.100.100/32"))))
        #expect(steps.contains(.createVeth(namespace: "lblab-swapped-switch", name: "d-front0", peerNamespace: "lblab-swapped-d", peerName: "front0")))
    }

    /// A VIP outside every subnet, reached by the client's route: it goes on the dispatcher's
    /// interface that the route's gateway is on.
    @Test func vipOnTheInterfaceTheClientRoutesTo() throws {
        let spec = try LabFile.parse("""
            name: routed
            segments: [front, back]
            service: {vip: 192.0.2.80}
            nodes:
              c: {role: client, segment: back, address: 203.0.113.10/24, routes: [{to: 192.0.2.80/32, via: 203.0.113.1}]}
              d:
                role: dispatcher
                interfaces:
                  eth0: {segment: front, address: 198.51.100.2/24}
                  eth1: {segment: back, address: 203.0.113.1/24}
              r1: {role: real, segment: front, address: 198.51.100.21/24}
            """, file: "routed.yaml")
        let steps = Planner.plan(spec).steps
        #expect(steps.contains(.addAddress(namespace: "lblab-routed-d", link: "eth1", address: prefix("192.0.2.80/32"))))
        #expect(steps.contains(.addRoute(namespace: "lblab-routed-c", route: PlannedRoute(destination: prefix("192.0.2.80/32"), gateway: ip("203.0.113.1"), link: nil))))
    }
}
