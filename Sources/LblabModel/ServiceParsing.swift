import LblabTypes

extension LabValidator {
    static let serviceKeys = ["name", "vip", "port", "protocol", "scheduler", "dispatcher", "servers", "persistence", "one_packet", "health_check"]
    static let persistenceKeys = ["timeout", "netmask"]
    static let expectKeys = ["distribution", "path", "arp"]

    /// `service:` (one mapping) or `services:` (a list of them).
    func parseServices(_ top: LabTree, nodes: [ParsedNode]) throws -> [ServiceSpec] {
        let example = "a mapping with vip, port, protocol, scheduler"
        var trees: [(key: String, tree: LabTree)] = []
        switch (top["service"], top["services"]) {
        case (.some, .some):
            throw fail(key: "services", line: top.keyLine("services"), "give either service: or services:, not both")
        case (.some(let one), .none):
            trees = [("service", one)]
        case (.none, .some(let many)):
            guard let items = many.items, !items.isEmpty else {
                throw fail("services", many, "must be a list of services", valid: "e.g. - {vip: 198.51.100.100, port: 80, scheduler: rr}")
            }
            trees = items.enumerated().map { ("services[\($0.offset)]", $0.element) }
        case (.none, .none):
            throw fail(key: "service", line: 1, "missing", valid: example)
        }
        let dispatchers = nodes.filter { $0.spec.role == .dispatcher }.map(\.spec.name)
        let reals = nodes.filter { $0.spec.role == .real }.map(\.spec.name)
        var services: [ServiceSpec] = []
        var lines: [LabTree] = []
        for (i, (key, tree)) in trees.enumerated() {
            let t = try mapping(key, tree, allowed: Self.serviceKeys)!
            let name = try string("\(key).name", t["name"]) ?? "svc\(i + 1)"
            if !isValidName(name, maxLength: 15) || name.contains("-") {
                throw fail("\(key).name", t["name"], "'\(name)' cannot name a service", valid: "1-15 of a-z and 0-9, starting with a letter")
            }
            let vipNode = try required(key, t, "vip", valid: "an IP address such as 198.51.100.100 or 2001:db8::100")
            let vip = try address("\(key).vip", vipNode, example: "198.51.100.100")
            let port = try int("\(key).port", t["port"], 1...65535, default: 80)
            let proto: TransportProtocol = try choice("\(key).protocol", t["protocol"], default: .tcp)
            let scheduler: Scheduler = try choice("\(key).scheduler", t["scheduler"], default: .rr)

            let dispatcher: String
            if let d = t["dispatcher"] {
                dispatcher = try string("\(key).dispatcher", d)!
                guard dispatchers.contains(dispatcher) else {
                    throw fail("\(key).dispatcher", d, "no dispatcher node named '\(dispatcher)'", valid: dispatchers.joined(separator: ", "))
                }
            } else if let primary = Self.vrrpPrimary(nodes) {
                dispatcher = primary   // a VRRP pair serves every service; the primary names it
            } else {
                guard dispatchers.count == 1 else {
                    throw fail("\(key).dispatcher", t, "missing: this lab has several dispatchers", valid: dispatchers.joined(separator: ", "))
                }
                dispatcher = dispatchers[0]
            }
            var servers = reals
            if let s = try list("\(key).servers", t["servers"]) {
                guard !s.isEmpty else { throw fail("\(key).servers", t["servers"], "must name at least one real server", valid: reals.joined(separator: ", ")) }
                servers = []
                for (text, node) in s {
                    guard reals.contains(text) else {
                        throw fail("\(key).servers", node, "no real server named '\(text)'", valid: reals.joined(separator: ", "))
                    }
                    if servers.contains(text) { throw fail("\(key).servers", node, "\(text) listed twice") }
                    servers.append(text)
                }
            }
            let persistence = try parsePersistence("\(key).persistence", t["persistence"], vip: vip)
            let onePacket = try t["one_packet"].map { try bool("\(key).one_packet", $0, default: false) }
            if onePacket == true, proto != .udp {
                throw fail("\(key).one_packet", t["one_packet"], "one_packet schedules each UDP datagram on its own; this service is \(proto.rawValue)", valid: "protocol: udp, or no one_packet")
            }
            let healthCheck = try parseHealthCheck("\(key).health_check", t["health_check"], servicePort: UInt16(port))
            let service = ServiceSpec(name: name, vip: vip, port: UInt16(port), proto: proto, scheduler: scheduler,
                                      dispatcher: dispatcher, servers: servers, persistence: persistence, onePacket: onePacket,
                                      healthCheck: healthCheck)
            if let other = services.first(where: { $0.name == name }) {
                throw fail("\(key).name", t["name"] ?? t, "service name '\(name)' is used twice (also \(other.label))")
            }
            if let other = services.first(where: { $0.dispatcher == dispatcher && $0.vip == vip && $0.port == service.port && $0.proto == proto }) {
                throw fail("\(key).vip", vipNode, "\(service.label) on \(dispatcher) is given twice (also service \(other.name))")
            }
            services.append(service)
            lines.append(vipNode)
        }
        return services
    }

    /// Defaults that depend on the services: rp_filter off and the tunnel on DR/TUN real servers,
    /// and, for NAT real servers, a default route through their dispatcher.
    func applyModeDefaults(_ parsed: [ParsedNode], services: [ServiceSpec]) -> [NodeSpec] {
        parsed.map { p in
            var n = p.spec
            guard n.role == .real else { return n }
            switch n.forward {
            case .route, .tunnel:
                n.rpFilter = p.rpFilter ?? 0
            case .masq:
                n.rpFilter = p.rpFilter
                // One default route per family the server speaks with its dispatcher.
                if !p.noDefaultRoute, let service = services.first(where: { $0.servers.contains(n.name) }),
                   let dispatcher = parsed.first(where: { $0.spec.name == service.dispatcher })?.spec {
                    for family in IPFamily.allCases where !n.routes.contains(where: { $0.isDefault && $0.destination.family == family }) {
                        guard let own = n.interfaces.flatMap(\.addresses).first(where: { a in
                                  a.family == family && dispatcher.interfaces.contains { $0.addresses.contains { $0.contains(a.address) } } }),
                              let gateway = dispatcher.interfaces.flatMap(\.addresses).first(where: { own.contains($0.address) }) else { continue }
                        n.routes.append(RouteSpec(destination: .defaultRoute(family), gateway: gateway.address))
                    }
                }
            }
            n.tunnel = p.tunnel ?? (n.forward == .tunnel)
            return n
        }
    }

    /// `persistence: SECONDS` or `persistence: {timeout: SECONDS, netmask: 255.255.255.0}` (an
    /// IPv4 mask, or a prefix length such as 24 or 64).
    func parsePersistence(_ key: String, _ node: LabTree?, vip: IPAddress) throws -> PersistenceSpec? {
        guard let node else { return nil }
        let width = vip.family == .ipv4 ? 32 : 128
        let seconds = 1...31_536_000
        if node.scalar != nil { return PersistenceSpec(timeout: try int(key, node, seconds, default: 300), prefixLength: width) }
        let t = try mapping(key, node, allowed: Self.persistenceKeys)!
        let timeout = try int("\(key).timeout", t["timeout"], seconds, default: 300)
        var prefix = width
        if let m = t["netmask"], let text = try string("\(key).netmask", m) {
            if let n = Int(text), (0...width).contains(n) {
                prefix = n
            } else if width == 32, let a = IPv4Address(text), ~a.value == 0 || (~a.value & (~a.value &+ 1)) == 0 {
                prefix = a.value.nonzeroBitCount
            } else {
                throw fail("\(key).netmask", m, "'\(text)' is not a netmask", valid: width == 32 ? "e.g. 255.255.255.0 or 24" : "a prefix length 0...128, e.g. 64")
            }
        }
        return PersistenceSpec(timeout: timeout, prefixLength: prefix)
    }

    func parseExpect(_ top: LabTree, services: [ServiceSpec], traffic: TrafficSpec) throws -> ExpectSpec {
        let t = try mapping("expect", top["expect"], allowed: Self.expectKeys)
        let expect = ExpectSpec(
            distribution: try choice("expect.distribution", t?["distribution"], default: .scheduler),
            path: try choice("expect.path", t?["path"], default: .mode),
            arp: try choice("expect.arp", t?["arp"], default: .dispatcherOnly))
        return expect
    }
}
