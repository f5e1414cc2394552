import LblabTypes

/// The authoritative DNS server of a lab (dnsmasq): one name, one A record per web server.
public struct DNSServerConfig: Sendable, Equatable, Codable {
    public var listen: IPv4Address
    public var name: String
    public var ttl: Int
    public var addresses: [IPv4Address]

    public init(listen: IPv4Address, name: String, ttl: Int, addresses: [IPv4Address]) {
        self.listen = listen
        self.name = name
        self.ttl = ttl
        self.addresses = addresses
    }

    /// dnsmasq as lblab runs it: in the foreground (`--no-daemon`: no fork, no pid file, no change of
    /// user, log to stderr), no upstream servers, no /etc/hosts, only the lab's address, one
    /// `--host-record` per address with the lab's TTL (dnsmasq rotates their order on each answer).
    public var arguments: [String] {
        ["dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces",
         "--listen-address=\(listen)", "--port=53"]
            + addresses.map { "--host-record=\(name),\($0),\(ttl)" }
    }
}

/// A caching resolver of a lab (unbound), forwarding the lab's zone to its DNS server.
public struct ResolverConfig: Sendable, Equatable, Codable {
    public var listen: IPv4Address
    public var upstream: IPv4Address
    /// The name the lab serves; its parent is the forwarded zone (`www.lab.test` -> `lab.test.`).
    public var name: String
    /// false: `cache-max-ttl: 0`, nothing stays in the cache (every query goes upstream).
    public var cache: Bool
    /// unbound's `rrset-roundrobin`: rotate the order of a cached answer for each client.
    public var roundRobin: Bool

    public init(listen: IPv4Address, upstream: IPv4Address, name: String, cache: Bool, roundRobin: Bool) {
        self.listen = listen
        self.upstream = upstream
        self.name = name
        self.cache = cache
        self.roundRobin = roundRobin
    }

    /// The zone forwarded upstream: the name's parent.
    public var zone: String {
        let parts = name.split(separator: ".")
        return (parts.count > 1 ? parts.dropFirst().joined(separator: ".") : name) + "."
    }

    /// The top-level domain unbound would otherwise answer itself (`.test` is a locally served zone).
    public var topLevel: String { (name.split(separator: ".").last.map(String.init) ?? name) + "." }

    /// unbound.conf for this resolver: in the foreground, no chroot, no user change, no pid file, no
    /// DNSSEC validation (iterator only), one thread, the lab's zone forwarded to its DNS server.
    public var configuration: String {
        """
        server:
          interface: \(listen)
          port: 53
          access-control: 0.0.0.0/0 allow
          do-ip6: no
          do-daemonize: no
          username: ""
          chroot: ""
          directory: "/"
          pidfile: ""
          use-syslog: no
          logfile: ""
          verbosity: 1
          num-threads: 1
          so-reuseport: no
          module-config: "iterator"
          do-not-query-localhost: no
          local-zone: "\(topLevel)" nodefault
          domain-insecure: "\(topLevel)"
          rrset-roundrobin: \(roundRobin ? "yes" : "no")
          cache-max-ttl: \(cache ? 86400 : 0)
          cache-max-negative-ttl: \(cache ? 3600 : 0)
        forward-zone:
          name: "\(zone)"
          forward-addr: \(upstream)
        remote-control:
          control-enable: no

        """
    }

    /// unbound as lblab runs it: `-d` foreground, `-p` no pid file, `-c` the configuration.
    public func arguments(configPath: String) -> [String] { ["unbound", "-d", "-p", "-c", configPath] }
}

/// The `dig` queries a learner can type to see what each server hands out.
public enum DigCommands {
    public static func query(_ name: String, at server: IPv4Address) -> String { "dig +noall +answer @\(server) \(name)" }
}
