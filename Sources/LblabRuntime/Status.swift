import Foundation
import LblabModel
import LblabNetlink
import LblabPlan
import LblabSystem

/// A running lab as the kernel holds it, read back over netlink.
public struct LabStatus: Sendable, Codable {
    public struct Node: Sendable, Codable {
        public var name: String
        public var role: String
        public var namespace: String
        public var present: Bool
        public var mac: String?
        /// `address/prefix dev` for every IPv4 address in the node.
        public var addresses: [String]
        public var agentPID: Int32?
        public var agentAlive: Bool?
    }

    public struct Destination: Sendable, Codable {
        public var address: String
        public var port: UInt16
        public var forward: String
        public var weight: UInt32
        public var activeConnections: UInt32
        public var inactiveConnections: UInt32
        public var connections: UInt64
        public var inPackets: UInt64
        public var outPackets: UInt64
    }

    public struct Service: Sendable, Codable {
        public var proto: String
        public var address: String
        public var port: UInt16
        public var scheduler: String
        public var connections: UInt64
        public var destinations: [Destination]
    }

    public var lab: String
    public var phase: String
    public var since: Date
    public var mode: String
    public var nodes: [Node]
    public var ipvsVersion: String?
    public var ipvsTableSize: UInt32?
    /// The services with their counters (for `--json`).
    public var services: [Service]
    /// Each dispatcher's IPVS table as read from the kernel (none for a dispatcher whose
    /// namespace is missing).
    public var ipvs: [DispatcherTable]

    /// One dispatcher's IPVS table.
    public struct DispatcherTable: Sendable, Codable {
        public var dispatcher: String
        public var namespace: String
        public var listing: IPVSListing
    }

    /// The IPVS tables, each exactly as `ipvsadm -Ln` prints it in its dispatcher's namespace
    /// (without the final newline); with several dispatchers, each after a line naming it.
    public var ipvsTable: String {
        if mode == "dns" { return "no IPVS: a DNS round-robin lab (its servers are the dns, resolver and web nodes above)" }
        if ipvs.isEmpty {
            return "no IPVS table: the dispatcher's namespace is missing (lblab down \(lab), then lblab up \(lab))"
        }
        if ipvs.count == 1 { return String(ipvs[0].listing.render().dropLast()) }
        return ipvs.map { "dispatcher \($0.dispatcher) (ip netns exec \($0.namespace) ipvsadm -Ln):\n" + $0.listing.render() }
            .joined(separator: "\n").dropLast().description
    }
}

extension String {
    /// The string padded with spaces to `n` characters (column layout of text reports).
    public func padding(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}

extension LabRuntime {
    /// Status of every lab with state, or of `lab`.
    public func status(_ lab: String? = nil) throws -> [LabStatus] {
        try Self.requireRoot()
        let labs = lab.map { [$0] } ?? store.labs()
        if let lab, try store.load(lab) == nil { throw RuntimeError.notUp(lab: lab) }
        return try labs.compactMap { try store.load($0) }.map { try status(of: $0) }
    }

    func status(of state: LabState, handles: LabHandles = LabHandles()) throws -> LabStatus {
        let spec = state.spec
        var nodes: [LabStatus.Node] = []
        for n in spec.nodes {
            let nsName = LabNames.namespace(lab: spec.name, node: n.name)
            // A real server's agent, or a DNS lab's server process (agent, dnsmasq, unbound).
            let pid = state.agents.first { $0.node == n.name }?.pid ?? state.daemons?.first { $0.node == n.name }?.pid
            var node = LabStatus.Node(name: n.name, role: n.role.rawValue, namespace: nsName, present: NetworkNamespace.exists(nsName),
                                      mac: nil, addresses: [], agentPID: pid, agentAlive: pid.map { Processes.isAlive($0) })
            if node.present {
                let route = try handles.route(nsName)
                let links = try route.links()
                node.mac = links.first { $0.name == n.interfaces.first?.name }?.mac?.description
                let names = Dictionary(links.map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a })
                node.addresses = try route.addresses().filter(\.isLabAddress).map {
                    "\($0.address) dev \(names[$0.linkIndex] ?? "?")"
                }
            }
            nodes.append(node)
        }
        var status = LabStatus(lab: spec.name, phase: state.phase.rawValue, since: state.startedAt, mode: spec.mode.rawValue,
                               nodes: nodes, ipvsVersion: nil, ipvsTableSize: nil, services: [], ipvs: [])
        for dispatcher in spec.dispatchers {
            let dns = LabNames.namespace(lab: spec.name, node: dispatcher.name)
            guard NetworkNamespace.exists(dns) else { continue }
            let ipvs = try handles.ipvs(dns)
            let info = try ipvs.info()
            status.ipvsVersion = info.versionString
            status.ipvsTableSize = info.connectionTableSize
            var listing = IPVSListing(version: info.version, connectionTableSize: info.connectionTableSize, services: [])
            for entry in try ipvs.services() {
                let s = entry
                let entries = try ipvs.destinations(of: s.key)
                listing.services.append(IPVSListing.Service(
                    key: .address(protocol: UInt16(s.key.proto.number), address: s.key.address, port: s.key.port),
                    scheduler: s.schedulerName, flags: s.flags, timeout: s.timeout, netmask: s.netmask,
                    destinations: entries.map {
                        IPVSListing.Destination(address: $0.destination.address, port: $0.destination.port,
                                                forwarding: $0.destination.forwarding.rawValue, weight: $0.destination.weight,
                                                activeConnections: $0.activeConnections, inactiveConnections: $0.inactiveConnections)
                    }))
                let dests = entries.map { d in
                    LabStatus.Destination(address: d.destination.address.description, port: d.destination.port,
                                          forward: d.destination.forwarding.ipvsadmName, weight: d.destination.weight,
                                          activeConnections: d.activeConnections, inactiveConnections: d.inactiveConnections,
                                          connections: d.stats.connections, inPackets: d.stats.inPackets, outPackets: d.stats.outPackets)
                }
                status.services.append(.init(proto: s.key.proto.rawValue, address: s.key.address.description,
                                             port: s.key.port, scheduler: s.schedulerName, connections: entry.stats.connections,
                                             destinations: dests))
            }
            status.ipvs.append(.init(dispatcher: dispatcher.name, namespace: dns, listing: listing))
        }
        return status
    }
}
