import LblabTypes

/// What the DNS rules judge: the lab as far as they need it, what each client recorded, and the
/// DNS messages captured at each client's and each resolver's switch port.
public struct DNSRun: Sendable, Codable {
    public struct Server: Sendable, Codable, Equatable {
        public var node: String
        public var address: IPv4Address
        public var delayMillis: Int
        public init(node: String, address: IPv4Address, delayMillis: Int = 0) {
            self.node = node
            self.address = address
            self.delayMillis = delayMillis
        }
    }

    public struct Client: Sendable, Codable, Equatable {
        public var node: String
        public var address: IPv4Interface
        /// The server in its resolv.conf.
        public var nameserver: IPv4Address
        /// It has an IPv6 address besides loopback (then glibc sorts IPv4 answers by rule 9).
        public var ipv6: Bool
        public init(node: String, address: IPv4Interface, nameserver: IPv4Address, ipv6: Bool = true) {
            self.node = node
            self.address = address
            self.nameserver = nameserver
            self.ipv6 = ipv6
        }
    }

    public struct Resolver: Sendable, Codable, Equatable {
        public var node: String
        public var address: IPv4Address
        public var upstream: IPv4Address
        public init(node: String, address: IPv4Address, upstream: IPv4Address) {
            self.node = node
            self.address = address
            self.upstream = upstream
        }
    }

    /// A fault applied during the run, at an absolute time.
    public struct Fault: Sendable, Codable, Equatable {
        public var time: Double
        public var node: String
        public var down: Bool
        public init(time: Double, node: String, down: Bool) {
            self.time = time
            self.node = node
            self.down = down
        }
    }

    public var lab: String
    public var name: String
    public var ttl: Int
    public var servers: [Server]
    public var clients: [Client]
    public var resolvers: [Resolver]
    public var faults: [Fault]
    /// Seconds before one connection counts as failed.
    public var timeout: Double
    public var expect: DNSExpectations
    public var records: [ClientRecord]
    /// DNS messages captured at each client's switch port, by client node.
    public var clientPackets: [String: [DNSPacket]]
    /// DNS messages captured at each resolver's switch port, by resolver node.
    public var resolverPackets: [String: [DNSPacket]]
    /// Server processes found dead before or after the traffic (`dnsmasq of ns1: dead after the traffic`).
    public var deadDaemons: [String]

    public init(lab: String, name: String, ttl: Int, servers: [Server], clients: [Client], resolvers: [Resolver], faults: [Fault],
                timeout: Double, expect: DNSExpectations, records: [ClientRecord], clientPackets: [String: [DNSPacket]],
                resolverPackets: [String: [DNSPacket]], deadDaemons: [String]) {
        self.lab = lab
        self.name = name
        self.ttl = ttl
        self.servers = servers
        self.clients = clients
        self.resolvers = resolvers
        self.faults = faults
        self.timeout = timeout
        self.expect = expect
        self.records = records
        self.clientPackets = clientPackets
        self.resolverPackets = resolverPackets
        self.deadDaemons = deadDaemons
    }

    public func server(at address: IPv4Address) -> Server? { servers.first { $0.address == address } }
}

/// What a DNS lab claims.
public struct DNSExpectations: Sendable, Codable, Equatable {
    public enum Spread: String, Sendable, Codable, CaseIterable {
        /// Every server within a quarter of its fair share.
        case even
        /// Each connection goes where the answer the client received (captured), sorted as glibc sorts it, points.
        case predicted
        case none
    }

    public enum Errors: String, Sendable, Codable, CaseIterable {
        /// No connection fails.
        case none
        /// After a server's `down` fault, about 1/N of connections fail (those sent to it), from the fault on.
        case fault
        /// Not checked.
        case any
    }

    public enum Cache: String, Sendable, Codable, CaseIterable {
        /// The resolvers answer clients from their cache: fewer queries upstream than clients sent.
        case on
        /// Every client query goes upstream.
        case off
        case any
    }

    public var spread: Spread
    public var errors: Errors
    public var cache: Cache

    public init(spread: Spread = .predicted, errors: Errors = .none, cache: Cache = .any) {
        self.spread = spread
        self.errors = errors
        self.cache = cache
    }
}
