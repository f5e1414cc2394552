import LblabTypes

/// A client the traffic leaves from: `openSockets` runs inside its network namespace (the caller
/// hops there, once per batch of sockets); everything after that happens on the engine's thread.
public struct TrafficClient {
    public var name: String
    public var openSockets: (_ count: Int, _ family: IPFamily, _ kind: Sockets.Kind) throws -> [Int32]

    public init(name: String, openSockets: @escaping (Int, IPFamily, Sockets.Kind) throws -> [Int32]) {
        self.name = name
        self.openSockets = openSockets
    }
}

/// How long a connection stays open after its response.
public enum TrafficHold: Sendable, Equatable {
    case none
    case seconds(Double)
    /// Until the phase with this index is over.
    case untilPhase(Int)
    /// Until the last phase is over.
    case end

    var holds: Bool {
        switch self {
        case .none: false
        case .seconds, .untilPhase, .end: true
        }
    }
}

/// One phase as the engine runs it.
public struct TrafficPhasePlan: Sendable {
    /// Indices into the engine's clients; connection (or UDP socket) `k` leaves from `clients[k % count]`.
    public var clients: [Int]
    public var target: IPAddress
    public var port: UInt16
    public var proto: TransportProtocol
    /// Connections (TCP) or datagrams (UDP).
    public var connections: Int
    /// At most this many waiting for their response at once.
    public var concurrency: Int
    public var hold: TrafficHold
    /// One at a time, the engine's trace hook called before each.
    public var trace: Bool
    /// Seconds to wait before the phase.
    public var pause: Double
    /// UDP: datagrams sent in turn from one socket.
    public var datagramsPerSocket: Int
    /// Held TCP connections: one more request when the hold is over, before the close (`reused`).
    public var reuse = false

    public init(clients: [Int], target: IPAddress, port: UInt16, proto: TransportProtocol, connections: Int, concurrency: Int,
                hold: TrafficHold = .none, trace: Bool = false, pause: Double = 0, datagramsPerSocket: Int = 1) {
        self.clients = clients
        self.target = target
        self.port = port
        self.proto = proto
        self.connections = connections
        self.concurrency = trace ? 1 : max(1, concurrency)
        self.hold = hold
        self.trace = trace
        self.pause = pause
        self.datagramsPerSocket = max(1, datagramsPerSocket)
    }
}

/// What happened to one connection (or UDP datagram).
public struct TrafficResult: Sendable, Equatable {
    /// Index into the engine's clients.
    public var client: Int
    /// Index into the phases, and the connection's number within its phase (from 0).
    public var phase: Int
    public var index: Int
    /// The client's source address and port.
    public var localAddress: IPAddress?
    public var localPort: UInt16
    /// The node that answered, nil when none did.
    public var server: String?
    public var error: String?
    /// Seconds from the start of the traffic to the connect (UDP: to the datagram's send).
    public var start: Double
    /// Seconds from then to the end of the response.
    public var latency: Double
    /// Seconds from the start of the traffic to the client's close of a held connection.
    public var closed: Double?
    /// A held connection of a `reuse` phase: what its second request got.
    public var reused: ReuseResult?
}
