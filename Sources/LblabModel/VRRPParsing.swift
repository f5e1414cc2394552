import LblabTypes

/// `vrrp:` on dispatchers and `sync:` at the top: a redundant dispatcher pair run by keepalived.
extension LabValidator {
    static let vrrpKeys = ["priority", "router_id", "advert_int", "interface"]

    /// `vrrp: {priority, router_id, advert_int, interface}` of one node (dispatchers only). The
    /// interface is checked here; its default (the one on the VIP's subnet) comes with the services.
    func parseVRRP(_ key: String, _ t: LabTree, role: NodeRole, interfaces: [InterfaceSpec]) throws -> (VRRPSpec, explicitInterface: Bool)? {
        guard let v = t["vrrp"] else { return nil }
        guard role == .dispatcher else {
            throw fail("\(key).vrrp", v, "only dispatchers run VRRP", valid: "vrrp: on the two dispatchers of a redundant pair")
        }
        let m = try mapping("\(key).vrrp", v, allowed: Self.vrrpKeys)!
        let p = try required("\(key).vrrp", m, "priority", valid: "1-254: the highest becomes MASTER, e.g. 150 on the primary and 100 on the backup")
        var spec = VRRPSpec(priority: try int("\(key).vrrp.priority", p, 1...254, default: 100),
                            routerID: try int("\(key).vrrp.router_id", m["router_id"], 1...255, default: 51),
                            advertInterval: try int("\(key).vrrp.advert_int", m["advert_int"], 1...255, default: 1),
                            interface: interfaces[0].name)
        if let i = m["interface"] {
            let name = try string("\(key).vrrp.interface", i)!
            guard interfaces.contains(where: { $0.name == name }) else {
                throw fail("\(key).vrrp.interface", i, "this node has no interface '\(name)'", valid: interfaces.map(\.name).joined(separator: ", "))
            }
            spec.interface = name
        }
        return (spec, m["interface"] != nil)
    }

    /// After the services: each VRRP dispatcher's interface on the VIPs' subnet, every dispatcher of a
    /// VRRP lab in VRRP, and `sync:`. Equal priorities or different router ids are valid here: they
    /// are the mistakes the `vrrp` rule shows on a running lab.
    func checkVRRP(_ spec: inout LabSpec, top: LabTree, explicitInterfaces: Set<String>) throws {
        let syncNode = top["sync"]
        guard spec.usesVRRP else {
            if let s = syncNode {
                throw fail("sync", s, "the connection sync daemon follows VRRP: this lab has no dispatcher with vrrp:",
                           valid: "vrrp: {priority: ...} on two dispatchers, or no sync:")
            }
            return
        }
        for d in spec.dispatchers where d.vrrp == nil {
            let (k, t) = nodeTree(d, top)
            throw fail(k, t, "dispatcher \(d.name) has no vrrp: but the lab's other dispatchers do: keepalived would never move the VIP to it",
                       valid: "vrrp: {priority: ...} on every dispatcher of a VRRP lab")
        }
        for (i, d) in spec.nodes.enumerated() where d.vrrp != nil {
            let (k, t) = nodeTree(d, top)
            for s in spec.services where s.dispatcher == d.name || spec.dispatchers(of: s).contains(where: { $0.name == d.name }) {
                guard let onLink = d.interface(onLinkWith: s.vip) else {
                    throw fail(k, t, "VRRP dispatcher \(d.name) has no interface on the subnet of VIP \(s.vip): keepalived could not hold it there",
                               valid: "an address in the VIP's subnet on each VRRP dispatcher")
                }
                if explicitInterfaces.contains(d.name) {
                    if onLink.interface.name != d.vrrp!.interface {
                        throw fail("\(k).vrrp.interface", t?["vrrp"]?["interface"], "VIP \(s.vip) is on the subnet of \(onLink.interface.name), not \(d.vrrp!.interface)",
                                   valid: onLink.interface.name)
                    }
                } else {
                    spec.nodes[i].vrrp!.interface = onLink.interface.name
                }
            }
        }
        spec.sync = try bool("sync", syncNode, default: false)
        if spec.sync == true, spec.vrrpDispatchers.count < 2 {
            throw fail("sync", syncNode, "connection sync needs a backup to sync to: this lab has one VRRP dispatcher", valid: "a second dispatcher with vrrp:, or sync: false")
        }
        // The path rules follow one dispatcher's MAC: traffic through the backup after a failover is no path they know.
        if top["expect"]?["path"] == nil { spec.expect.path = .none }
        if let a = top["expect"]?["arp"] {
            if spec.expect.arp == .dispatcherOnly {
                throw fail("expect.arp", a, "in a VRRP lab the MASTER of the moment answers ARP for the VIP, and the vrrp rule judges who that is",
                           valid: "none (or leave it out)")
            }
        } else {
            spec.expect.arp = .none
        }
    }
}

extension LabValidator {
    /// When every dispatcher runs VRRP: the one with the highest priority (the first on ties).
    static func vrrpPrimary(_ nodes: [ParsedNode]) -> String? {
        let dispatchers = nodes.map(\.spec).filter { $0.role == .dispatcher }
        guard !dispatchers.isEmpty, dispatchers.allSatisfy({ $0.vrrp != nil }) else { return nil }
        return dispatchers.enumerated().max { a, b in
            (a.element.vrrp!.priority, -a.offset) < (b.element.vrrp!.priority, -b.offset)
        }?.element.name
    }
}
