/// How a lab's dispatcher forwards requests to its real servers: the LVS method the lab teaches.
/// The mode picks the default forwarding of the real servers, how the plan sets them up, and the
/// packet-path rule `lblab test` judges.
public enum LabMode: String, Codable, Sendable, CaseIterable {
    /// LVS-DR: requests in through the dispatcher, replies straight from the real server.
    case dr
    /// LVS-NAT: the dispatcher rewrites addresses both ways; replies come back through it.
    case nat
    /// LVS-TUN: requests tunnelled (IP-in-IP) to the real server, replies straight to the client.
    case tun
    /// No IPVS at all: DNS round robin. Clients resolve a name (dnsmasq, maybe behind an unbound
    /// cache) before each connection and connect to web servers directly.
    case dns

    /// The forwarding method this mode uses unless a real server says otherwise.
    public var defaultForwarding: Forwarding {
        switch self {
        case .dr: .route
        case .nat: .masq
        case .tun: .tunnel
        // A DNS lab has no real servers behind IPVS: nothing forwards, this value is never used.
        case .dns: .route
        }
    }

    /// Whether the lab has a dispatcher and an IPVS table.
    public var usesIPVS: Bool {
        switch self {
        case .dr, .nat, .tun: true
        case .dns: false
        }
    }
}

/// IPVS forwarding method of one real server, named as `ipvsadm -Ln` prints it (lower case).
public enum Forwarding: String, Codable, Sendable, CaseIterable {
    /// Direct routing (`-g`, gatewaying): only the destination MAC changes.
    case route
    /// NAT (`-m`, masquerading): the destination address is rewritten.
    case masq
    /// IP-in-IP tunnelling (`-i`).
    case tunnel

    /// The ipvsadm option that selects it.
    public var ipvsadmFlag: String {
        switch self {
        case .route: "-g"
        case .masq: "-m"
        case .tunnel: "-i"
        }
    }

    /// The Forward column of `ipvsadm -Ln`.
    public var ipvsadmName: String {
        switch self {
        case .route: "Route"
        case .masq: "Masq"
        case .tunnel: "Tunnel"
        }
    }

    /// The lab mode whose path this forwarding produces.
    public var mode: LabMode {
        switch self {
        case .route: .dr
        case .masq: .nat
        case .tunnel: .tun
        }
    }
}

/// The transport protocol of a virtual service.
public enum TransportProtocol: String, Codable, Sendable, CaseIterable {
    case tcp, udp

    /// `IPPROTO_TCP` (6) or `IPPROTO_UDP` (17).
    public var number: UInt8 {
        switch self {
        case .tcp: 6
        case .udp: 17
        }
    }

    /// `-t` or `-u`, as ipvsadm takes a service.
    public var ipvsadmFlag: String {
        switch self {
        case .tcp: "-t"
        case .udp: "-u"
        }
    }

    /// `TCP` / `UDP`, as `ipvsadm -Ln` prints it.
    public var ipvsadmName: String { rawValue.uppercased() }
}

/// The IPVS schedulers the kernel ships (`net/netfilter/ipvs/ip_vs_<name>.c`); the raw value is
/// the kernel's scheduler name (module `ip_vs_<name>`).
public enum Scheduler: String, Codable, Sendable, CaseIterable {
    /// Round robin: in turn, evenly.
    case rr
    /// Weighted round robin: a higher weight is chosen more often.
    case wrr
    /// Least connections (active*256 + inactive).
    case lc
    /// Weighted least connections: least overhead per weight.
    case wlc
    /// Shortest expected delay: least (active+1)/weight.
    case sed
    /// Never queue: an idle server first, else as sed.
    case nq
    /// Source hashing: the client address picks the server.
    case sh
    /// Destination hashing: the destination address picks the server.
    case dh
    /// Locality-based least connection: one server per destination until it is overloaded.
    case lblc
    /// lblc with replication: a set of servers per destination.
    case lblcr
    /// Maglev hashing: consistent hashing of the client address.
    case mh
    /// Weighted failover: the highest-weight server that is not overloaded.
    case fo
    /// Weighted overflow: the highest-weight server until its active connections pass its weight.
    case ovf
    /// Weighted random twos choice (kernels 5.11 and later).
    case twos

    /// The kernel module that implements it.
    public var module: String { "ip_vs_\(rawValue)" }
}

/// The timing of keepalived's health checks, and the bounds it implies: the one place the lab's
/// `health_check:` (LblabModel) and the generated keepalived.conf (LblabKeepalived) take them from.
public struct CheckTiming: Sendable, Equatable {
    /// Seconds between checks (`delay_loop`), a check's timeout (`connect_timeout`), the retries
    /// after a failed check (`retry`) and the pause before each (`delay_before_retry`).
    public var interval: Double
    public var timeout: Double
    public var retries: Int
    public var retryDelay: Double

    public init(interval: Double, timeout: Double, retries: Int, retryDelay: Double) {
        self.interval = interval
        self.timeout = timeout
        self.retries = retries
        self.retryDelay = retryDelay
    }

    /// The longest a dead server stays in IPVS: the wait for the next check, then the first attempt
    /// and each retry timing out, with the pauses between them: `interval + (retries + 1) × timeout
    /// + retries × retry_delay`. (A refused connect fails at once; a server that drops packets
    /// takes the whole timeout.)
    public var detectionBound: Double { interval + Double(retries + 1) * timeout + Double(retries) * retryDelay }

    /// The longest a server that came back stays out: the wait for the next check of a failed
    /// server (its retries included), then one good attempt: `interval + retries × retry_delay + timeout`.
    public var readdBound: Double { interval + Double(retries) * retryDelay + timeout }
}

/// An IPVS connection sync daemon's role (`ipvsadm --start-daemon master|backup`), as the kernel
/// reports it over generic netlink (LblabNetlink maps it to and from `IP_VS_STATE_*`).
public enum IPVSSyncDaemonState: String, Sendable, Codable, CaseIterable {
    /// Sends this node's connections.
    case master
    /// Receives another node's connections into this table.
    case backup
}
