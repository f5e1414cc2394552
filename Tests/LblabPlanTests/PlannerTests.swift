import Foundation
import Testing
import LblabModel
@testable import LblabPlan
import LblabTypes

@Suite struct PlannerTests {
    let nodes: [(name: String, ns: String, address: String)] = [
        ("client", drClient, "198.51.100.10/24"),
        ("dispatcher", drDispatcher, "198.51.100.2/24"),
        ("rs1", drRS1, "198.51.100.21/24"),
        ("rs2", drRS2, "198.51.100.22/24"),
    ]
    let reals: [(name: String, ns: String)] = [("rs1", drRS1), ("rs2", drRS2)]
    let vip32 = prefix("198.51.100.100/32")
    let service = PlannedService(proto: "tcp", address: ip("198.51.100.100"), port: 80, scheduler: "rr")

    @Test func planIsForTheLab() throws {
        let p = try plan("dr-basic")
        #expect(p.lab == "dr-basic")
        #expect(p.steps == p.entries.map(\.step))
        #expect(!p.steps.isEmpty)
    }

    @Test func firstStepCreatesTheSwitchNamespace() throws {
        let steps = try plan("dr-basic").steps
        #expect(steps.first == .createNamespace(name: drSwitch))
    }

    @Test func bridgeInTheSwitchNamespace() throws {
        let steps = try plan("dr-basic").steps
        #expect(steps.count(of: .createBridge(namespace: drSwitch, name: "br0")) == 1)
        #expect(steps.contains(.setUp(namespace: drSwitch, link: "br0")))
        #expect(steps.position(of: .createNamespace(name: drSwitch)) < steps.position(of: .createBridge(namespace: drSwitch, name: "br0")))
        #expect(steps.position(of: .createBridge(namespace: drSwitch, name: "br0")) < steps.position(of: .setUp(namespace: drSwitch, link: "br0")))
        // Exactly one bridge.
        #expect(steps.filter { if case .createBridge = $0 { true } else { false } }.count == 1)
    }

    @Test func oneNamespacePerNodePlusTheSwitch() throws {
        let steps = try plan("dr-basic").steps
        let created = steps.createdNamespaces
        #expect(created.count == 5)
        #expect(Set(created) == drNamespaces)
    }

    @Test func oneVethPerNode() throws {
        let steps = try plan("dr-basic").steps
        let veths = steps.filter { if case .createVeth = $0 { true } else { false } }
        #expect(veths.count == 4)
        for n in nodes {
            let veth = Step.createVeth(namespace: drSwitch, name: n.name, peerNamespace: n.ns, peerName: "eth0")
            #expect(steps.count(of: veth) == 1, "veth for \(n.name)")
            let master = Step.setMaster(namespace: drSwitch, link: n.name, master: "br0")
            #expect(steps.count(of: master) == 1)
            #expect(steps.contains(.setUp(namespace: drSwitch, link: n.name)))
            #expect(steps.contains(.addAddress(namespace: n.ns, link: "eth0", address: prefix(n.address))))
            #expect(steps.contains(.setUp(namespace: n.ns, link: "eth0")))
            #expect(steps.contains(.setUp(namespace: n.ns, link: "lo")))
        }
    }

    @Test func vipOnTheDispatcherAndForwarding() throws {
        let steps = try plan("dr-basic").steps
        #expect(steps.count(of: .addAddress(namespace: drDispatcher, link: "eth0", address: vip32)) == 1)
        #expect(steps.contains(.setSysctl(namespace: drDispatcher, key: "net.ipv4.ip_forward", value: "1")))
        // The dispatcher must not hide the VIP on lo nor get the real servers' ARP fix.
        #expect(!steps.contains(.addAddress(namespace: drDispatcher, link: "lo", address: vip32)))
        #expect(!steps.contains { if case .setSysctl(drDispatcher, let k, _) = $0 { k.contains("arp_") } else { false } })
    }

    @Test func vipOnlyOnTheDispatcherAndTheRealServers() throws {
        let steps = try plan("dr-basic").steps
        var holders: [String] = []
        for s in steps {
            if case .addAddress(let ns, let link, let a) = s, a.address == ip("198.51.100.100") {
                #expect(a.prefixLength == 32)
                holders.append("\(ns)/\(link)")
            }
        }
        #expect(holders.sorted() == ["\(drDispatcher)/eth0", "\(drRS1)/lo", "\(drRS2)/lo"])
    }

    @Test func ipvsService() throws {
        let steps = try plan("dr-basic").steps
        let services = steps.filter { if case .addService = $0 { true } else { false } }
        #expect(services == [.addService(namespace: drDispatcher, service: service)])
    }

    @Test func oneDestinationPerRealServer() throws {
        let steps = try plan("dr-basic").steps
        var dests: [PlannedDestination] = []
        for s in steps {
            if case .addDestination(let ns, let svc, let d) = s {
                #expect(ns == drDispatcher)
                #expect(svc == service)
                dests.append(d)
            }
        }
        #expect(dests == [
            PlannedDestination(address: ip("198.51.100.21"), port: 80, forward: "route", weight: 1),
            PlannedDestination(address: ip("198.51.100.22"), port: 80, forward: "route", weight: 1),
        ])
    }

    @Test func destinationWeightsFollowTheNodes() throws {
        let steps = try plan("dr-basic", ["rs1.weight=3", "nodes.rs2.weight=0", "scheduler=wrr"]).steps
        let wrr = PlannedService(proto: "tcp", address: ip("198.51.100.100"), port: 80, scheduler: "wrr")
        #expect(steps.contains(.addService(namespace: drDispatcher, service: wrr)))
        #expect(steps.contains(.addDestination(namespace: drDispatcher, service: wrr,
                                               destination: PlannedDestination(address: ip("198.51.100.21"), port: 80, forward: "route", weight: 3))))
        #expect(steps.contains(.addDestination(namespace: drDispatcher, service: wrr,
                                               destination: PlannedDestination(address: ip("198.51.100.22"), port: 80, forward: "route", weight: 0))))
    }

    @Test func portOverrideReachesServiceDestinationsAndAgents() throws {
        let steps = try plan("dr-basic", ["service.port=8080"]).steps
        let svc = PlannedService(proto: "tcp", address: ip("198.51.100.100"), port: 8080, scheduler: "rr")
        #expect(steps.contains(.addService(namespace: drDispatcher, service: svc)))
        #expect(steps.contains(.addDestination(namespace: drDispatcher, service: svc,
                                               destination: PlannedDestination(address: ip("198.51.100.21"), port: 8080, forward: "route", weight: 1))))
        #expect(steps.contains(.startAgent(namespace: drRS1, node: "rs1", port: 8080)))
        #expect(steps.contains(.startAgent(namespace: drRS2, node: "rs2", port: 8080)))
    }

    @Test func realServerSetup() throws {
        let steps = try plan("dr-basic").steps
        for rs in reals {
            #expect(steps.count(of: .addAddress(namespace: rs.ns, link: "lo", address: vip32)) == 1, "VIP on lo of \(rs.name)")
            for scope in ["all", "lo"] {
                #expect(steps.contains(.setSysctl(namespace: rs.ns, key: "net.ipv4.conf.\(scope).arp_ignore", value: "1")))
                #expect(steps.contains(.setSysctl(namespace: rs.ns, key: "net.ipv4.conf.\(scope).arp_announce", value: "2")))
            }
            #expect(steps.contains(.setSysctl(namespace: rs.ns, key: "net.ipv4.conf.all.rp_filter", value: "0")))
            #expect(steps.count(of: .startAgent(namespace: rs.ns, node: rs.name, port: 80)) == 1)
        }
    }

    @Test func agentsOnlyOnRealServers() throws {
        let steps = try plan("dr-basic").steps
        let agents = steps.filter { if case .startAgent = $0 { true } else { false } }
        #expect(agents == [.startAgent(namespace: drRS1, node: "rs1", port: 80), .startAgent(namespace: drRS2, node: "rs2", port: 80)])
    }

    @Test func clientGetsNoLoadBalancerSetup() throws {
        let steps = try plan("dr-basic").steps
        for s in steps where s.namespace == drClient {
            switch s {
            case .addService, .addDestination, .startAgent: Issue.record("client got \(s)")
            case .addAddress(_, _, let a): #expect(a == prefix("198.51.100.10/24"))
            case .setSysctl(_, let k, _): #expect(!k.contains("arp_") && k != "net.ipv4.ip_forward", "client sysctl \(k)")
            default: break
            }
        }
    }

    @Test func arpFixOff() throws {
        let steps = try plan("dr-basic", ["arp_fix=false"]).steps
        for rs in reals {
            for scope in ["all", "lo"] {
                #expect(steps.contains(.setSysctl(namespace: rs.ns, key: "net.ipv4.conf.\(scope).arp_ignore", value: "0")))
                #expect(steps.contains(.setSysctl(namespace: rs.ns, key: "net.ipv4.conf.\(scope).arp_announce", value: "0")))
            }
            // The VIP still sits on lo: that is what makes the ARP flux visible.
            #expect(steps.contains(.addAddress(namespace: rs.ns, link: "lo", address: vip32)))
        }
        let arpValues = steps.compactMap { s -> String? in
            if case .setSysctl(_, let k, let v) = s, k.contains("arp_ignore") || k.contains("arp_announce") { return v }
            return nil
        }
        #expect(arpValues.count == 8)
        #expect(arpValues.allSatisfy { $0 == "0" })
    }

    @Test func masqRealServer() throws {
        let steps = try plan("dr-basic", ["rs1.forward=masq"]).steps
        #expect(steps.contains(.addDestination(namespace: drDispatcher, service: service,
                                               destination: PlannedDestination(address: ip("198.51.100.21"), port: 80, forward: "masq", weight: 1))))
        #expect(steps.contains(.addDestination(namespace: drDispatcher, service: service,
                                               destination: PlannedDestination(address: ip("198.51.100.22"), port: 80, forward: "route", weight: 1))))
    }

    @Test func nothingOutsideTheLabsNamespaces() throws {
        for overrides in [[], ["arp_fix=false"], ["rs1.forward=masq"]] {
            let steps = try plan("dr-basic", overrides).steps
            for s in steps {
                for ns in s.namespacesTouched {
                    #expect(ns.hasPrefix("lblab-dr-basic-"), "step \(s) acts in \(ns)")
                    #expect(drNamespaces.contains(ns), "step \(s) acts in unknown namespace \(ns)")
                    #expect(!ns.isEmpty)
                }
            }
        }
    }

    // MARK: ordering

    @Test func namespaceCreatedBeforeAnythingInIt() throws {
        let steps = try plan("dr-basic").steps
        for ns in drNamespaces {
            let created = steps.position(of: .createNamespace(name: ns))
            for (i, s) in steps.enumerated() where s.namespacesTouched.contains(ns) && s != .createNamespace(name: ns) {
                #expect(created < i, "step \(i) \(s) before \(ns) exists")
            }
        }
    }

    @Test func linkOrdering() throws {
        let steps = try plan("dr-basic").steps
        let bridge = steps.position(of: .createBridge(namespace: drSwitch, name: "br0"))
        for n in nodes {
            let veth = steps.position(of: .createVeth(namespace: drSwitch, name: n.name, peerNamespace: n.ns, peerName: "eth0"))
            let master = steps.position(of: .setMaster(namespace: drSwitch, link: n.name, master: "br0"))
            let portUp = steps.position(of: .setUp(namespace: drSwitch, link: n.name))
            let addr = steps.position(of: .addAddress(namespace: n.ns, link: "eth0", address: prefix(n.address)))
            let ethUp = steps.position(of: .setUp(namespace: n.ns, link: "eth0"))
            #expect(bridge < master)
            #expect(veth < master, "veth before setMaster for \(n.name)")
            #expect(veth < portUp)
            #expect(veth < addr, "eth0 exists before its address")
            #expect(veth < ethUp)
        }
    }

    @Test func ipvsOrdering() throws {
        let steps = try plan("dr-basic").steps
        let vipOnDispatcher = steps.position(of: .addAddress(namespace: drDispatcher, link: "eth0", address: vip32))
        let dispatcherEth0 = steps.position(of: .createVeth(namespace: drSwitch, name: "dispatcher", peerNamespace: drDispatcher, peerName: "eth0"))
        let svc = steps.position(of: .addService(namespace: drDispatcher, service: service))
        #expect(dispatcherEth0 < vipOnDispatcher)
        #expect(vipOnDispatcher < svc, "VIP on the dispatcher before the service")
        for (i, s) in steps.enumerated() {
            if case .addDestination = s { #expect(svc < i, "service before its destination") }
        }
    }

    @Test func realServerReadyBeforeItsAgentAndDestination() throws {
        let steps = try plan("dr-basic").steps
        for rs in reals {
            let agent = steps.position(of: .startAgent(namespace: rs.ns, node: rs.name, port: 80))
            let lo = steps.position(of: .addAddress(namespace: rs.ns, link: "lo", address: vip32))
            let loUp = steps.position(of: .setUp(namespace: rs.ns, link: "lo"))
            let ignore = steps.position(of: .setSysctl(namespace: rs.ns, key: "net.ipv4.conf.all.arp_ignore", value: "1"))
            #expect(loUp < lo)
            #expect(lo < agent)
            #expect(ignore < agent)
            // The VIP on lo and the ARP fix: in that order the real server never answers ARP for
            // the VIP with the fix on. (Both happen before traffic, so only relative order here.)
            #expect(steps.position(of: .createNamespace(name: rs.ns)) < agent)
        }
    }

    // MARK: seed-dr

    @Test func seedDRPlan() throws {
        let p = try plan("seed-dr")
        let steps = p.steps
        #expect(p.lab == "seed-dr")
        #expect(steps.first == .createNamespace(name: "lblab-seed-dr-switch"))
        #expect(Set(steps.createdNamespaces) == ["lblab-seed-dr-switch", "lblab-seed-dr-client", "lblab-seed-dr-dispatcher",
                                                 "lblab-seed-dr-web1", "lblab-seed-dr-web2"])
        let svc = PlannedService(proto: "tcp", address: ip("192.168.219.100"), port: 80, scheduler: "rr")
        #expect(steps.contains(.addAddress(namespace: "lblab-seed-dr-dispatcher", link: "eth0", address: prefix("192.168.219.100/32"))))
        #expect(steps.contains(.addAddress(namespace: "lblab-seed-dr-dispatcher", link: "eth0", address: prefix("192.168.219.134/24"))))
        #expect(steps.contains(.addService(namespace: "lblab-seed-dr-dispatcher", service: svc)))
        for (node, rip) in [("web1", "192.168.219.135"), ("web2", "192.168.219.136")] {
            #expect(steps.contains(.addDestination(namespace: "lblab-seed-dr-dispatcher", service: svc,
                                                   destination: PlannedDestination(address: ip(rip), port: 80, forward: "route", weight: 1))))
            #expect(steps.contains(.addAddress(namespace: "lblab-seed-dr-\(node)", link: "lo", address: prefix("192.168.219.100/32"))))
        }
        for s in steps { for ns in s.namespacesTouched { #expect(ns.hasPrefix("lblab-seed-dr-")) } }
    }

    @Test func planIsDeterministic() throws {
        #expect(try plan("dr-basic") == plan("dr-basic"))
    }

    @Test func planRoundTripsThroughJSON() throws {
        let p = try plan("dr-basic")
        let data = try JSONEncoder().encode(p)
        #expect(try JSONDecoder().decode(Plan.self, from: data) == p)
    }
}
