import LblabTypes

/// What a node is in the lab. A new role is a new case here: the compiler then points at every
/// place (plan, runtime, status) that must say what the role means.
public enum NodeRole: String, Codable, Sendable, CaseIterable {
    /// Sends the lab's traffic.
    case client
    /// Holds the VIP and the IPVS table.
    case dispatcher
    /// A real server behind a virtual service: runs lblab's built-in HTTP agent.
    case real
    /// DNS labs: the authoritative DNS server (dnsmasq) holding one A record per web server.
    case dns
    /// DNS labs: a caching resolver (unbound) between clients and the DNS server.
    case resolver
    /// DNS labs: a web server reached directly (no IPVS): runs lblab's built-in HTTP agent.
    case web
}

/// An Ethernet segment: one bridge in the lab's switch namespace.
public struct SegmentSpec: Codable, Sendable, Equatable {
    public var name: String

    public init(name: String) { self.name = name }
}

/// One interface of a node, plugged into a segment.
public struct InterfaceSpec: Codable, Sendable, Equatable {
    /// The name inside the node (`eth0`).
    public var name: String
    public var segment: String
    /// Addresses with their prefix; the first is the interface's primary address.
    public var addresses: [IPInterface]

    public init(name: String, segment: String, addresses: [IPInterface]) {
        self.name = name
        self.segment = segment
        self.addresses = addresses
    }
}

/// A route in a node's main table.
public struct RouteSpec: Codable, Sendable, Equatable {
    /// The destination prefix; `0.0.0.0/0` is the default route.
    public var destination: IPInterface
    public var gateway: IPAddress?
    /// The outgoing interface, when the route names one.
    public var interface: String?

    public init(destination: IPInterface, gateway: IPAddress?, interface: String? = nil) {
        self.destination = destination
        self.gateway = gateway
        self.interface = interface
    }

    public var isDefault: Bool { destination.prefixLength == 0 }
}

extension IPInterface {
    /// `0.0.0.0/0` or `::/0`.
    public static func defaultRoute(_ family: IPFamily) -> IPInterface {
        switch family {
        case .ipv4: IPInterface(address: .v4(IPv4Address(0)), prefixLength: 0)
        case .ipv6: IPInterface(address: .v6(IPv6Address(high: 0, low: 0)), prefixLength: 0)
        }
    }
}

/// One node of the lab: a network namespace with its interfaces, routes and role settings.
public struct NodeSpec: Codable, Sendable, Equatable {
    public var name: String
    public var role: NodeRole
    /// In file order; never empty.
    public var interfaces: [InterfaceSpec]
    public var routes: [RouteSpec]
    /// IPVS weight (real servers).
    public var weight: Int
    /// IPVS forwarding method (real servers); the lab's mode gives the default.
    public var forward: Forwarding
    /// `net.ipv4.ip_forward` (the article turns it on for the dispatcher).
    public var ipForward: Bool
    /// `rp_filter` written to `all` and to each interface; `nil` leaves the kernel's default.
    public var rpFilter: Int?
    /// TUN real servers: an IP-in-IP tunnel interface holding the VIP (off: no tunnel, VIP on lo).
    public var tunnel: Bool
    /// The `count:` group of the lab file this node was expanded from.
    public var group: String?
    /// IPVS upper connection threshold of a real server (`-x`; `nil`/0: none).
    public var upperThreshold: Int?
    /// IPVS lower connection threshold of a real server (`-y`; `nil`/0: 3/4 of the upper).
    public var lowerThreshold: Int?
    /// DR/TUN real servers without a tunnel: the link that holds the VIP (`nil`: `lo`, the fix;
    /// an interface on a segment makes the server answer ARP/NDP for the VIP).
    public var vipOn: String?
    /// DNS labs' settings of this node (`resolver:`, `upstream:`, `cache:`, `round_robin:`, `delay_ms:`).
    public var dns: DNSNodeSpec?
    /// Dispatchers of a redundant pair: keepalived VRRP holds the VIP (`vrrp:`; see VRRPSpec.swift).
    public var vrrp: VRRPSpec?
    /// A dispatcher's IPVS connection timeouts (`ipvs_timeouts:`), `nil`: the kernel's.
    public var ipvsTimeouts: IPVSTimeouts?

    public init(name: String, role: NodeRole, interfaces: [InterfaceSpec], routes: [RouteSpec] = [], weight: Int = 1,
                forward: Forwarding = .route, ipForward: Bool = false, rpFilter: Int? = nil, tunnel: Bool = false,
                group: String? = nil, vipOn: String? = nil) {
        self.name = name
        self.role = role
        self.interfaces = interfaces
        self.routes = routes
        self.weight = weight
        self.forward = forward
        self.ipForward = ipForward
        self.rpFilter = rpFilter
        self.tunnel = tunnel
        self.group = group
        self.vipOn = vipOn
    }

    /// The first address of the first interface: the node's own address.
    public var address: IPInterface? { interfaces.first?.addresses.first }

    public func interface(named name: String) -> InterfaceSpec? { interfaces.first { $0.name == name } }

    /// The interface with an address in the same subnet as `address`, if any.
    public func interface(onLinkWith address: IPAddress) -> (interface: InterfaceSpec, address: IPInterface)? {
        for i in interfaces {
            if let a = i.addresses.first(where: { $0.contains(address) }) { return (i, a) }
        }
        return nil
    }

    public var segments: [String] { interfaces.map(\.segment) }

    /// The address families of the node's interface addresses.
    public var families: Set<IPFamily> { Set(interfaces.flatMap { $0.addresses.map(\.family) }) }
}

/// What a node of a DNS lab adds to its role.
public struct DNSNodeSpec: Codable, Sendable, Equatable {
    /// Clients: the dns or resolver node in the client's resolv.conf.
    public var resolver: String?
    /// Resolvers: the dns node they forward the lab's zone to.
    public var upstream: String?
    /// Resolvers: keep answers for their TTL (false: unbound's `cache-max-ttl: 0`).
    public var cache: Bool
    /// Resolvers: rotate a cached answer's order for each client (unbound's `rrset-roundrobin`).
    public var roundRobin: Bool
    /// Web servers: milliseconds the agent waits before each answer (a slow server).
    public var delayMillis: Int

    public init(resolver: String? = nil, upstream: String? = nil, cache: Bool = true, roundRobin: Bool = true, delayMillis: Int = 0) {
        self.resolver = resolver
        self.upstream = upstream
        self.cache = cache
        self.roundRobin = roundRobin
        self.delayMillis = delayMillis
    }
}

/// The name a DNS lab serves and how its clients use it (`dns:` in the lab file).
public struct DNSSpec: Codable, Sendable, Equatable {
    /// The name with one A record per web server (`www.lab.test`).
    public var name: String
    /// The TTL of those records, in seconds.
    public var ttl: Int
    /// Connections each client makes, one lookup before each.
    public var lookups: Int
    /// Milliseconds between one client's lookups.
    public var intervalMillis: Int
    /// The article's claim this lab shows, for the table `lblab test` prints.
    public var claim: String

    public init(name: String, ttl: Int, lookups: Int, intervalMillis: Int, claim: String) {
        self.name = name
        self.ttl = ttl
        self.lookups = lookups
        self.intervalMillis = intervalMillis
        self.claim = claim
    }
}

/// A fault applied during `lblab test` (`faults:`), as `lblab fault LAB NODE ACTION` does by hand.
public struct FaultSpec: Codable, Sendable, Equatable {
    public enum Action: String, Codable, Sendable, CaseIterable {
        /// The node's service process stops (the host stays).
        case down
        /// Everything the other actions did is undone: the service runs (at full speed), the links are up.
        case up
        /// The node's links go down (the cable is pulled): its service runs, nothing reaches it.
        case unplug
        /// Its links come up again.
        case plug
        /// Its service answers each request after a delay (`delay_ms`).
        case slow

        /// Whether the node stops serving (a health check should take it out).
        public var breaks: Bool {
            switch self {
            case .down, .unplug: true
            case .up, .plug, .slow: false
            }
        }

        /// Whether the node serves again after a breaking action.
        public var repairs: Bool {
            switch self {
            case .up, .plug: true
            case .down, .unplug, .slow: false
            }
        }
    }

    /// Seconds after the traffic starts.
    public var at: Double
    public var node: String
    public var action: Action
    /// `slow`: milliseconds the service waits before each answer.
    public var delayMillis: Int?
    /// `down`, `up`, `slow` on a real server: only its agent on this port (`nil`: every port).
    public var port: UInt16?

    public init(at: Double, node: String, action: Action, delayMillis: Int? = nil, port: UInt16? = nil) {
        self.port = port
        self.at = at
        self.node = node
        self.action = action
        self.delayMillis = delayMillis
    }

    /// The delay of a `slow` fault when the lab file gives none.
    public static let defaultDelayMillis = 500
}

/// What a DNS lab's connections may do wrong.
public enum ErrorsRule: String, Codable, Sendable, CaseIterable {
    /// No connection fails.
    case none
    /// A server's `down` fault makes about 1/N of connections fail from then on.
    case fault
    /// Not checked.
    case any
}

/// Whether a DNS lab's resolvers must answer from their cache.
public enum CacheRule: String, Codable, Sendable, CaseIterable {
    case on
    case off
    case any
}

/// An IPVS virtual service on a dispatcher.
public struct ServiceSpec: Codable, Sendable, Equatable {
    public var name: String
    public var vip: IPAddress
    public var port: UInt16
    public var proto: TransportProtocol
    public var scheduler: Scheduler
    /// The dispatcher node holding the VIP and the IPVS table.
    public var dispatcher: String
    /// The real servers behind it, in file order.
    public var servers: [String]
    /// `-p`: a client stays on its real server while it has connections and `timeout` seconds
    /// after; `nil`: off.
    public var persistence: PersistenceSpec?
    /// `-o` (UDP): every datagram is scheduled on its own; `nil` means off.
    public var onePacket: Bool?
    /// `health_check:`: keepalived checks the real servers and owns this service's IPVS table.
    public var healthCheck: HealthCheckSpec?

    public init(name: String, vip: IPAddress, port: UInt16, proto: TransportProtocol, scheduler: Scheduler,
                dispatcher: String, servers: [String], persistence: PersistenceSpec? = nil, onePacket: Bool? = nil,
                healthCheck: HealthCheckSpec? = nil) {
        self.persistence = persistence
        self.healthCheck = healthCheck
        self.onePacket = onePacket
        self.name = name
        self.vip = vip
        self.port = port
        self.proto = proto
        self.scheduler = scheduler
        self.dispatcher = dispatcher
        self.servers = servers
    }

    /// `TCP 198.51.100.100:80`, as ipvsadm names a service.
    public var label: String { "\(proto.ipvsadmName) \(vip.withPort(port))" }
}

/// Persistence of a virtual service (`ipvsadm -p TIMEOUT -M NETMASK`).
public struct PersistenceSpec: Codable, Sendable, Equatable {
    /// Seconds (1...31536000; ipvsadm's default is 300).
    public var timeout: Int
    /// Clients whose addresses agree in these leading bits share one server (32 for IPv4: each
    /// client on its own; ipvsadm's `-M 255.255.255.255`).
    public var prefixLength: Int

    public init(timeout: Int, prefixLength: Int = 32) {
        self.timeout = timeout
        self.prefixLength = prefixLength
    }
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

/// Which packet path `lblab test` checks.
public enum PathRule: String, Codable, Sendable, CaseIterable {
    /// The path of the lab's mode.
    case mode
    /// The LVS-DR path, whatever the lab's mode (a claim a NAT lab fails).
    case dr
    /// The LVS-NAT path.
    case nat
    /// The LVS-TUN path.
    case tun
    /// No path check.
    case none

    /// The mode whose path is checked in a lab of mode `labMode`, or `nil` for none.
    public func mode(in labMode: LabMode) -> LabMode? {
        switch self {
        case .mode: labMode
        case .dr: .dr
        case .nat: .nat
        case .tun: .tun
        case .none: nil
        }
    }
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
    /// DNS labs: errors allowed (nil: none).
    public var errors: ErrorsRule?
    /// DNS labs: the resolvers' cache (nil: not checked).
    public var cache: CacheRule?

    public init(distribution: DistributionRule = .scheduler, path: PathRule = .mode, arp: ARPRule = .dispatcherOnly) {
        self.distribution = distribution
        self.path = path
        self.arp = arp
    }
}

/// A validated lab: everything needed to plan, run and judge it.
public struct LabSpec: Codable, Sendable, Equatable {
    public var name: String
    public var description: String
    public var mode: LabMode
    /// In file order; a lab file without `segments:` has one, `lan`.
    public var segments: [SegmentSpec]
    /// In file order (a `count:` group expands in place).
    public var nodes: [NodeSpec]
    public var services: [ServiceSpec]
    /// `arp_ignore=1` / `arp_announce=2` on DR and TUN real servers (the article's ARP-flux fix).
    public var arpFix: Bool
    public var traffic: TrafficSpec
    public var expect: ExpectSpec
    /// The file it came from, if any.
    public var source: String?
    /// DNS labs (mode dns): the name, its TTL and the clients' lookups.
    public var dns: DNSSpec?
    /// Faults `lblab test` applies during the traffic.
    public var faults: [FaultSpec]?
    /// VRRP labs: whether keepalived runs the IPVS connection sync daemon (`sync:`); `nil` in a
    /// lab without VRRP dispatchers.
    public var sync: Bool?

    public init(name: String, description: String = "", mode: LabMode, segments: [SegmentSpec], nodes: [NodeSpec],
                services: [ServiceSpec], arpFix: Bool, traffic: TrafficSpec, expect: ExpectSpec, source: String? = nil) {
        self.name = name
        self.description = description
        self.mode = mode
        self.segments = segments
        self.nodes = nodes
        self.services = services
        self.arpFix = arpFix
        self.traffic = traffic
        self.expect = expect
        self.source = source
    }

    public func node(named name: String) -> NodeSpec? { nodes.first { $0.name == name } }
    public func service(named name: String) -> ServiceSpec? { services.first { $0.name == name } }
    public func nodes(_ role: NodeRole) -> [NodeSpec] { nodes.filter { $0.role == role } }

    public var clients: [NodeSpec] { nodes(.client) }
    public var dispatchers: [NodeSpec] { nodes(.dispatcher) }
    public var realServers: [NodeSpec] { nodes(.real) }
    /// The nodes running lblab's HTTP agent: real servers, and web servers of DNS labs.
    public var servers: [NodeSpec] { nodes.filter { $0.role == .real || $0.role == .web } }

    /// The services whose VIPs a node holds: as their dispatcher, or as one of their DR/TUN
    /// real servers.
    public func services(of node: NodeSpec) -> [ServiceSpec] {
        services.filter { $0.dispatcher == node.name || $0.servers.contains(node.name) }
    }

    /// Whether any address, VIP or route of the lab is IPv6 (then IPv6 is enabled on its nodes).
    public var usesIPv6: Bool {
        services.contains { $0.vip.family == .ipv6 } || nodes.contains { $0.families.contains(.ipv6) }
    }
}

extension LabSpec {
    /// What the kernel holds for this lab: everything but traffic, expectations, description
    /// and source, which may change from one `lblab test` of a running lab to the next.
    public var topology: LabSpec {
        var t = self
        t.traffic = TrafficSpec(timeout: 0, phases: [])
        t.expect = ExpectSpec(distribution: .none, path: .none, arp: .none)
        t.description = ""
        t.source = nil
        t.faults = nil
        if var d = t.dns {
            d.lookups = 0
            d.intervalMillis = 0
            d.claim = ""
            t.dns = d
        }
        return t
    }
}
