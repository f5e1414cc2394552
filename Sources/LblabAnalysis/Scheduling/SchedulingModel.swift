import LblabModel
import LblabTypes

/// One destination of a virtual service as a scheduler oracle sees it: the lab's weight and
/// thresholds (what the lab asked for, not what IPVS holds: a weight changed behind lblab's back
/// must show as a wrong choice).
public struct OracleDestination: Sendable, Equatable {
    public var server: String
    /// The real server's address (mh and the hashing tables do not need it; mh hashes it).
    public var address: IPAddress?
    public var port: UInt16
    public var weight: Int
    /// `-x`: overloaded once active + inactive reaches it (0: none).
    public var upperThreshold: Int
    /// `-y`: no longer overloaded below it (0: below 3/4 of the upper threshold).
    public var lowerThreshold: Int

    public init(server: String, address: IPAddress? = nil, port: UInt16 = 80, weight: Int,
                upperThreshold: Int = 0, lowerThreshold: Int = 0) {
        self.server = server
        self.address = address
        self.port = port
        self.weight = weight
        self.upperThreshold = upperThreshold
        self.lowerThreshold = lowerThreshold
    }
}

/// A virtual service as the oracle sees it: its scheduler, its destinations in the kernel's list
/// order (IPVS adds each destination at the head of the list, so the last added comes first),
/// and the options that change scheduling.
public struct OracleService: Sendable, Equatable {
    public var name: String
    public var scheduler: Scheduler
    public var vip: IPAddress
    /// Kernel list order.
    public var destinations: [OracleDestination]
    /// `-p`: seconds a client (masked) stays on its server after its last connection; `nil`: off.
    public var persistence: Int?
    /// The persistence netmask (IPv4 mask bits as a prefix length).
    public var persistencePrefix: Int
    /// UDP without one-packet scheduling: datagrams from one client address and port share one
    /// IPVS connection entry, so only the first is scheduled; the rest follow it.
    public var datagramsShareEntry: Bool = false
    /// How long a connection's IPVS entry outlives its close (TCP: the client's FIN) or its last
    /// datagram (UDP), at the earliest and at the latest: what keeps a persistence template alive
    /// (see `PersistenceTemplate`). The kernel's defaults: FIN_WAIT 120 s.
    public var entryLinger: ClosedRange<Double> = Double(IPVSTimeouts.kernelTCPFin)...Double(IPVSTimeouts.kernelTCPFin)

    public init(name: String, scheduler: Scheduler, vip: IPAddress, destinations: [OracleDestination],
                persistence: Int? = nil, persistencePrefix: Int = 32) {
        self.name = name
        self.scheduler = scheduler
        self.vip = vip
        self.destinations = destinations
        self.persistence = persistence
        self.persistencePrefix = persistencePrefix
    }

    public func destination(_ server: String) -> OracleDestination? { destinations.first { $0.server == server } }
}

/// One connection in the order the kernel saw it.
public struct OracleConnection: Sendable, Equatable {
    /// 1-based, in the order the kernel saw the service's connections.
    public var number: Int
    public var client: IPAddress?
    public var clientPort: UInt16
    /// The address it was sent to (the service's VIP).
    public var destination: IPAddress
    /// The server that answered; `nil`: none did.
    public var server: String?
    /// What IPVS held just before it (kernel list order), when the phase traced.
    public var seen: [DestinationCounts]?
    /// Seconds from the start of the traffic: connect, and close (response end or the hold's end).
    public var start: Double?
    public var end: Double?

    public init(number: Int, client: IPAddress?, clientPort: UInt16, destination: IPAddress, server: String?,
                seen: [DestinationCounts]? = nil, start: Double? = nil, end: Double? = nil) {
        self.number = number
        self.client = client
        self.clientPort = clientPort
        self.destination = destination
        self.server = server
        self.seen = seen
        self.start = start
        self.end = end
    }

    /// `#3 192.0.2.10:40002`
    public var label: String { "#\(number) \(client.map { $0.withPort(clientPort) } ?? "port \(clientPort)")" }
}

/// The counts of one destination at one moment, with the overload flag the oracle tracked.
public struct OracleCounts: Sendable, Equatable {
    public var active: Int
    public var inactive: Int
    public var overloaded: Bool

    public init(active: Int = 0, inactive: Int = 0, overloaded: Bool = false) {
        self.active = active
        self.inactive = inactive
        self.overloaded = overloaded
    }

    /// `ip_vs_dest_conn_overhead`: active * 256 + inactive.
    public var overhead: Int { active * 256 + inactive }
}

/// What the kernel's rule predicts for one connection.
public enum Prediction: Sendable, Equatable {
    /// Exactly this server.
    case server(String)
    /// One of these (the kernel chooses at random among them: twos).
    case oneOf([String])
    /// No destination is available: the connection must fail.
    case noDestination
    /// The rule needs what this run did not record.
    case unknown
}

/// The oracle's decision for one connection: what it predicted and why.
public struct OracleDecision: Sendable, Equatable {
    public var connection: OracleConnection
    public var prediction: Prediction
    /// Why, with the counts that made the choice (`rs1 a0 i0 w1 -> 1/1`).
    public var reason: String
    /// The prediction held (`nil`: not judged).
    public var held: Bool?

    public init(connection: OracleConnection, prediction: Prediction, reason: String, held: Bool?) {
        self.connection = connection
        self.prediction = prediction
        self.reason = reason
        self.held = held
    }

    public var expectedText: String {
        switch prediction {
        case .server(let s): s
        case .oneOf(let s): "one of " + s.joined(separator: "/")
        case .noDestination: "no server (none available)"
        case .unknown: "unknown"
        }
    }
}
