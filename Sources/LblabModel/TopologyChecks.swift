import LblabTypes

/// Checks across nodes and services: what each part alone cannot see.
extension LabValidator {
    /// The file's tree for a node (for a `count:` group member, the group's).
    func nodeTree(_ node: NodeSpec, _ top: LabTree) -> (key: String, tree: LabTree?) {
        let name = node.group ?? node.name
        return ("nodes.\(name)", top["nodes"]?[name])
    }

    /// The tree of an address of a node, for errors about it.
    func addressTree(_ node: NodeSpec, _ top: LabTree) -> (key: String, tree: LabTree?) {
        let (key, t) = nodeTree(node, top)
        if node.interfaces.count > 1 || t?["interfaces"] != nil {
            let i = node.interfaces[0].name
            return ("\(key).interfaces.\(i).address", t?["interfaces"]?[i]?["address"] ?? t?["interfaces"]?[i]?["addresses"] ?? t)
        }
        return t?["address"] != nil ? ("\(key).address", t?["address"]) : ("\(key).addresses", t?["addresses"] ?? t)
    }

    func serviceTree(_ index: Int, _ top: LabTree) -> (key: String, tree: LabTree?) {
        if let one = top["service"] { return ("service", one) }
        return ("services[\(index)]", top["services"]?.items?[index])
    }

    func checkTopology(_ spec: LabSpec, top: LabTree) throws {
        // Every address once, VIPs included.
        var used: [IPAddress: String] = [:]
        for (i, s) in spec.services.enumerated() {
            let (key, tree) = serviceTree(i, top)
            if let other = used[s.vip], !other.hasPrefix("service") {
                throw fail("\(key).vip", tree?["vip"], "\(s.vip) is already used by \(other)")
            }
            used[s.vip] = "service \(s.name)"
        }
        for n in spec.nodes {
            for interface in n.interfaces {
                for a in interface.addresses {
                    if let other = used[a.address] {
                        let (key, tree) = addressTree(n, top)
                        throw fail(key, tree, "\(a.address) is already used by \(other)")
                    }
                    used[a.address] = "\(n.name) (\(interface.name))"
                }
            }
        }
        // Every segment has an interface.
        let usedSegments = Set(spec.nodes.flatMap(\.segments))
        for s in spec.segments where !usedSegments.contains(s.name) {
            throw fail("segments.\(s.name)", top["segments"]?[s.name] ?? top["segments"], "no node has an interface on segment \(s.name)")
        }
        for (i, service) in spec.services.enumerated() {
            try checkService(service, index: i, spec, top: top)
        }
    }

    /// The dispatcher reaches each real server on a shared subnet, the client reaches the VIP.
    func checkService(_ service: ServiceSpec, index: Int, _ spec: LabSpec, top: LabTree) throws {
        let (key, tree) = serviceTree(index, top)
        guard let dispatcher = spec.node(named: service.dispatcher) else { return }
        let dispatcherSubnets = dispatcher.interfaces.flatMap { i in i.addresses.map { (i.segment, $0) } }
        for name in service.servers {
            guard let rs = spec.node(named: name) else { continue }
            if service.vip.family == .ipv6, rs.forward == .tunnel {
                let (k, t) = nodeTree(rs, top)
                throw fail("\(k).forward", t?["forward"] ?? tree?["vip"], "real server \(rs.name) would be reached by an IPv6 tunnel: lblab builds IP-in-IP (IPv4) tunnels only",
                           valid: "mode dr or nat for an IPv6 VIP (forward: route or masq)")
            }
            // IPVS forwards to an address of the VIP's family (IPv4 service, IPv4 real server).
            let family = service.vip.family
            let shared = rs.interfaces.contains { i in
                i.addresses.contains { a in a.family == family && dispatcherSubnets.contains { $0.0 == i.segment && $0.1.contains(a.address) } }
            }
            if !shared {
                let (k, t) = addressTree(rs, top)
                let subnets = dispatcherSubnets.filter { $0.1.family == family }
                throw fail(k, t, "real server \(rs.name) shares no subnet and segment with its dispatcher \(dispatcher.name) "
                               + "(\(subnets.isEmpty ? "none" : subnets.map { "\($0.1.subnet) on \($0.0)" }.joined(separator: ", "))): IPVS would accept it and then fail to reach it",
                           valid: "an address on a segment and subnet of \(dispatcher.name)")
            }
        }
        // The VIP is not a subnet's network or broadcast address.
        for (_, a) in dispatcherSubnets where a.contains(service.vip) && (service.vip == a.network || service.vip == a.broadcast) {
            throw fail("\(key).vip", tree?["vip"], "\(service.vip) is the " + (a.family == .ipv4 ? "network or broadcast" : "subnet-router anycast") + " address of \(a.subnet)")
        }
        // Each client that may send to it reaches the VIP: on-link with the dispatcher, or by a route.
        for client in spec.clients where spec.traffic.phases.contains(where: { $0.service == service.name && $0.clients.contains(client.name) }) {
            let onLink = client.interfaces.contains { i in
                i.addresses.contains { a in
                    a.contains(service.vip) && dispatcherSubnets.contains { $0.0 == i.segment && $0.1.subnet == a.subnet }
                }
            }
            let routed = client.routes.contains { $0.destination.contains(service.vip) }
            if !onLink && !routed {
                throw fail("\(key).vip", tree?["vip"],
                           "client \(client.name) cannot reach \(service.vip): it is in no subnet the client shares with \(dispatcher.name), and no route of the client covers it",
                           valid: "a VIP in a subnet of the segment the client and \(dispatcher.name) share, or a route on the client (routes: [{to: \(IPInterface(host: service.vip)), via: <dispatcher address>}])")
            }
        }
    }
}
