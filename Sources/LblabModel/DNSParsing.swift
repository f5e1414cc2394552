import LblabTypes

extension LabMode {
    /// The roles a lab of this mode may have.
    public var allowedRoles: [NodeRole] {
        usesIPVS ? [.client, .dispatcher, .real] : [.client, .dns, .resolver, .web]
    }

    /// The roles it must have.
    var requiredRoles: [NodeRole] {
        usesIPVS ? [.client, .dispatcher, .real] : [.client, .dns, .web]
    }
}

/// DNS labs (`mode: dns`): the `dns:` section, the DNS keys of nodes, `faults:` and the DNS expectations.
extension LabValidator {
    static let dnsNodeKeys = ["resolver", "upstream", "cache", "round_robin", "delay_ms"]
    static let dnsKeys = ["name", "ttl", "lookups", "interval_ms", "timeout", "claim"]
    static let dnsExpectKeys = ["distribution", "errors", "cache"]
    static let faultKeys = ["at", "node", "action", "delay_ms", "port"]
    /// Which role has each DNS node key.
    static let dnsKeyRole: [String: NodeRole] = ["resolver": .client, "upstream": .resolver, "cache": .resolver, "round_robin": .resolver, "delay_ms": .web]

    /// A node's DNS keys, each only on the role that has it.
    func parseDNSNode(_ key: String, _ t: LabTree, role: NodeRole, mode: LabMode) throws -> DNSNodeSpec? {
        if mode.usesIPVS, let k = Self.dnsNodeKeys.first(where: { t[$0] != nil }) {
            throw fail("\(key).\(k)", t[k], "\(k) is a key of DNS labs' nodes", valid: "mode: dns, or no \(k)")
        }
        for k in Self.dnsNodeKeys where t[k] != nil && Self.dnsKeyRole[k] != role {
            throw fail("\(key).\(k)", t[k], "only \(Self.dnsKeyRole[k]!.rawValue) nodes have a \(k)")
        }
        guard !mode.usesIPVS else { return nil }
        switch role {
        case .client, .resolver, .web: break
        case .dispatcher, .real, .dns: return nil
        }
        return DNSNodeSpec(resolver: try string("\(key).resolver", t["resolver"]), upstream: try string("\(key).upstream", t["upstream"]),
                           cache: try bool("\(key).cache", t["cache"], default: true),
                           roundRobin: try bool("\(key).round_robin", t["round_robin"], default: true),
                           delayMillis: try int("\(key).delay_ms", t["delay_ms"], 0...10_000, default: 0))
    }

    /// An IPVS lab with DNS keys: say which mode they need.
    func rejectDNSKeys(_ top: LabTree) throws {
        if top["dns"] != nil { throw fail(key: "dns", line: top.keyLine("dns"), "dns: is for DNS round-robin labs", valid: "mode: dns, or no dns: key") }
    }

    func validateDNSLab(_ top: LabTree, name: String, mode: LabMode, segments: [SegmentSpec], arpFix: Bool, parsed: [ParsedNode]) throws -> LabSpec {
        for k in ["service", "services", "traffic", "arp_fix"] where top[k] != nil {
            throw fail(key: k, line: top.keyLine(k), "a DNS lab has no \(k): (no IPVS)",
                       valid: k == "traffic" ? "dns: {lookups: 100, interval_ms: 20, timeout: 1}" : "remove it")
        }
        var nodes = parsed.map(\.spec)
        let d = try mapping("dns", try required("", top, "dns", valid: "{name: www.lab.test, ttl: 5}"), allowed: Self.dnsKeys)!
        let dnsName = try string("dns.name", d["name"]) ?? "www.lab.test"
        let labels = dnsName.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty && $0.count <= 63 && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") } }) else {
            throw fail("dns.name", d["name"], "'\(dnsName)' is not a host name with a domain", valid: "e.g. www.lab.test")
        }
        var timeout = 1.0
        if let n = d["timeout"], let s = try string("dns.timeout", n) {
            guard let v = Double(s), v > 0, v <= 30 else { throw fail("dns.timeout", n, "'\(s)' is not a number of seconds in (0, 30]") }
            timeout = v
        }
        let dns = DNSSpec(name: dnsName.lowercased(), ttl: try int("dns.ttl", d["ttl"], 0...604_800, default: 5),
                          lookups: try int("dns.lookups", d["lookups"], 1...10_000, default: 100),
                          intervalMillis: try int("dns.interval_ms", d["interval_ms"], 0...60_000, default: 20),
                          claim: try string("dns.claim", d["claim"]) ?? "")

        // Who asks whom: a client's resolver is a dns or resolver node; a resolver's upstream a dns node.
        let named = { (role: NodeRole) in nodes.filter { $0.role == role }.map(\.name) }
        let servers = named(.dns), resolvers = named(.resolver)
        for i in nodes.indices {
            let n = nodes[i]
            let (key, tree) = nodeTree(n, top)
            switch n.role {
            case .client:
                let choices = resolvers + servers
                if let r = n.dns?.resolver {
                    guard choices.contains(r) else { throw fail("\(key).resolver", tree?["resolver"], "no dns or resolver node named '\(r)'", valid: choices.joined(separator: ", ")) }
                } else {
                    guard let only = resolvers.count == 1 ? resolvers.first : (resolvers.isEmpty && servers.count == 1 ? servers.first : nil) else {
                        throw fail("\(key).resolver", tree, "missing: this lab has several dns/resolver nodes", valid: choices.joined(separator: ", "))
                    }
                    nodes[i].dns?.resolver = only
                }
            case .resolver:
                if let u = n.dns?.upstream {
                    guard servers.contains(u) else { throw fail("\(key).upstream", tree?["upstream"], "no dns node named '\(u)'", valid: servers.joined(separator: ", ")) }
                } else {
                    guard servers.count == 1 else { throw fail("\(key).upstream", tree, "missing: this lab has several dns nodes", valid: servers.joined(separator: ", ")) }
                    nodes[i].dns?.upstream = servers[0]
                }
            case .dispatcher, .real, .dns, .web:
                break
            }
        }

        let e = try mapping("expect", top["expect"], allowed: Self.dnsExpectKeys)
        let distribution: DistributionRule = try choice("expect.distribution", e?["distribution"], default: .scheduler)
        switch distribution {
        case .scheduler, .equal, .none: break
        case .weights: throw fail("expect.distribution", e?["distribution"], "DNS has no weights", valid: "scheduler (what the captured answers predict), equal, none")
        }
        var expect = ExpectSpec(distribution: distribution, path: .none, arp: .none)
        expect.errors = try choice("expect.errors", e?["errors"], default: ErrorsRule.none)
        expect.cache = try choice("expect.cache", e?["cache"], default: CacheRule.any)

        let clients = nodes.filter { $0.role == .client }
        let traffic = TrafficSpec(connections: dns.lookups * clients.count, concurrency: clients.count, timeout: timeout,
                                  client: clients[0].name, service: "")
        var spec = LabSpec(name: name, description: try string("description", top["description"]) ?? "", mode: mode, segments: segments,
                           nodes: nodes, services: [], arpFix: false, traffic: traffic, expect: expect, source: nil)
        spec.dns = dns
        spec.faults = try parseFaults(top, nodes: nodes, serverRole: .web)
        if expect.errors == .fault, !(spec.faults ?? []).contains(where: { $0.action == .down }) {
            throw fail("expect.errors", e?["errors"], "errors: fault needs a fault", valid: "faults: [{at: 2.0, node: <web server>, action: down}]")
        }
        if expect.cache == .on || expect.cache == .off, resolvers.isEmpty {
            throw fail("expect.cache", e?["cache"], "this lab has no resolver node to cache", valid: "any, or a node with role resolver")
        }
        try checkTopology(spec, top: top)
        return spec
    }

    /// `faults: [{at: SECONDS, node: NAME, action: down|up|unplug|plug|slow, delay_ms: MS}]`, on the
    /// lab's servers (real or web nodes; web nodes: down and up).
    func parseFaults(_ top: LabTree, nodes: [NodeSpec], serverRole: NodeRole) throws -> [FaultSpec]? {
        guard let f = top["faults"] else { return nil }
        guard let items = f.items else { throw fail("faults", f, "must be a list", valid: "e.g. [{at: 2.0, node: web2, action: down}]") }
        let servers = nodes.filter { $0.role == serverRole }.map(\.name)
        return try items.enumerated().map { i, item in
            let key = "faults[\(i)]"
            let m = try mapping(key, item, allowed: Self.faultKeys)!
            let atNode = try required(key, m, "at", valid: "seconds after the traffic starts, e.g. 2.0")
            guard let text = try string("\(key).at", atNode), let at = Double(text), at >= 0, at <= 3600 else {
                throw fail("\(key).at", atNode, "'\(atNode.scalar ?? "")' is not a number of seconds in [0, 3600]")
            }
            let nodeNode = try required(key, m, "node", valid: servers.joined(separator: ", "))
            let node = try string("\(key).node", nodeNode)!
            guard servers.contains(node) else {
                let what = serverRole == .dispatcher ? "a VRRP lab's faults act on its dispatchers" : "a fault acts on a server"
                throw fail("\(key).node", nodeNode, "no \(serverRole.rawValue) node named '\(node)': \(what)", valid: servers.joined(separator: ", "))
            }
            let actionNode = try required(key, m, "action", valid: FaultSpec.Action.allCases.map(\.rawValue).joined(separator: ", "))
            let action: FaultSpec.Action = try choice("\(key).action", actionNode, default: .down)
            switch action {
            case .down, .up: break
            case .unplug, .plug:
                if serverRole == .web {
                    throw fail("\(key).action", actionNode, "a DNS lab's faults stop and start its web servers' agents", valid: "down, up")
                }
            case .slow:
                if serverRole == .web {
                    throw fail("\(key).action", actionNode, "a DNS lab's faults stop and start its web servers' agents", valid: "down, up")
                }
                if serverRole == .dispatcher {
                    throw fail("\(key).action", actionNode, "slow delays a real server's HTTP agent; a dispatcher runs keepalived", valid: "down, up, unplug, plug")
                }
            }
            var delay: Int?
            if let d = m["delay_ms"] {
                guard action == .slow else { throw fail("\(key).delay_ms", d, "delay_ms is the delay of a slow fault; this one is \(action.rawValue)", valid: "action: slow, or no delay_ms") }
                delay = try int("\(key).delay_ms", d, 1...10_000, default: FaultSpec.defaultDelayMillis)
            }
            var port: UInt16?
            if let p = m["port"] {
                guard serverRole == .real, action != .unplug, action != .plug else {
                    throw fail("\(key).port", p, "port picks one agent of a real server for down, up or slow", valid: "no port")
                }
                port = UInt16(try int("\(key).port", p, 1...65535, default: 80))
            }
            return FaultSpec(at: at, node: node, action: action, delayMillis: action == .slow ? (delay ?? FaultSpec.defaultDelayMillis) : nil, port: port)
        }.sorted { $0.at < $1.at }
    }
}
