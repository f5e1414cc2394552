import LblabModel
import LblabTypes

/// Turns a validated lab into the plan that builds it.
public enum Planner {
    public static func plan(_ lab: LabSpec) -> Plan {
        var entries: [Plan.Entry] = []
        func add(_ step: Step, _ why: String) { entries.append(.init(step: step, why: why)) }

        let sw = LabNames.switchNamespace(lab: lab.name)
        add(.createNamespace(name: sw), "the lab's switch: a namespace of its own, so nothing touches the root namespace")
        quietIPv6(sw, add)
        add(.createBridge(namespace: sw, name: LabNames.bridge), "one Ethernet segment for every node")
        add(.setUp(namespace: sw, link: LabNames.bridge), "")

        for node in lab.nodes {
            let ns = LabNames.namespace(lab: lab.name, node: node.name)
            let port = LabNames.switchPort(node: node.name)
            let eth = LabNames.nodeInterface
            add(.createNamespace(name: ns), "node \(node.name) (\(node.role.rawValue)): its own network stack")
            quietIPv6(ns, add)
            add(.setUp(namespace: ns, link: "lo"), "")
            add(.createVeth(namespace: sw, name: port, peerNamespace: ns, peerName: eth), "a cable from the switch to \(node.name)")
            add(.setMaster(namespace: sw, link: port, master: LabNames.bridge), "plug it into the bridge")
            add(.setUp(namespace: sw, link: port), "")
            add(.addAddress(namespace: ns, link: eth, address: node.address), "\(node.name)'s own address")
            add(.setUp(namespace: ns, link: eth), "")
        }

        let d = lab.dispatcher
        let dns = LabNames.namespace(lab: lab.name, node: d.name)
        let vip = IPv4Interface(address: lab.service.vip, prefixLength: 32)
        add(.addAddress(namespace: dns, link: LabNames.nodeInterface, address: vip),
            "the VIP on the dispatcher's interface (the article: ifconfig ens32:0 VIP up)")
        add(.setSysctl(namespace: dns, key: "net.ipv4.ip_forward", value: "1"), "the article turns forwarding on for the dispatcher")
        let service = PlannedService(proto: lab.service.proto, address: lab.service.vip, port: lab.service.port, scheduler: lab.service.scheduler)
        add(.addService(namespace: dns, service: service), "the virtual service, scheduler \(service.scheduler)")
        for rs in lab.realServers {
            let dest = PlannedDestination(address: rs.address.address, port: lab.service.port, forward: rs.forward.rawValue, weight: rs.weight)
            add(.addDestination(namespace: dns, service: service, destination: dest),
                "real server \(rs.name), forwarding \(rs.forward.rawValue), weight \(rs.weight)")
        }

        for rs in lab.realServers {
            let ns = LabNames.namespace(lab: lab.name, node: rs.name)
            if rs.forward == .route {
                add(.addAddress(namespace: ns, link: "lo", address: vip),
                    "DR: the real server accepts packets for the VIP on lo (the article: ifconfig lo:0 VIP netmask 255.255.255.255)")
            }
            let (ignore, announce) = lab.arpFix ? ("1", "2") : ("0", "0")
            let fix = lab.arpFix ? "ARP fix" : "ARP fix OFF (ARP flux)"
            for scope in ["all", "lo"] {
                add(.setSysctl(namespace: ns, key: "net.ipv4.conf.\(scope).arp_ignore", value: ignore),
                    lab.arpFix ? "\(fix): answer ARP only for addresses on the receiving interface, so the VIP on lo stays hidden" : "\(fix): answer ARP for any local address, the VIP on lo included")
                add(.setSysctl(namespace: ns, key: "net.ipv4.conf.\(scope).arp_announce", value: announce),
                    lab.arpFix ? "\(fix): never use the VIP as the source of this server's own ARP requests" : "\(fix): this server's ARP requests may carry the VIP as sender")
            }
            for scope in ["all", LabNames.nodeInterface] {
                add(.setSysctl(namespace: ns, key: "net.ipv4.conf.\(scope).rp_filter", value: "0"),
                    "DR: requests to the VIP arrive on eth0 although the VIP lives on lo; strict reverse-path filtering would drop them")
            }
            add(.startAgent(namespace: ns, node: rs.name, port: lab.service.port),
                "the built-in HTTP server of \(rs.name), answering with its name on every address, the VIP included")
        }
        return Plan(lab: lab.name, entries: entries)
    }

    /// No IPv6 on lab interfaces: keeps router solicitations and MLD out of the captures.
    private static func quietIPv6(_ ns: String, _ add: (Step, String) -> Void) {
        add(.setSysctl(namespace: ns, key: "net.ipv6.conf.all.disable_ipv6", value: "1"), "IPv4 only: keeps IPv6 chatter out of the captures")
        add(.setSysctl(namespace: ns, key: "net.ipv6.conf.default.disable_ipv6", value: "1"), "")
    }
}
