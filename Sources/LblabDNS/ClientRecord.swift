import LblabTypes

/// One connection of a resolving client, as `lblab-agent --resolve-client` prints it:
/// `t=START ms=LATENCY addrs=A,B,... chosen=A server=NODE err=ERROR` ('-' for none).
public struct ClientRecord: Sendable, Equatable, Codable {
    public var client: String
    /// When the lookup started, seconds since the Unix epoch.
    public var start: Double
    /// Lookup, connection and answer, in milliseconds.
    public var latencyMillis: Double
    /// What getaddrinfo returned, in its order.
    public var addresses: [IPv4Address]
    /// The address connected to (the first), if the name resolved.
    public var chosen: IPv4Address?
    /// The node that answered (its agent's X-Lblab-Node), if any.
    public var server: String?
    /// What went wrong (`resolve:-2`, `connect:ECONNREFUSED`, `timeout`), if anything.
    public var error: String?

    public init(client: String, start: Double, latencyMillis: Double, addresses: [IPv4Address], chosen: IPv4Address?,
                server: String?, error: String?) {
        self.client = client
        self.start = start
        self.latencyMillis = latencyMillis
        self.addresses = addresses
        self.chosen = chosen
        self.server = server
        self.error = error
    }

    /// Parses one line; nil when it is not a record line.
    public init?(line: Substring, client: String) {
        var fields: [Substring: Substring] = [:]
        for part in line.split(separator: " ") {
            guard let eq = part.firstIndex(of: "=") else { return nil }
            fields[part[..<eq]] = part[part.index(after: eq)...]
        }
        guard let t = fields["t"].flatMap({ Double($0) }), let ms = fields["ms"].flatMap({ Double($0) }),
              let addrs = fields["addrs"], let chosen = fields["chosen"], let server = fields["server"], let err = fields["err"] else { return nil }
        self.client = client
        start = t
        latencyMillis = ms
        addresses = addrs == "-" ? [] : addrs.split(separator: ",").compactMap { IPv4Address(String($0)) }
        self.chosen = chosen == "-" ? nil : IPv4Address(String(chosen))
        self.server = server == "-" ? nil : String(server)
        error = err == "-" ? nil : String(err)
    }

    /// Every record line of a client's output (other lines are skipped).
    public static func parse(_ output: String, client: String) -> [ClientRecord] {
        output.split(separator: "\n").compactMap { ClientRecord(line: $0, client: client) }
    }
}
