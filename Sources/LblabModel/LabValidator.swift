import LblabTypes

/// Turns a lab tree into a `LabSpec`, or the first error with its file, key and what is valid.
struct LabValidator {
    let file: String
    let defaultName: String

    static let topKeys = ["name", "description", "mode", "service", "arp_fix", "nodes", "traffic", "expect"]
    static let serviceKeys = ["vip", "port", "protocol", "scheduler"]
    static let nodeKeys = ["role", "address", "weight", "forward"]
    static let trafficKeys = ["connections", "concurrency", "timeout"]
    static let expectKeys = ["distribution", "path", "arp"]
    /// Names used by lblab itself inside a lab: the switch namespace and its bridge.
    static let reservedNodeNames = ["switch", "br0", "lo"]

    func fail(_ key: String, _ node: LabTree?, _ problem: String, valid: String? = nil) -> LabFileError {
        LabFileError(file: node?.setBy ?? file, key: key, line: node?.setBy == nil ? node?.line : nil, problem: problem, valid: valid)
    }

    /// An error about a key itself (its name, or what is under it as a whole), at the key's line.
    func fail(key: String, line: Int?, _ problem: String, valid: String? = nil) -> LabFileError {
        LabFileError(file: file, key: key, line: line, problem: problem, valid: valid)
    }

    func mapping(_ key: String, _ node: LabTree?, allowed: [String]) throws -> LabTree? {
        guard let node else { return nil }
        guard let pairs = node.pairs else {
            throw fail(key, node, "must be a mapping", valid: "keys \(allowed.joined(separator: ", "))")
        }
        var seen = Set<String>()
        for (k, line, v) in pairs {
            let full = key.isEmpty ? k : "\(key).\(k)"
            if !allowed.contains(k) {
                throw v.setBy.map { _ in fail(full, v, "unknown key '\(k)'", valid: allowed.joined(separator: ", ")) }
                    ?? fail(key: full, line: line, "unknown key '\(k)'", valid: allowed.joined(separator: ", "))
            }
            if !seen.insert(k).inserted { throw fail(key: full, line: line, "given twice") }
        }
        return node
    }

    func string(_ key: String, _ node: LabTree?) throws -> String? {
        guard let node else { return nil }
        guard let s = node.scalar else { throw fail(key, node, "must be a single value") }
        return s
    }

    func required(_ key: String, _ parent: LabTree, _ child: String, valid: String) throws -> LabTree {
        guard let v = parent[child] else {
            throw fail(key.isEmpty ? child : "\(key).\(child)", parent, "missing", valid: valid)
        }
        return v
    }

    func int(_ key: String, _ node: LabTree?, _ range: ClosedRange<Int>, default def: Int) throws -> Int {
        guard let s = try string(key, node) else { return def }
        guard let v = Int(s), range.contains(v) else {
            throw fail(key, node, "'\(s)' is not a whole number in \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    func choice<T: RawRepresentable & CaseIterable>(_ key: String, _ node: LabTree?, default def: T) throws -> T where T.RawValue == String {
        guard let s = try string(key, node) else { return def }
        guard let v = T(rawValue: s) else {
            throw fail(key, node, "'\(s)' is not allowed", valid: T.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return v
    }

    func bool(_ key: String, _ node: LabTree?, default def: Bool) throws -> Bool {
        guard let s = try string(key, node) else { return def }
        switch s.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw fail(key, node, "'\(s)' is not a boolean", valid: "true, false")
        }
    }

    func validate(_ tree: LabTree) throws -> LabSpec {
        let top = try mapping("", tree, allowed: Self.topKeys)!

        let name = try string("name", top["name"]) ?? defaultName
        if !isValidName(name, maxLength: 24) {
            throw fail("name", top["name"], "'\(name)' cannot name a lab", valid: "1-24 of a-z, 0-9 and '-', starting with a letter")
        }
        let mode: LabMode = try choice("mode", top["mode"], default: .dr)
        if mode != .dr {
            throw fail("mode", top["mode"], "mode '\(mode.rawValue)' is not supported yet", valid: "dr")
        }

        let serviceTree = try mapping("service", try required("", top, "service", valid: "a mapping with vip, port, protocol, scheduler"), allowed: Self.serviceKeys)!
        let vipNode = try required("service", serviceTree, "vip", valid: "an IPv4 address such as 198.51.100.100")
        guard let vipText = try string("service.vip", vipNode), let vip = IPv4Address(vipText) else {
            throw fail("service.vip", vipNode, "'\(vipNode.scalar ?? "")' is not an IPv4 address", valid: "e.g. 198.51.100.100")
        }
        let port = try int("service.port", serviceTree["port"], 1...65535, default: 80)
        let proto = try string("service.protocol", serviceTree["protocol"]) ?? "tcp"
        if proto != "tcp" {
            throw fail("service.protocol", serviceTree["protocol"], "protocol '\(proto)' is not supported yet", valid: "tcp")
        }
        let scheduler = try string("service.scheduler", serviceTree["scheduler"]) ?? "rr"
        if !knownSchedulers.contains(scheduler) {
            throw fail("service.scheduler", serviceTree["scheduler"], "unknown scheduler '\(scheduler)'", valid: knownSchedulers.joined(separator: ", "))
        }
        let service = ServiceSpec(vip: vip, port: UInt16(port), proto: proto, scheduler: scheduler)
        let arpFix = try bool("arp_fix", top["arp_fix"], default: true)

        let nodes = try validateNodes(top, mode: mode, vip: vip)

        let trafficTree = try mapping("traffic", top["traffic"], allowed: Self.trafficKeys)
        // One fresh client source port per connection (see TrafficGenerator.firstPort).
        let connections = try int("traffic.connections", trafficTree?["connections"], 1...60_000, default: 100)
        let concurrency = try int("traffic.concurrency", trafficTree?["concurrency"], 1...512, default: 8)
        let timeoutNode = trafficTree?["timeout"]
        var timeout = 5.0
        if let t = try string("traffic.timeout", timeoutNode) {
            guard let v = Double(t), v > 0, v <= 300 else {
                throw fail("traffic.timeout", timeoutNode, "'\(t)' is not a number of seconds in (0, 300]")
            }
            timeout = v
        }

        let expectTree = try mapping("expect", top["expect"], allowed: Self.expectKeys)
        let expect = ExpectSpec(
            distribution: try choice("expect.distribution", expectTree?["distribution"], default: .scheduler),
            path: try choice("expect.path", expectTree?["path"], default: .mode),
            arp: try choice("expect.arp", expectTree?["arp"], default: .dispatcherOnly))
        if expect.distribution == .scheduler, !["rr", "wrr"].contains(scheduler) {
            throw fail("expect.distribution", expectTree?["distribution"] ?? serviceTree["scheduler"],
                       "lblab has no exact distribution rule for scheduler '\(scheduler)' yet",
                       valid: "equal, weights, none (or scheduler rr / wrr)")
        }

        return LabSpec(
            name: name, description: try string("description", top["description"]) ?? "",
            mode: mode, service: service, arpFix: arpFix, nodes: nodes,
            traffic: TrafficSpec(connections: connections, concurrency: concurrency, timeout: timeout),
            expect: expect, source: nil)
    }

    func validateNodes(_ top: LabTree, mode: LabMode, vip: IPv4Address) throws -> [NodeSpec] {
        let nodesTree = try required("", top, "nodes", valid: "a mapping of node names to {role, address}")
        guard let pairs = nodesTree.pairs, !pairs.isEmpty else {
            throw fail("nodes", nodesTree, "must map node names to {role, address}", valid: "e.g. client: {role: client, address: 198.51.100.10/24}")
        }
        var nodes: [NodeSpec] = []
        var names = Set<String>()
        let nodesLine = top.keyLine("nodes")
        for (name, keyLine, tree) in pairs {
            let key = "nodes.\(name)"
            // No '-' in node names: `lblab-<lab>-<node>` then names one lab and one node only.
            if !isValidName(name, maxLength: 15) || name.contains("-") || Self.reservedNodeNames.contains(name) {
                throw fail(key: key, line: keyLine, "'\(name)' cannot name a node", valid: "1-15 of a-z and 0-9, starting with a letter; not \(Self.reservedNodeNames.joined(separator: ", "))")
            }
            if !names.insert(name).inserted { throw fail(key: key, line: keyLine, "node given twice") }
            let t = try mapping(key, tree, allowed: Self.nodeKeys)!
            let roleNode = try required(key, t, "role", valid: NodeRole.allCases.map(\.rawValue).joined(separator: ", "))
            let role: NodeRole = try choice("\(key).role", roleNode, default: .client)
            let addrNode = try required(key, t, "address", valid: "an IPv4 address with prefix, e.g. 198.51.100.21/24")
            guard let text = try string("\(key).address", addrNode), text.contains("/"), let address = IPv4Interface(text),
                  (8...30).contains(address.prefixLength) else {
                throw fail("\(key).address", addrNode, "'\(addrNode.scalar ?? "")' is not an IPv4 address with a prefix length 8-30", valid: "e.g. 198.51.100.21/24")
            }
            if address.address == address.network || address.address == address.broadcast {
                throw fail("\(key).address", addrNode, "\(address) is the network or broadcast address of its subnet")
            }
            if role != .real {
                for k in ["weight", "forward"] where t[k] != nil {
                    throw fail("\(key).\(k)", t[k], "only real servers have a \(k)")
                }
            }
            let weight = try int("\(key).weight", t["weight"], 0...65535, default: 1)
            let forward: Forwarding = try choice("\(key).forward", t["forward"], default: mode.defaultForwarding)
            if forward == .tunnel {
                throw fail("\(key).forward", t["forward"], "forwarding 'tunnel' is not supported yet", valid: "route, masq")
            }
            nodes.append(NodeSpec(name: name, role: role, address: address, weight: weight, forward: forward))
        }
        for role in [NodeRole.client, .dispatcher] {
            let count = nodes.filter { $0.role == role }.count
            if count != 1 {
                throw fail(key: "nodes", line: nodesLine, "a lab needs exactly one node with role \(role.rawValue), found \(count)")
            }
        }
        if !nodes.contains(where: { $0.role == .real }) {
            throw fail(key: "nodes", line: nodesLine, "a lab needs at least one node with role real")
        }
        // One L2 segment: every node and the VIP in one subnet, no address twice.
        let first = nodes[0]
        var used: [IPv4Address: String] = [vip: "service.vip"]
        for n in nodes {
            let key = "nodes.\(n.name).address"
            let node = nodesTree[n.name]?["address"]
            if n.address.network != first.address.network || n.address.prefixLength != first.address.prefixLength {
                throw fail(key, node, "\(n.address) is not in the lab's subnet \(first.address.network)/\(first.address.prefixLength) (of node \(first.name))", valid: "all nodes on one segment in \(mode.rawValue) mode")
            }
            if let other = used[n.address.address] {
                throw fail(key, node, "\(n.address.address) is already used by \(other)")
            }
            used[n.address.address] = key
        }
        if !first.address.contains(vip) || vip == first.address.network || vip == first.address.broadcast {
            throw fail("service.vip", top["service"]?["vip"], "\(vip) must be a host address in the lab's subnet \(first.address.network)/\(first.address.prefixLength) so the client reaches it on-link", valid: "an unused address in that subnet")
        }
        return nodes
    }

    func isValidName(_ s: String, maxLength: Int) -> Bool {
        guard let f = s.first, f.isLetter, f.isASCII, s.count <= maxLength else { return false }
        return s.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" } && !s.hasSuffix("-")
    }
}

extension LabMode {
    /// The forwarding method this mode uses unless a real server says otherwise.
    public var defaultForwarding: Forwarding {
        switch self {
        case .dr: .route
        case .nat: .masq
        case .tun: .tunnel
        }
    }
}
