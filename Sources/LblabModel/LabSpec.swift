import LblabTypes

/// How the dispatcher forwards requests to the real servers (the lab's LVS method).
public enum LabMode: String, Codable, Sendable, CaseIterable {
    case dr, nat, tun
}

/// What a node is in the lab.
public enum NodeRole: String, Codable, Sendable, CaseIterable {
    case client, dispatcher, real
}

/// IPVS forwarding method of one real server, named as `ipvsadm -Ln` prints it.
public enum Forwarding: String, Codable, Sendable, CaseIterable {
    /// Direct routing (`-g`, gatewaying): only the destination MAC changes.
    case route
    /// NAT (`-m`, masquerading): the destination address is rewritten.
    case masq
    /// IP-in-IP tunnelling (`-i`).
    case tunnel

    public var ipvsadmFlag: String {
        switch self {
        case .route: "-g"
        case .masq: "-m"
        case .tunnel: "-i"
        }
    }
}

/// IPVS schedulers the kernel ships (`net/netfilter/ipvs/ip_vs_*.c`).
public let knownSchedulers = ["rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "dh", "lblc", "lblcr", "mh", "fo", "ovf"]

/// The virtual service: the VIP the client talks to.
public struct ServiceSpec: Codable, Sendable, Equatable {
    public var vip: IPv4Address
    public var port: UInt16
    public var proto: String
    public var scheduler: String
}

/// One node of the lab: a network namespace with one interface on the lab's segment.
public struct NodeSpec: Codable, Sendable, Equatable {
    public var name: String
    public var role: NodeRole
    public var address: IPv4Interface
    /// IPVS weight (real servers only).
    public var weight: Int
    /// IPVS forwarding method (real servers only); the lab's mode gives the default.
    public var forward: Forwarding
}

/// The traffic `lblab test` sends from the client.
public struct TrafficSpec: Codable, Sendable, Equatable {
    public var connections: Int
    public var concurrency: Int
    /// Seconds before one connection counts as failed.
    public var timeout: Double
}

/// What the distribution of connections over the real servers must be.
public enum DistributionRule: String, Codable, Sendable, CaseIterable {
    /// What the scheduler guarantees (rr: equal within 1; wrr: by weight).
    case scheduler
    /// Equal within 1 over servers with weight > 0.
    case equal
    /// Proportional to the weights.
    case weights
    /// Not checked (only that client and capture agree).
    case none
}

/// The packet-path rule set to check.
public enum PathRule: String, Codable, Sendable, CaseIterable {
    /// The rules of the lab's mode (DR: via the dispatcher in, straight back out).
    case mode
    /// Direct-routing rules, whatever the forwarding.
    case dr
    case none
}

/// Who may answer ARP for the VIP.
public enum ARPRule: String, Codable, Sendable, CaseIterable {
    case dispatcherOnly = "dispatcher-only"
    case none
}

/// What `lblab test` asserts.
public struct ExpectSpec: Codable, Sendable, Equatable {
    public var distribution: DistributionRule
    public var path: PathRule
    public var arp: ARPRule
}

/// A validated lab: everything needed to plan, run and judge it.
public struct LabSpec: Codable, Sendable, Equatable {
    public var name: String
    public var description: String
    public var mode: LabMode
    public var service: ServiceSpec
    /// `arp_ignore=1` / `arp_announce=2` on the real servers (the article's ARP-flux fix).
    public var arpFix: Bool
    /// Nodes in file order.
    public var nodes: [NodeSpec]
    public var traffic: TrafficSpec
    public var expect: ExpectSpec
    /// The file it came from, if any.
    public var source: String?

    public var client: NodeSpec { nodes.first { $0.role == .client }! }
    public var dispatcher: NodeSpec { nodes.first { $0.role == .dispatcher }! }
    public var realServers: [NodeSpec] { nodes.filter { $0.role == .real } }

    public func node(named name: String) -> NodeSpec? { nodes.first { $0.name == name } }
}

extension LabSpec {
    /// What the kernel holds for this lab: everything but traffic, expectations and source,
    /// which may change from one `lblab test` of a running lab to the next.
    public var topology: LabSpec {
        var t = self
        t.traffic = TrafficSpec(connections: 0, concurrency: 0, timeout: 0)
        t.expect = ExpectSpec(distribution: .none, path: .none, arp: .none)
        t.description = ""
        t.source = nil
        return t
    }
}
