import LblabModel
import LblabTypes

/// Turns a validated lab into the plan that builds it: the switch and its segments, every node's
/// interfaces, addresses and routes, then the dispatchers (VIPs, forwarding, IPVS table), then the
/// real servers (VIP, tunnel, ARP fix, reverse-path filter, agent) as their forwarding needs.
public enum Planner {
    public static func plan(_ lab: LabSpec) -> Plan {
        var b = Builder()
        let sw = LabNames.switchNamespace(lab: lab.name)
        b.add(.createNamespace(name: sw), "the lab's switch: a namespace of its own, so nothing touches the root namespace")
        b.quietIPv6(sw, why: lab.usesIPv6 ? "the switch holds no address: IPv6 off there, its bridges forward the lab's IPv6 all the same" : nil)
        for segment in lab.segments {
            let bridge = LabNames.bridge(segment: segment.name)
            b.add(.createBridge(namespace: sw, name: bridge), "segment \(segment.name): one Ethernet bridge")
            b.add(.setUp(namespace: sw, link: bridge), "")
        }
        for node in lab.nodes { plumb(node, lab, &b) }
        if !lab.mode.usesIPVS {
            dnsServers(lab, &b)
            return Plan(lab: lab.name, entries: b.entries)
        }
        for node in lab.dispatchers { dispatcher(node, lab, &b) }
        for node in lab.realServers { realServer(node, lab, &b) }
        keepaliveds(lab, &b)
        return Plan(lab: lab.name, entries: b.entries)
    }

    struct Builder {
        var entries: [Plan.Entry] = []
        mutating func add(_ step: Step, _ why: String) { entries.append(.init(step: step, why: why)) }

        /// No IPv6 on lab interfaces: keeps router solicitations and MLD out of the captures.
        mutating func quietIPv6(_ ns: String, why: String? = nil) {
            add(.setSysctl(namespace: ns, key: "net.ipv6.conf.all.disable_ipv6", value: "1"), why ?? "IPv4 only: keeps IPv6 chatter out of the captures")
            add(.setSysctl(namespace: ns, key: "net.ipv6.conf.default.disable_ipv6", value: "1"), "")
        }

        /// IPv6 on, set before the node's links exist (new links copy `default`): no duplicate
        /// address detection, so addresses work at once, and no router solicitations in the captures.
        mutating func enableIPv6(_ ns: String) {
            add(.setSysctl(namespace: ns, key: "net.ipv6.conf.all.disable_ipv6", value: "0"), "IPv6 lab: IPv6 on")
            add(.setSysctl(namespace: ns, key: "net.ipv6.conf.default.disable_ipv6", value: "0"), "")
            add(.setSysctl(namespace: ns, key: "net.ipv6.conf.all.accept_dad", value: "0"),
                "no duplicate address detection: link-local addresses usable at once (lab addresses are added nodad)")
            add(.setSysctl(namespace: ns, key: "net.ipv6.conf.default.accept_dad", value: "0"), "")
            add(.setSysctl(namespace: ns, key: "net.ipv6.conf.default.router_solicitations", value: "0"), "no router solicitations: there is no router to find")
        }
    }

    /// The node's namespace, one cable per interface into its segment's bridge, addresses, routes.
    static func plumb(_ node: NodeSpec, _ lab: LabSpec, _ b: inout Builder) {
        let sw = LabNames.switchNamespace(lab: lab.name)
        let ns = LabNames.namespace(lab: lab.name, node: node.name)
        b.add(.createNamespace(name: ns), "node \(node.name) (\(node.role.rawValue)): its own network stack")
        // A DNS lab's client keeps IPv6 like any host: with a link-local address glibc sorts IPv4
        // answers (RFC 6724 rule 9), without one it does not (see LblabDNS/AddressSorting.swift).
        if lab.usesIPv6 || (!lab.mode.usesIPVS && node.role == .client) { b.enableIPv6(ns) } else { b.quietIPv6(ns) }
        b.add(.setUp(namespace: ns, link: "lo"), "")
        for interface in node.interfaces {
            let port = LabNames.switchPort(node: node, interface: interface)
            b.add(.createVeth(namespace: sw, name: port, peerNamespace: ns, peerName: interface.name),
                  "a cable from segment \(interface.segment) to \(node.name)'s \(interface.name)")
            b.add(.setMaster(namespace: sw, link: port, master: LabNames.bridge(segment: interface.segment)), "plug it into the bridge")
            b.add(.setUp(namespace: sw, link: port), "")
            for (i, a) in interface.addresses.enumerated() {
                b.add(.addAddress(namespace: ns, link: interface.name, address: a), i == 0 ? "\(node.name)'s own address" : "")
            }
            b.add(.setUp(namespace: ns, link: interface.name), "")
        }
        for r in node.routes {
            let why = r.isDefault
                ? (node.role == .real && node.forward == .masq ? "NAT: the real server answers through the dispatcher, its default gateway" : "the default route")
                : "a route to \(r.destination)"
            b.add(.addRoute(namespace: ns, route: PlannedRoute(destination: r.destination, gateway: r.gateway, link: r.interface)), why)
        }
    }

    /// The VIPs on the dispatcher's interface, forwarding, and the IPVS table (the article's ipvsadm -A / -a).
    static func dispatcher(_ node: NodeSpec, _ lab: LabSpec, _ b: inout Builder) {
        let ns = LabNames.namespace(lab: lab.name, node: node.name)
        // A VRRP pair: both hold the same IPVS table, keepalived puts the VIP on the MASTER.
        let services = lab.services.filter { s in lab.dispatchers(of: s).contains { $0.name == node.name } }
        for s in onePerVIP(services) where node.vrrp == nil {
            b.add(.addAddress(namespace: ns, link: vipInterface(of: node, for: s, lab).name, address: IPInterface(host: s.vip)),
                  "the VIP of \(s.name) on the dispatcher (the article: ifconfig ens32:0 VIP netmask 255.255.255.0 up)")
        }
        b.add(.setSysctl(namespace: ns, key: "net.ipv4.ip_forward", value: node.ipForward ? "1" : "0"),
              node.ipForward ? "forwarding on (the article: echo 1 > /proc/sys/net/ipv4/ip_forward); NAT replies pass the FORWARD path"
                             : "forwarding OFF: NAT replies cannot pass the dispatcher")
        if node.families.contains(.ipv6) {
            b.add(.setSysctl(namespace: ns, key: "net.ipv6.conf.all.forwarding", value: node.ipForward ? "1" : "0"),
                  node.ipForward ? "IPv6 forwarding on: NAT replies pass the FORWARD path" : "IPv6 forwarding OFF: NAT replies cannot pass the dispatcher")
        }
        if let t = node.ipvsTimeouts, !services.isEmpty {
            b.add(.setIPVSTimeouts(namespace: ns, timeouts: t),
                  "IPVS timeouts tcp, tcpfin, udp (0: kernel's): a closed connection's entry, and the persistence template it holds, lives tcpfin s")
        }
        for s in services where !ownedByKeepalived(s) {
            let service = PlannedService(proto: s.proto, address: s.vip, port: s.port, scheduler: s.scheduler,
                                         persistence: s.persistence?.timeout, persistencePrefix: s.persistence?.prefixLength,
                                         onePacket: s.onePacket)
            b.add(.addService(namespace: ns, service: service), "the virtual service \(s.name), scheduler \(s.scheduler.rawValue)")
            for name in s.servers {
                guard let rs = lab.node(named: name), let rip = serverAddress(rs, towards: node, family: s.vip.family) else { continue }
                let dest = PlannedDestination(address: rip.address, port: s.port, forward: rs.forward, weight: rs.weight,
                                              upperThreshold: rs.upperThreshold, lowerThreshold: rs.lowerThreshold)
                b.add(.addDestination(namespace: ns, service: service, destination: dest),
                      "real server \(rs.name), forwarding \(rs.forward.rawValue) (\(rs.forward.ipvsadmFlag)), weight \(rs.weight)")
            }
        }
    }

    /// What the real server's forwarding method needs, then its agent.
    static func realServer(_ node: NodeSpec, _ lab: LabSpec, _ b: inout Builder) {
        let ns = LabNames.namespace(lab: lab.name, node: node.name)
        let services = lab.services.filter { $0.servers.contains(node.name) }
        var links = node.interfaces.map(\.name)
        switch node.forward {
        case .route:
            for s in onePerVIP(services) {
                let link = node.vipOn ?? "lo"
                let why: String
                switch (s.vip.family, link == "lo") {
                case (.ipv4, true): why = "DR: the real server accepts packets for the VIP of \(s.name) on lo (the article: ifconfig lo:0 VIP netmask 255.255.255.255)"
                case (.ipv6, true): why = "DR: the VIP of \(s.name) on lo as a /128; Linux answers neighbour solicitations only for addresses of the receiving interface, so it stays hidden from the segment"
                case (_, false): why = "DR with the VIP of \(s.name) on \(link), a segment interface (vip_on: \(link)): this server answers \(s.vip.family == .ipv4 ? "ARP" : "neighbour solicitations") for the VIP too"
                }
                b.add(.addAddress(namespace: ns, link: link, address: IPInterface(host: s.vip)), why)
            }
        case .tunnel:
            let dispatcher = services.first.flatMap { lab.node(named: $0.dispatcher) }
            if node.tunnel, let local = dispatcher.flatMap({ serverAddress(node, towards: $0) }) ?? node.address {
                b.add(.createTunnel(namespace: ns, name: LabNames.tunnel, local: local.address),
                      "TUN: an IP-in-IP interface that unwraps what the dispatcher tunnels to \(local.address)")
                b.add(.setUp(namespace: ns, link: LabNames.tunnel), "")
                for s in onePerVIP(services) {
                    b.add(.addAddress(namespace: ns, link: LabNames.tunnel, address: IPInterface(host: s.vip)),
                          "TUN: the VIP of \(s.name) on the tunnel interface, so the unwrapped request is local")
                }
                links.append(LabNames.tunnel)
            } else {
                for s in onePerVIP(services) {
                    b.add(.addAddress(namespace: ns, link: node.vipOn ?? "lo", address: IPInterface(host: s.vip)),
                          "TUN without a tunnel interface (tunnel: false): the VIP on lo, and nothing unwraps the dispatcher's IP-in-IP")
                }
            }
        case .masq:
            break
        }
        if node.forward != .masq, node.families.contains(.ipv4) { arpFix(ns, lab.arpFix, &b) }
        // rp_filter is IPv4's (IPv6 has no reverse-path filter in the kernel's routing).
        if let rp = node.rpFilter, node.families.contains(.ipv4) {
            for scope in ["all"] + links {
                b.add(.setSysctl(namespace: ns, key: "net.ipv4.conf.\(scope).rp_filter", value: String(rp)),
                      rp == 0 ? "requests to the VIP arrive from the client on an interface the VIP does not live on: strict reverse-path filtering would drop them"
                              : "rp_filter \(rp) (\(rp == 1 ? "strict" : "loose")): the kernel checks the source's reverse path")
            }
        }
        if node.ipForward { b.add(.setSysctl(namespace: ns, key: "net.ipv4.ip_forward", value: "1"), "forwarding on") }
        if node.ipForward, node.families.contains(.ipv6) {
            b.add(.setSysctl(namespace: ns, key: "net.ipv6.conf.all.forwarding", value: "1"), "IPv6 forwarding on")
        }
        // One agent per port the node's services use: it serves TCP and UDP on it (the step names
        // the protocol of the first service on the port).
        var ports: [(UInt16, TransportProtocol)] = []
        for s in services where !ports.contains(where: { $0.0 == s.port }) { ports.append((s.port, s.proto)) }
        for (port, proto) in ports {
            b.add(.startAgent(namespace: ns, node: node.name, port: port, proto: proto),
                  proto == .udp ? "the built-in UDP echo of \(node.name) on port \(port), answering each datagram with its name, on every address, the VIP included"
                                : "the built-in HTTP server of \(node.name) on port \(port), answering with its name on every address, the VIP included")
        }
    }

    /// The first service of each VIP: services may share a VIP (ports 80 and 443), a node holds it once.
    static func onePerVIP(_ services: [ServiceSpec]) -> [ServiceSpec] {
        var seen = Set<IPAddress>()
        return services.filter { seen.insert($0.vip).inserted }
    }

    static func arpFix(_ ns: String, _ on: Bool, _ b: inout Builder) {
        let (ignore, announce) = on ? ("1", "2") : ("0", "0")
        let fix = on ? "ARP fix" : "ARP fix OFF (ARP flux)"
        for scope in ["all", "lo"] {
            b.add(.setSysctl(namespace: ns, key: "net.ipv4.conf.\(scope).arp_ignore", value: ignore),
                  on ? "\(fix): answer ARP only for addresses on the receiving interface, so the VIP stays hidden" : "\(fix): answer ARP for any local address, the VIP included")
            b.add(.setSysctl(namespace: ns, key: "net.ipv4.conf.\(scope).arp_announce", value: announce),
                  on ? "\(fix): never use the VIP as the source of this server's own ARP requests" : "\(fix): this server's ARP requests may carry the VIP as sender")
        }
    }

    /// The dispatcher interface that holds a service's VIP: the one whose subnet contains it,
    /// else the one the traffic client's route to it goes through, else the first.
    public static func vipInterface(of dispatcher: NodeSpec, for service: ServiceSpec, _ lab: LabSpec) -> InterfaceSpec {
        if let hit = dispatcher.interface(onLinkWith: service.vip) { return hit.interface }
        let gateways = lab.clients.flatMap(\.routes).filter { $0.destination.contains(service.vip) }.compactMap(\.gateway)
        for gw in gateways { if let hit = dispatcher.interface(onLinkWith: gw) { return hit.interface } }
        return dispatcher.interfaces[0]
    }

    /// The real server's address in a subnet it shares with the dispatcher (what IPVS forwards to),
    /// of `family` when given (a service's destinations are of its VIP's family).
    public static func serverAddress(_ server: NodeSpec, towards dispatcher: NodeSpec, family: IPFamily? = nil) -> IPInterface? {
        for i in server.interfaces {
            for a in i.addresses where (family.map { a.family == $0 } ?? true) && dispatcher.interfaces.contains(where: { $0.segment == i.segment && $0.addresses.contains { $0.contains(a.address) } }) {
                return a
            }
        }
        return nil
    }
}
