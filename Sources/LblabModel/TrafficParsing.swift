import LblabTypes

extension LabValidator {
    /// The keys a phase takes; under `traffic:` they are also the defaults of every phase.
    static let phaseKeys = ["name", "client", "clients", "service", "connections", "concurrency", "hold", "trace", "pause",
                            "datagrams_per_socket", "interval_ms", "reuse"]
    static let trafficKeys = phaseKeys.filter { $0 != "name" } + ["timeout", "phases"]
    /// Connections (or datagrams) one client can send in one run: one fresh source port each.
    static let maxConnectionsPerClient = 60_000

    /// `traffic:` one phase made of its keys, or `phases:` a list of phases, each taking the
    /// `traffic:` keys as defaults.
    func parseTraffic(_ top: LabTree, nodes: [NodeSpec], services: [ServiceSpec]) throws -> TrafficSpec {
        let t = try mapping("traffic", top["traffic"], allowed: Self.trafficKeys)
        var timeout = 5.0
        if let n = t?["timeout"], let s = try string("traffic.timeout", n) {
            guard let v = Double(s), v > 0, v <= 300 else { throw fail("traffic.timeout", n, "'\(s)' is not a number of seconds in (0, 300]") }
            timeout = v
        }
        let phaseTrees: [(key: String, tree: LabTree?)]
        if let list = t?["phases"] {
            guard let items = list.items, !items.isEmpty else {
                throw fail("traffic.phases", list, "must be a list of phases",
                           valid: "e.g. - {name: long, connections: 10, hold: {until: end}}")
            }
            phaseTrees = items.enumerated().map { ("traffic.phases[\($0.offset)]", $0.element) }
        } else {
            phaseTrees = [("traffic", nil)]
        }
        // Names first: a phase's `hold: {until: NAME}` names a later one.
        var names: [String] = []
        for (i, (key, tree)) in phaseTrees.enumerated() {
            let p = try mapping(key, tree, allowed: Self.phaseKeys)
            let name = try string("\(key).name", p?["name"]) ?? TrafficPhase.defaultName(i)
            if !isValidName(name, maxLength: 24) {
                throw fail("\(key).name", p?["name"], "'\(name)' cannot name a phase", valid: "1-24 of a-z, 0-9 and '-', starting with a letter")
            }
            if names.contains(name) { throw fail("\(key).name", p?["name"], "phase name '\(name)' is used twice") }
            names.append(name)
        }
        var phases: [TrafficPhase] = []
        for (i, (key, tree)) in phaseTrees.enumerated() {
            phases.append(try parsePhase(i, key: key, tree, defaults: t, names: names, nodes: nodes, services: services))
        }
        var perClient: [String: Int] = [:]
        for p in phases {
            for (k, c) in p.clients.enumerated() {
                perClient[c, default: 0] += p.connections / p.clients.count + (k < p.connections % p.clients.count ? 1 : 0)
            }
        }
        if let (c, n) = perClient.first(where: { $0.value > Self.maxConnectionsPerClient }) {
            throw fail("traffic", top["traffic"], "client \(c) would send \(n) connections: at most \(Self.maxConnectionsPerClient) per client and run (one fresh source port each)",
                       valid: "fewer connections, or more clients")
        }
        return TrafficSpec(timeout: timeout, phases: phases)
    }

    /// One phase: its own key, else the `traffic:` key of the same name, else the default.
    private func parsePhase(_ index: Int, key: String, _ tree: LabTree?, defaults: LabTree?, names: [String],
                            nodes: [NodeSpec], services: [ServiceSpec]) throws -> TrafficPhase {
        func value(_ k: String) -> (key: String, node: LabTree)? {
            if let v = tree?[k] { return ("\(key).\(k)", v) }
            if let v = defaults?[k] { return ("traffic.\(k)", v) }
            return nil
        }
        let connections = try value("connections").map { try int($0.key, $0.node, 1...Self.maxConnectionsPerClient, default: 100) } ?? 100
        let concurrency = try value("concurrency").map { try int($0.key, $0.node, 1...512, default: 8) } ?? 8
        let clients = try parseClients(tree: tree, key: key, defaults: defaults, nodes: nodes)

        var service = services[0]
        if let (k, s) = value("service") {
            let name = try string(k, s)!
            guard let found = services.first(where: { $0.name == name }) else {
                throw fail(k, s, "no service named '\(name)'", valid: services.map(\.name).joined(separator: ", "))
            }
            service = found
        }

        var hold = Hold.none
        if let (k, h) = value("hold") {
            hold = try parseHold(k, h, phase: index, names: names)
            if hold.holds, service.proto == .udp {
                throw fail(k, h, "a UDP service has no connection to hold (service \(service.name) is \(service.label))",
                           valid: "leave hold out for UDP")
            }
        }
        let trace = try value("trace").map { try bool($0.key, $0.node, default: false) } ?? false
        var pause = 0.0
        if let (k, n) = value("pause"), let s = try string(k, n) {
            guard let v = Double(s), v >= 0, v <= 600 else { throw fail(k, n, "'\(s)' is not a number of seconds in 0...600") }
            pause = v
        }
        var perSocket = 1
        if let (k, n) = value("datagrams_per_socket") {
            perSocket = try int(k, n, 1...Self.maxConnectionsPerClient, default: 1)
            if service.proto != .udp, perSocket != 1 {
                throw fail(k, n, "datagrams_per_socket is for UDP services (service \(service.name) is \(service.label))",
                           valid: "leave it out, or send to a UDP service")
            }
        }
        let interval = try value("interval_ms").map { try int($0.key, $0.node, 1...60_000, default: 20) }
        var phase = TrafficPhase(name: names[index], clients: clients, service: service.name, connections: connections,
                                 concurrency: trace || interval != nil ? 1 : concurrency, hold: hold, trace: trace, pause: pause,
                                 datagramsPerSocket: perSocket, intervalMillis: interval)
        if let (k, n) = value("reuse"), try bool(k, n, default: false) {
            guard hold.holds else {
                throw fail(k, n, "reuse sends a second request on a held connection: this phase holds none", valid: "hold: {until: PHASE} with reuse: true")
            }
            phase.reuse = true
        }
        return phase
    }

    /// `clients:` node names or `count:` group names (a group gives its members in order), or
    /// `client:` one name; default every client node in file order.
    private func parseClients(tree: LabTree?, key: String, defaults: LabTree?, nodes: [NodeSpec]) throws -> [String] {
        let clientNodes = nodes.filter { $0.role == .client }
        let groups = clientNodes.compactMap(\.group).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        let valid = (clientNodes.map(\.name) + groups.map { "\($0) (group)" }).joined(separator: ", ")
        // The phase's own choice wins over the defaults; `client` and `clients` on one level clash.
        for (level, levelKey) in [(tree, key), (defaults, "traffic")] {
            guard let level else { continue }
            if level["client"] != nil, level["clients"] != nil {
                throw fail("\(levelKey).clients", level["clients"], "give either client: or clients:, not both")
            }
            let (k, node) = level["clients"].map { ("\(levelKey).clients", $0) } ?? level["client"].map { ("\(levelKey).client", $0) } ?? ("", nil)
            guard let node, let items = try list(k, node) else { continue }
            guard !items.isEmpty else { throw fail(k, node, "must name at least one client", valid: valid) }
            var out: [String] = []
            for (text, item) in items {
                let members: [String]
                if let n = nodes.first(where: { $0.name == text }) {
                    guard n.role == .client else {
                        throw fail(k, item, "node '\(text)' is a \(n.role == .real ? "real server" : n.role.rawValue), not a client", valid: valid)
                    }
                    members = [text]
                } else if groups.contains(text) {
                    members = clientNodes.filter { $0.group == text }.map(\.name)
                } else {
                    throw fail(k, item, "no client node named '\(text)'", valid: valid)
                }
                for m in members {
                    if out.contains(m) { throw fail(k, item, "client \(m) named twice") }
                    out.append(m)
                }
            }
            return out
        }
        return clientNodes.map(\.name)
    }

    /// `hold: SECONDS` (0: none) or `hold: {until: PHASE}` / `hold: {until: end}`.
    private func parseHold(_ key: String, _ node: LabTree, phase: Int, names: [String]) throws -> Hold {
        let valid = "seconds (e.g. 5), {until: end} or {until: <a later phase>}"
        if let s = node.scalar {
            guard let v = Double(s), v >= 0, v <= 3600 else { throw fail(key, node, "'\(s)' is not a number of seconds in 0...3600", valid: valid) }
            return v == 0 ? .none : .seconds(v)
        }
        let m = try mapping(key, node, allowed: ["until"])!
        let u = try required(key, m, "until", valid: valid)
        let name = try string("\(key).until", u)!
        if name == "end" { return .end }
        guard let i = names.firstIndex(of: name) else {
            throw fail("\(key).until", u, "no phase named '\(name)'", valid: (["end"] + names.dropFirst(phase + 1)).joined(separator: ", "))
        }
        guard i > phase else {
            throw fail("\(key).until", u, "phase '\(name)' is not after this one: a connection can only be held until a later phase is over",
                       valid: (["end"] + names.dropFirst(phase + 1)).joined(separator: ", "))
        }
        return .untilPhase(i)
    }
}
