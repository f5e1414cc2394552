import LblabKeepalived
import LblabTypes

/// One kernel operation of a plan. Pure data: an executor carries it out (over netlink, on the
/// namespace thread), `--explain` prints it as the `ip` / `ipvsadm` / `sysctl` command that does
/// the same, and its `undo` says how teardown reverses it.
public enum Step: Codable, Sendable, Equatable {
    case createNamespace(name: String)
    case setSysctl(namespace: String, key: String, value: String)
    case createBridge(namespace: String, name: String)
    /// A veth pair created in `namespace` whose peer goes straight into `peerNamespace`.
    case createVeth(namespace: String, name: String, peerNamespace: String, peerName: String)
    case setMaster(namespace: String, link: String, master: String)
    case setUp(namespace: String, link: String)
    case addAddress(namespace: String, link: String, address: IPInterface)
    case addRoute(namespace: String, route: PlannedRoute)
    /// An IP-in-IP tunnel interface that takes packets addressed to `local` (LVS-TUN real servers).
    case createTunnel(namespace: String, name: String, local: IPAddress)
    case addService(namespace: String, service: PlannedService)
    case addDestination(namespace: String, service: PlannedService, destination: PlannedDestination)
    /// The dispatcher's IPVS connection timeouts (`ipvsadm --set`).
    case setIPVSTimeouts(namespace: String, timeouts: IPVSTimeouts)
    /// The built-in server of a real server on one port, answering with the node's name.
    case startAgent(namespace: String, node: String, port: UInt16, proto: TransportProtocol)

    /// A server process of a DNS lab in a node's namespace (dnsmasq, unbound, a web server's agent).
    case startDaemon(namespace: String, node: String, daemon: PlannedDaemon)

    // Teardown steps: the undo of the steps that own something outside a namespace's network stack.
    case stopAgent(namespace: String, node: String, port: UInt16)
    case stopDaemon(namespace: String, node: String, kind: DaemonKind)
    case deleteNamespace(name: String)

    /// The namespace the step acts in.
    public var namespace: String {
        switch self {
        case .createNamespace(let n), .deleteNamespace(let n): n
        case .setSysctl(let n, _, _), .createBridge(let n, _), .createVeth(let n, _, _, _), .setMaster(let n, _, _),
             .setUp(let n, _), .addAddress(let n, _, _), .addRoute(let n, _), .createTunnel(let n, _, _),
             .addService(let n, _), .addDestination(let n, _, _), .setIPVSTimeouts(let n, _), .startAgent(let n, _, _, _), .stopAgent(let n, _, _),
             .startDaemon(let n, _, _), .stopDaemon(let n, _, _):
            n
        }
    }

    /// How teardown reverses this step. Exhaustive: a new step must say what undoes it.
    public var undo: Undo {
        switch self {
        case .createNamespace(let n): .step(.deleteNamespace(name: n))
        case .startAgent(let ns, let node, let port, _): .step(.stopAgent(namespace: ns, node: node, port: port))
        case .startDaemon(let ns, let node, let d): .step(.stopDaemon(namespace: ns, node: node, kind: d.kind))
        // Everything in a network stack goes with its namespace: links (and the peer of a veth,
        // which dies with its pair), addresses, routes, sysctls, the IPVS table.
        case .setSysctl(let ns, _, _), .createBridge(let ns, _), .createVeth(let ns, _, _, _), .setMaster(let ns, _, _),
             .setUp(let ns, _), .addAddress(let ns, _, _), .addRoute(let ns, _), .createTunnel(let ns, _, _),
             .addService(let ns, _), .addDestination(let ns, _, _), .setIPVSTimeouts(let ns, _):
            .withNamespace(ns)
        case .stopAgent, .stopDaemon, .deleteNamespace: .nothing
        }
    }
}

/// What reverses a step.
public enum Undo: Sendable, Equatable {
    /// This step.
    case step(Step)
    /// Deleting this namespace removes what the step made.
    case withNamespace(String)
    /// The step is itself an undo.
    case nothing
}

/// A route as planned: destination, gateway and/or interface.
public struct PlannedRoute: Codable, Sendable, Equatable {
    public var destination: IPInterface
    public var gateway: IPAddress?
    public var link: String?

    public init(destination: IPInterface, gateway: IPAddress?, link: String?) {
        self.destination = destination
        self.gateway = gateway
        self.link = link
    }
}

/// An IPVS virtual service as planned.
public struct PlannedService: Codable, Sendable, Equatable {
    public var proto: TransportProtocol
    public var address: IPAddress
    public var port: UInt16
    public var scheduler: Scheduler
    /// `-p`: the persistence timeout in seconds (`nil`: no persistence).
    public var persistence: Int?
    /// `-M`: the persistence netmask as a prefix length (`nil`: the whole address).
    public var persistencePrefix: Int?
    /// `-o`: one-packet scheduling (UDP).
    public var onePacket: Bool?

    public init(proto: TransportProtocol, address: IPAddress, port: UInt16, scheduler: Scheduler,
                persistence: Int? = nil, persistencePrefix: Int? = nil, onePacket: Bool? = nil) {
        self.proto = proto
        self.address = address
        self.port = port
        self.scheduler = scheduler
        self.persistence = persistence
        self.persistencePrefix = persistencePrefix
        self.onePacket = onePacket
    }

    /// `IP_VS_SVC_F_*`: PERSISTENT 0x1, ONEPACKET 0x4.
    public var flags: UInt32 { (persistence != nil ? 0x1 : 0) | (onePacket == true ? 0x4 : 0) }
    /// What the kernel takes as NETMASK: an IPv4 mask, or an IPv6 prefix length.
    public var netmask: UInt32 {
        switch address.family {
        case .ipv4:
            let p = persistencePrefix ?? 32
            return p == 0 ? 0 : UInt32.max << UInt32(32 - p)
        case .ipv6: return UInt32(persistencePrefix ?? 128)
        }
    }
}

/// An IPVS real server (destination) as planned.
public struct PlannedDestination: Codable, Sendable, Equatable {
    public var address: IPAddress
    public var port: UInt16
    public var forward: Forwarding
    public var weight: Int
    /// `-x` / `-y` (`nil`: 0, none).
    public var upperThreshold: Int?
    public var lowerThreshold: Int?

    public init(address: IPAddress, port: UInt16, forward: Forwarding, weight: Int, upperThreshold: Int? = nil, lowerThreshold: Int? = nil) {
        self.address = address
        self.port = port
        self.forward = forward
        self.weight = weight
        self.upperThreshold = upperThreshold
        self.lowerThreshold = lowerThreshold
    }
}

/// The programs a lab runs as its servers (DNS labs' servers, keepalived on dispatchers).
public enum DaemonKind: String, Codable, Sendable, CaseIterable {
    /// The authoritative DNS server.
    case dnsmasq
    /// The caching resolver.
    case unbound
    /// lblab's HTTP agent on a web server.
    case agent
    /// keepalived on a dispatcher: health checks (and VRRP), owning the IPVS table of its services.
    case keepalived

    /// The file name of a node's configuration (`.conf`) or log (`.log`) in the lab's state directory.
    public func file(node: String, _ suffix: String) -> String { "\(node).\(rawValue).\(suffix)" }

    /// The process's command name (/proc/PID/comm), to tell it from a reused pid.
    public var commandName: String {
        switch self {
        case .dnsmasq: "dnsmasq"
        case .unbound: "unbound"
        case .agent: "lblab-agent"
        case .keepalived: "keepalived"
        }
    }
}

/// A server process as planned: its command line, and the configuration file it reads, if any.
public struct PlannedDaemon: Codable, Sendable, Equatable {
    public var kind: DaemonKind
    /// argv; `{config}` stands for the configuration file's path, `{dir}` for the lab's state
    /// directory, `lblab-agent` for lblab's agent.
    public var arguments: [String]
    /// The lab: its state directory (/run/lblab/<lab>/) holds the configuration and the log.
    public var lab: String
    /// The configuration file's text (written to `<node>.<kind>.conf` there), if it reads one.
    public var config: String?
    /// The address and port it serves on, for the readiness check (UDP 53 for DNS, TCP for the agent).
    public var address: IPAddress
    public var port: UInt16
    /// keepalived: the configuration as data (what it must put in IPVS before it counts as started).
    public var keepalived: KeepalivedConfig?

    public init(kind: DaemonKind, arguments: [String], lab: String, config: String? = nil, address: IPAddress, port: UInt16,
                keepalived: KeepalivedConfig? = nil) {
        self.keepalived = keepalived
        self.kind = kind
        self.arguments = arguments
        self.lab = lab
        self.config = config
        self.address = address
        self.port = port
    }
}
