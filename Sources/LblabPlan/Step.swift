import LblabTypes

/// One kernel operation of a plan. Pure data: the applier executes it over netlink, `--explain`
/// prints it as the `ip` / `ipvsadm` / `sysctl` command that does the same, and teardown
/// reverses it.
public enum Step: Codable, Sendable, Equatable {
    case createNamespace(name: String)
    case setSysctl(namespace: String, key: String, value: String)
    case createBridge(namespace: String, name: String)
    /// A veth pair created in `namespace` whose peer goes straight into `peerNamespace`.
    case createVeth(namespace: String, name: String, peerNamespace: String, peerName: String)
    case setMaster(namespace: String, link: String, master: String)
    case setUp(namespace: String, link: String)
    case addAddress(namespace: String, link: String, address: IPv4Interface)
    case addService(namespace: String, service: PlannedService)
    case addDestination(namespace: String, service: PlannedService, destination: PlannedDestination)
    /// The built-in HTTP server of a real server, answering with the node's name.
    case startAgent(namespace: String, node: String, port: UInt16)

    // Teardown steps (the reverse of the two steps that own something).
    case stopAgent(namespace: String, node: String)
    case deleteNamespace(name: String)

    /// The namespace the step acts in.
    public var namespace: String {
        switch self {
        case .createNamespace(let n), .deleteNamespace(let n): n
        case .setSysctl(let n, _, _), .createBridge(let n, _), .createVeth(let n, _, _, _), .setMaster(let n, _, _),
             .setUp(let n, _), .addAddress(let n, _, _), .addService(let n, _), .addDestination(let n, _, _),
             .startAgent(let n, _, _), .stopAgent(let n, _):
            n
        }
    }

    /// The step that undoes this one, for rollback and teardown. Everything inside a
    /// namespace disappears with it, so only namespaces and agents need undoing.
    public var undo: Step? {
        switch self {
        case .createNamespace(let n): .deleteNamespace(name: n)
        case .startAgent(let ns, let node, _): .stopAgent(namespace: ns, node: node)
        default: nil
        }
    }
}

/// An IPVS virtual service as planned.
public struct PlannedService: Codable, Sendable, Equatable {
    public var proto: String
    public var address: IPv4Address
    public var port: UInt16
    public var scheduler: String

    public init(proto: String, address: IPv4Address, port: UInt16, scheduler: String) {
        self.proto = proto
        self.address = address
        self.port = port
        self.scheduler = scheduler
    }
}

/// An IPVS real server (destination) as planned.
public struct PlannedDestination: Codable, Sendable, Equatable {
    public var address: IPv4Address
    public var port: UInt16
    /// `route`, `masq` or `tunnel`.
    public var forward: String
    public var weight: Int

    public init(address: IPv4Address, port: UInt16, forward: String, weight: Int) {
        self.address = address
        self.port = port
        self.forward = forward
        self.weight = weight
    }
}
