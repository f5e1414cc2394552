import LblabTypes

/// How IPVS forwards to a destination (`IP_VS_CONN_F_*` forwarding methods).
public enum IPVSForwarding: UInt32, Sendable, Codable {
    case masquerade = 0, local = 1, tunnel = 2, directRoute = 3, bypass = 4

    /// The kernel's method for a lab's forwarding (no `default:`: a new method must be mapped here).
    public init(_ forwarding: Forwarding) {
        switch forwarding {
        case .route: self = .directRoute
        case .masq: self = .masquerade
        case .tunnel: self = .tunnel
        }
    }

    /// The lab's forwarding for this kernel method; `nil` for methods labs do not use (local, bypass).
    public var forwarding: Forwarding? {
        switch self {
        case .directRoute: .route
        case .masquerade: .masq
        case .tunnel: .tunnel
        case .local, .bypass: nil
        }
    }

    /// The name `ipvsadm -Ln` prints in its Forward column.
    public var ipvsadmName: String {
        switch self {
        case .masquerade: return "Masq"
        case .local: return "Local"
        case .tunnel: return "Tunnel"
        case .directRoute: return "Route"
        case .bypass: return "Bypass"
        }
    }
}

/// Identifies a virtual service: protocol, address (IPv4 or IPv6), port (host order).
public struct IPVSServiceKey: Hashable, Sendable, Codable, CustomStringConvertible {
    public var proto: TransportProtocol
    public var address: IPAddress
    public var port: UInt16

    public init(proto: TransportProtocol, address: IPAddress, port: UInt16) {
        self.proto = proto
        self.address = address
        self.port = port
    }

    /// `TCP 198.51.100.100:80`
    public var description: String { "\(proto.ipvsadmName) \(address.withPort(port))" }
}

/// A virtual service. `flags` are `IP_VS_SVC_F_*` (PERSISTENT 0x1, ONEPACKET 0x4, …);
/// `timeout` is the persistence timeout in seconds; `netmask` is the persistence
/// mask in host order (`0xffff_ff00` for /24), or for an IPv6 service its prefix length
/// (1-128; the all-ones default means 128).
public struct IPVSService: Sendable, Equatable {
    public var key: IPVSServiceKey
    public var scheduler: Scheduler
    public var flags: UInt32 = 0
    public var timeout: UInt32 = 0
    public var netmask: UInt32 = 0xffff_ffff

    public init(key: IPVSServiceKey, scheduler: Scheduler, flags: UInt32 = 0, timeout: UInt32 = 0,
                netmask: UInt32 = 0xffff_ffff) {
        self.key = key
        self.scheduler = scheduler
        self.flags = flags
        self.timeout = timeout
        self.netmask = netmask
    }

    public static let persistentFlag: UInt32 = 0x1
    public static let hashedFlag: UInt32 = 0x2
    public static let onePacketFlag: UInt32 = 0x4
}

/// A real server behind a virtual service (port in host order).
public struct IPVSDestination: Sendable, Equatable {
    public var address: IPAddress
    public var port: UInt16
    public var forwarding: IPVSForwarding
    public var weight: UInt32
    public var upperThreshold: UInt32 = 0
    public var lowerThreshold: UInt32 = 0

    public init(address: IPAddress, port: UInt16, forwarding: IPVSForwarding, weight: UInt32,
                upperThreshold: UInt32 = 0, lowerThreshold: UInt32 = 0) {
        self.address = address
        self.port = port
        self.forwarding = forwarding
        self.weight = weight
        self.upperThreshold = upperThreshold
        self.lowerThreshold = lowerThreshold
    }
}

/// Counters of a service or destination, from STATS64 (or the 32-bit STATS on old kernels).
public struct IPVSStats: Sendable, Equatable, Codable {
    public var connections: UInt64
    public var inPackets: UInt64
    public var outPackets: UInt64
    public var inBytes: UInt64
    public var outBytes: UInt64

    public init(connections: UInt64 = 0, inPackets: UInt64 = 0, outPackets: UInt64 = 0,
                inBytes: UInt64 = 0, outBytes: UInt64 = 0) {
        self.connections = connections
        self.inPackets = inPackets
        self.outPackets = outPackets
        self.inBytes = inBytes
        self.outBytes = outBytes
    }
}

/// A service as the kernel lists it, with its counters. The scheduler is the kernel's name: a
/// kernel may run one lblab has no case for.
public struct IPVSServiceEntry: Sendable, Equatable {
    public var key: IPVSServiceKey
    public var schedulerName: String
    public var flags: UInt32
    public var timeout: UInt32
    public var netmask: UInt32
    public var stats: IPVSStats

    public init(key: IPVSServiceKey, schedulerName: String, flags: UInt32 = 0, timeout: UInt32 = 0,
                netmask: UInt32 = 0xffff_ffff, stats: IPVSStats = IPVSStats()) {
        self.key = key
        self.schedulerName = schedulerName
        self.flags = flags
        self.timeout = timeout
        self.netmask = netmask
        self.stats = stats
    }

    public var scheduler: Scheduler? { Scheduler(rawValue: schedulerName) }
}

/// A destination as the kernel lists it, with connection counts and counters.
public struct IPVSDestinationEntry: Sendable, Equatable {
    public var destination: IPVSDestination
    public var activeConnections: UInt32
    public var inactiveConnections: UInt32
    public var persistentConnections: UInt32
    public var stats: IPVSStats

    public init(destination: IPVSDestination, activeConnections: UInt32, inactiveConnections: UInt32,
                persistentConnections: UInt32, stats: IPVSStats) {
        self.destination = destination
        self.activeConnections = activeConnections
        self.inactiveConnections = inactiveConnections
        self.persistentConnections = persistentConnections
        self.stats = stats
    }
}

/// `IPVS_CMD_GET_INFO`: version (`1.2.1` is 0x010201) and connection table size.
public struct IPVSInfo: Sendable, Equatable {
    public var version: UInt32
    public var versionString: String
    public var connectionTableSize: UInt32

    public init(version: UInt32, connectionTableSize: UInt32) {
        self.version = version
        self.versionString = "\(version >> 16 & 0xff).\(version >> 8 & 0xff).\(version & 0xff)"
        self.connectionTableSize = connectionTableSize
    }
}
