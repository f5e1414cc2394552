import LblabDNS
import LblabModel
import LblabTypes

/// The servers of a DNS lab: web servers' agents, then the DNS servers (dnsmasq), then the
/// resolvers (unbound), each a process in its node's namespace.
extension Planner {
    static func dnsServers(_ lab: LabSpec, _ b: inout Builder) {
        for role in [NodeRole.web, .dns, .resolver] {
            for node in lab.nodes(role) {
                guard let d = daemon(of: node, lab) else { continue }
                b.add(.startDaemon(namespace: LabNames.namespace(lab: lab.name, node: node.name), node: node.name, daemon: d), why(node, d))
            }
        }
    }

    /// The web servers' addresses, in file order: the A records of the lab's name.
    public static func webAddresses(_ lab: LabSpec) -> [IPv4Address] {
        lab.nodes(.web).compactMap { $0.address?.address.ipv4 }
    }

    /// The process a web, dns or resolver node runs.
    public static func daemon(of node: NodeSpec, _ lab: LabSpec) -> PlannedDaemon? {
        if node.role == .dispatcher { return keepalivedDaemon(of: node, lab) }
        guard let dns = lab.dns, let own = node.address?.address, let v4 = own.ipv4 else { return nil }
        switch node.role {
        case .web:
            let delay = node.dns?.delayMillis ?? 0
            return PlannedDaemon(kind: .agent, arguments: ["lblab-agent", "--name", node.name, "--port", "80"] + (delay > 0 ? ["--delay-ms", String(delay)] : []),
                                 lab: lab.name, address: own, port: 80)
        case .dns:
            let c = DNSServerConfig(listen: v4, name: dns.name, ttl: dns.ttl, addresses: webAddresses(lab))
            return PlannedDaemon(kind: .dnsmasq, arguments: c.arguments, lab: lab.name, address: own, port: 53)
        case .resolver:
            guard let up = node.dns?.upstream.flatMap({ lab.node(named: $0) })?.address?.address.ipv4 else { return nil }
            let c = ResolverConfig(listen: v4, upstream: up, name: dns.name, cache: node.dns?.cache ?? true, roundRobin: node.dns?.roundRobin ?? true)
            return PlannedDaemon(kind: .unbound, arguments: c.arguments(configPath: "{config}"), lab: lab.name,
                                 config: c.configuration, address: own, port: 53)
        case .client, .dispatcher, .real:
            return nil
        }
    }

    static func why(_ node: NodeSpec, _ d: PlannedDaemon) -> String {
        switch d.kind {
        case .agent:
            let delay = node.dns?.delayMillis ?? 0
            return "web server \(node.name): lblab's HTTP agent on port 80" + (delay > 0 ? ", \(delay) ms slow on every answer (an uneven server)" : "")
        case .keepalived: return "\(node.name): keepalived, checking the real servers and keeping the IPVS table"
        case .dnsmasq: return "\(node.name): the authoritative DNS server, one A record per web server; dnsmasq rotates their order on each answer"
        case .unbound:
            let cache = node.dns?.cache ?? true, rr = node.dns?.roundRobin ?? true
            return "\(node.name): a caching resolver (the article's carrier gateway proxy), " + (cache ? "keeping answers for their TTL" : "cache OFF (cache-max-ttl: 0)")
                + (rr ? ", rotating cached answers" : ", handing every client the cached order")
        }
    }
}
