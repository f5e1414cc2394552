/// The traffic `lblab test` sends: phases run in order. A lab file without `traffic.phases:` has
/// one phase made of the `traffic:` keys themselves.
public struct TrafficSpec: Codable, Sendable, Equatable {
    /// Seconds before one connection (or datagram) counts as failed.
    public var timeout: Double
    /// In order; never empty in a validated lab.
    public var phases: [TrafficPhase]

    public init(timeout: Double, phases: [TrafficPhase]) {
        self.timeout = timeout
        self.phases = phases
    }

    /// One phase from `client` to `service`, closing each connection at once (the traffic of a
    /// lab file without `phases:`).
    public init(connections: Int, concurrency: Int, timeout: Double, client: String, service: String) {
        self.init(timeout: timeout, phases: [TrafficPhase(name: TrafficPhase.defaultName(0), clients: [client], service: service,
                                                          connections: connections, concurrency: concurrency)])
    }

    private enum CodingKeys: String, CodingKey {
        case timeout, phases
        // Run records and lab states written before phases: one phase's keys.
        case connections, concurrency, client, service
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let timeout = try c.decode(Double.self, forKey: .timeout)
        if let phases = try c.decodeIfPresent([TrafficPhase].self, forKey: .phases) {
            self.init(timeout: timeout, phases: phases)
        } else {
            self.init(connections: try c.decode(Int.self, forKey: .connections), concurrency: try c.decode(Int.self, forKey: .concurrency),
                      timeout: timeout, client: try c.decode(String.self, forKey: .client), service: try c.decode(String.self, forKey: .service))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(timeout, forKey: .timeout)
        try c.encode(phases, forKey: .phases)
    }

    /// Every phase's connections (datagrams for UDP).
    public var connections: Int { phases.reduce(0) { $0 + $1.connections } }
    /// The highest concurrency of any phase.
    public var concurrency: Int { phases.map(\.concurrency).max() ?? 0 }
    /// The first client of the first phase.
    public var client: String { phases.first?.clients.first ?? "" }
    /// The first phase's service.
    public var service: String { phases.first?.service ?? "" }
    /// `1000 connections (concurrency 8) from client`, `110 connections in 2 phases from 32 clients`.
    public var summary: String {
        let what = phases.count == 1 ? "\(connections) connections (concurrency \(concurrency))"
                                     : "\(connections) connections in \(phases.count) phases"
        return what + " from " + (clients.count == 1 ? client : "\(clients.count) clients")
    }

    /// Every client that sends, in order of first use.
    public var clients: [String] {
        var out: [String] = []
        for c in phases.flatMap(\.clients) where !out.contains(c) { out.append(c) }
        return out
    }
}

/// One phase of the traffic. Its connections are spread over its clients round robin in the
/// phase's client order: connection `k` (from 0) leaves from `clients[k % clients.count]`.
public struct TrafficPhase: Codable, Sendable, Equatable {
    public var name: String
    /// The client nodes that send, in order; never empty.
    public var clients: [String]
    /// The service it goes to.
    public var service: String
    /// Connections (TCP) or datagrams (UDP) sent in this phase.
    public var connections: Int
    /// At most this many waiting for their response at once (held connections do not count).
    public var concurrency: Int
    /// How long each connection stays open after its response (TCP only).
    public var hold: Hold
    /// One connection at a time, each preceded by a read of the service's destinations in IPVS.
    public var trace: Bool
    /// Seconds to wait before the phase starts.
    public var pause: Double
    /// UDP: datagrams sent one after the other from one socket (one source port); 1 gives every
    /// datagram a fresh source port.
    public var datagramsPerSocket: Int
    /// Paced traffic: one connection at a time, each starting this many milliseconds after the
    /// previous one started (`nil`: as fast as the concurrency allows). Faults act during paced phases.
    public var intervalMillis: Int?
    /// Held connections: when the hold is over, one more request on each before it closes (to see
    /// whether it outlived a dispatcher failover); `nil` means no.
    public var reuse: Bool?

    public init(name: String, clients: [String], service: String, connections: Int, concurrency: Int, hold: Hold = .none,
                trace: Bool = false, pause: Double = 0, datagramsPerSocket: Int = 1, intervalMillis: Int? = nil) {
        self.intervalMillis = intervalMillis
        self.name = name
        self.clients = clients
        self.service = service
        self.connections = connections
        self.concurrency = concurrency
        self.hold = hold
        self.trace = trace
        self.pause = pause
        self.datagramsPerSocket = datagramsPerSocket
    }

    /// The name of phase `index` when the lab file gives none.
    public static func defaultName(_ index: Int) -> String { "phase\(index + 1)" }
}

/// How long a connection stays open after its response arrived.
public enum Hold: Codable, Sendable, Equatable {
    /// Closed as soon as the response ends (the real server closes first).
    case none
    /// The client keeps it open this many seconds after the response, then closes it.
    case seconds(Double)
    /// The client keeps it open until the phase with this index (a later one) is over.
    case untilPhase(Int)
    /// The client keeps it open until the last phase is over.
    case end

    /// Whether the client keeps the connection open after the response (the real server then
    /// waits for the client to close).
    public var holds: Bool {
        switch self {
        case .none: false
        case .seconds, .untilPhase, .end: true
        }
    }
}
