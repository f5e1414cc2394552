import LblabTypes

/// A node as read from the file, before the defaults that depend on its services.
struct ParsedNode {
    var spec: NodeSpec
    /// `gateway: none`: no default route, not even NAT's default through the dispatcher.
    var noDefaultRoute = false
    /// rp_filter and tunnel as the file (or `--set`) gave them, `nil` when not given.
    var rpFilter: Int?
    var tunnel: Bool?
    /// `vrrp.interface` was given (else it defaults to the interface on the VIP's subnet).
    var vrrpInterfaceGiven = false
}

extension LabValidator {
    static let nodeKeys = ["role", "address", "addresses", "segment", "interfaces", "gateway", "routes",
                           "weight", "forward", "ip_forward", "rp_filter", "tunnel", "vip_on", "count", "u_threshold", "l_threshold", "vrrp", "ipvs_timeouts"] + dnsNodeKeys
    static let interfaceKeys = ["segment", "address", "addresses"]
    static let routeKeys = ["to", "via", "dev"]
    /// What `--set <member>.<key>=...` may change on one member of a `count:` group.
    static let memberKeys = ["weight", "forward", "ip_forward", "rp_filter", "tunnel", "vip_on", "gateway", "u_threshold", "l_threshold", "delay_ms", "resolver"]
    /// Keys that only a real server has.
    static let realServerKeys = ["weight", "forward", "tunnel", "vip_on", "u_threshold", "l_threshold"]
    /// Names lblab uses inside a lab: the switch namespace, the loopback.
    static let reservedNodeNames = ["switch", "lo"]
    static let maxGroupCount = 1024

    /// The `nodes:` mapping, `count:` groups expanded in place, `--set` patches of group members applied.
    func parseNodes(_ top: LabTree, segments: [SegmentSpec], mode: LabMode) throws -> [ParsedNode] {
        let nodesTree = try required("", top, "nodes", valid: "a mapping of node names to {role, address}")
        guard let pairs = nodesTree.pairs, !pairs.isEmpty else {
            throw fail("nodes", nodesTree, "must map node names to {role, address}", valid: "e.g. client: {role: client, address: 198.51.100.10/24}")
        }
        var nodes: [ParsedNode] = []
        var patches: [(name: String, tree: LabTree)] = []
        let members = groupMembers(nodesTree)
        for (name, keyLine, tree) in pairs {
            let key = "nodes.\(name)"
            if keyLine == nil, members[name] != nil {   // made by --set for a member of a group
                patches.append((name, tree))
                continue
            }
            if !isValidName(name, maxLength: 15) || name.contains("-") || Self.reservedNodeNames.contains(name) {
                throw fail(key: key, line: keyLine, "'\(name)' cannot name a node", valid: "1-15 of a-z and 0-9, starting with a letter; not \(Self.reservedNodeNames.joined(separator: ", "))")
            }
            nodes += try parseNode(name, keyLine: keyLine, tree, segments: segments, mode: mode)
        }
        var index: [String: Int] = [:]
        for (i, n) in nodes.enumerated() {
            if let other = index[n.spec.name] {
                let group = nodes[other].spec.group ?? n.spec.group
                throw fail(key: "nodes.\(n.spec.name)", line: nodesTree.keyLine(n.spec.group ?? n.spec.name),
                           "node \(n.spec.name) given twice" + (group.map { " (it is also a member of the count: group \($0))" } ?? ""))
            }
            index[n.spec.name] = i
        }
        for p in patches {
            guard let i = index[p.name] else { continue }
            try patch(&nodes[i], p.tree)
        }
        let nodesLine = top.keyLine("nodes")
        for role in mode.requiredRoles where !nodes.contains(where: { $0.spec.role == role }) {
            throw fail(key: "nodes", line: nodesLine, (mode.usesIPVS ? "a lab" : "a \(mode.rawValue) lab") + " needs at least one node with role \(role.rawValue)",
                       valid: mode.allowedRoles.map(\.rawValue).joined(separator: ", "))
        }
        return nodes
    }

    /// Member name -> group name, for every `count:` group in the file.
    func groupMembers(_ nodesTree: LabTree) -> [String: String] {
        var out: [String: String] = [:]
        for (name, keyLine, tree) in nodesTree.pairs ?? [] where keyLine != nil {
            guard let c = tree["count"]?.scalar, let n = Int(c), (1...Self.maxGroupCount).contains(n) else { continue }
            for k in 1...n { out["\(name)\(k)"] = name }
        }
        return out
    }

    func parseNode(_ name: String, keyLine: Int?, _ tree: LabTree, segments: [SegmentSpec], mode: LabMode) throws -> [ParsedNode] {
        let key = "nodes.\(name)"
        let t = try mapping(key, tree, allowed: Self.nodeKeys)!
        let roleNode = try required(key, t, "role", valid: NodeRole.allCases.map(\.rawValue).joined(separator: ", "))
        let role: NodeRole = try choice("\(key).role", roleNode, default: .client)
        guard mode.allowedRoles.contains(role) else {
            throw fail("\(key).role", roleNode, "a \(mode.rawValue) lab has no role \(role.rawValue)" + (mode.usesIPVS ? " (DNS roles need mode: dns)" : " (a DNS lab has no IPVS)"),
                       valid: mode.allowedRoles.map(\.rawValue).joined(separator: ", "))
        }
        if role != .real {
            for k in Self.realServerKeys where t[k] != nil { throw fail("\(key).\(k)", t[k], "only real servers have a \(k)") }
        }
        let interfaces = try parseInterfaces(key, name, t, segments: segments)
        var node = ParsedNode(spec: NodeSpec(name: name, role: role, interfaces: interfaces))
        node.spec.routes = try parseRoutes(key, t, interfaces: interfaces, noDefault: &node.noDefaultRoute)
        node.spec.weight = try int("\(key).weight", t["weight"], 0...65535, default: 1)
        node.spec.forward = try choice("\(key).forward", t["forward"], default: mode.defaultForwarding)
        try parseThresholds(key, t, into: &node.spec)
        node.spec.ipvsTimeouts = try parseIPVSTimeouts(key, t, role: role)
        node.spec.ipForward = try bool("\(key).ip_forward", t["ip_forward"], default: role == .dispatcher)
        node.rpFilter = try t["rp_filter"].map { try int("\(key).rp_filter", $0, 0...2, default: 0) }
        node.tunnel = try t["tunnel"].map { try bool("\(key).tunnel", $0, default: true) }
        if let v = t["vip_on"] { node.spec.vipOn = try vipOn("\(key).vip_on", v, interfaces: interfaces) }
        node.spec.dns = try parseDNSNode(key, t, role: role, mode: mode)
        if let (vrrp, given) = try parseVRRP(key, t, role: role, interfaces: interfaces) {
            node.spec.vrrp = vrrp
            node.vrrpInterfaceGiven = given
        }

        guard let countNode = t["count"] else { return [node] }
        let count = try int("\(key).count", countNode, 1...Self.maxGroupCount, default: 1)
        guard "\(name)\(count)".count <= 15 else {
            throw fail("\(key).count", countNode, "member names \(name)1...\(name)\(count) would be longer than 15 characters", valid: "a shorter group name")
        }
        // A member with several interfaces has a switch port `<member>-<interface>` (see parseInterfaces).
        if interfaces.count > 1, let longest = interfaces.map(\.name).max(by: { $0.count < $1.count }),
           "\(name)\(count)-\(longest)".count > 15 {
            throw fail("\(key).count", countNode, "the switch port \(name)\(count)-\(longest) would be longer than the kernel's 15 characters",
                       valid: "a shorter group or interface name, or fewer members")
        }
        return try (1...count).map { k in
            var member = node
            member.spec.name = "\(name)\(k)"
            member.spec.group = name
            for (i, interface) in interfaces.enumerated() {
                for (j, a) in interface.addresses.enumerated() {
                    let next = a.address.advanced(by: UInt64(k - 1))
                    let moved = IPInterface(address: next, prefixLength: a.prefixLength)
                    if !a.contains(next) || next == a.network || next == a.broadcast {
                        throw fail("\(key).count", countNode, "\(count) members from \(a) run past the subnet \(a.subnet): member \(name)\(k) would get \(next)",
                                   valid: "at most \(k - 1) members from \(a.address)")
                    }
                    member.spec.interfaces[i].addresses[j] = moved
                }
            }
            return member
        }
    }

    /// `address`/`addresses` (+ `segment`) for one interface `eth0`, or `interfaces: {name: {...}}`.
    func parseInterfaces(_ key: String, _ node: String, _ t: LabTree, segments: [SegmentSpec]) throws -> [InterfaceSpec] {
        if let ifs = t["interfaces"] {
            for k in ["address", "addresses", "segment"] where t[k] != nil {
                throw fail("\(key).\(k)", t[k], "give either interfaces: or \(k):, not both", valid: "interfaces: {eth0: {segment: front, address: 198.51.100.2/24}}")
            }
            guard let pairs = ifs.pairs, !pairs.isEmpty else {
                throw fail("\(key).interfaces", ifs, "must map interface names to {segment, address}", valid: "e.g. {eth0: {segment: front, address: 198.51.100.2/24}}")
            }
            var seen = Set<String>()
            return try pairs.map { ifname, line, v in
                let ikey = "\(key).interfaces.\(ifname)"
                if !isValidName(ifname, maxLength: 15) || ifname.contains("-") || ifname == "lo" {
                    throw fail(key: ikey, line: line, "'\(ifname)' cannot name an interface", valid: "1-15 of a-z and 0-9, starting with a letter; not lo")
                }
                if pairs.count > 1, node.count + 1 + ifname.count > 15 {
                    throw fail(key: ikey, line: line, "the switch port \(node)-\(ifname) would be longer than the kernel's 15 characters",
                               valid: "a node name and interface names of \(15 - 1 - ifname.count) and \(ifname.count) characters or fewer")
                }
                if !seen.insert(ifname).inserted { throw fail(key: ikey, line: line, "interface given twice") }
                let m = try mapping(ikey, v, allowed: Self.interfaceKeys)!
                return InterfaceSpec(name: ifname, segment: try segment(ikey, m, segments: segments), addresses: try addresses(ikey, m))
            }
        }
        return [InterfaceSpec(name: "eth0", segment: try segment(key, t, segments: segments), addresses: try addresses(key, t))]
    }

    func segment(_ key: String, _ t: LabTree, segments: [SegmentSpec]) throws -> String {
        let names = segments.map(\.name)
        guard let node = t["segment"] else {
            if names.count == 1 { return names[0] }
            throw fail("\(key).segment", t, "missing: this lab has several segments", valid: names.joined(separator: ", "))
        }
        let s = try string("\(key).segment", node)!
        guard names.contains(s) else { throw fail("\(key).segment", node, "no segment named '\(s)'", valid: names.joined(separator: ", ")) }
        return s
    }

    /// `address: A/len` or `addresses: [A/len, ...]`, each a host address with a prefix: IPv4
    /// 8-30, IPv6 16-127 (a node may hold both: dual stack).
    func addresses(_ key: String, _ t: LabTree) throws -> [IPInterface] {
        if t["address"] != nil && t["addresses"] != nil {
            throw fail("\(key).addresses", t["addresses"], "give either address: or addresses:, not both")
        }
        let items: [(text: String, node: LabTree)]
        if let one = t["address"] {
            items = [(try string("\(key).address", one)!, one)]
        } else if let many = try list("\(key).addresses", t["addresses"]), !many.isEmpty {
            items = many
        } else {
            throw fail("\(key).address", t, "missing", valid: "an address with a prefix, e.g. 198.51.100.21/24 or 2001:db8::21/64")
        }
        return try items.map { text, node in
            let k = t["address"] != nil ? "\(key).address" : "\(key).addresses"
            guard text.contains("/"), let a = IPInterface(text), Self.prefixRange(a.family).contains(a.prefixLength) else {
                throw fail(k, node, "'\(text)' is not an IPv4 address with a prefix length 8-30 or an IPv6 address with a prefix length 16-127",
                           valid: "e.g. 198.51.100.21/24 or 2001:db8::21/64")
            }
            if a.family == .ipv6, case .v6(let v6) = a.address, v6.high >> 54 == 0xfe80 >> 6 || v6.high >> 56 == 0xff {
                throw fail(k, node, "\(a.address) is link-local or multicast: lblab gives every interface its link-local address itself",
                           valid: "a global address, e.g. from the documentation prefix 2001:db8::/32")
            }
            if a.address == a.network || a.address == a.broadcast {
                throw fail(k, node, a.family == .ipv4 ? "\(a) is the network or broadcast address of its subnet"
                                                      : "\(a) is the subnet-router anycast address of its subnet (all host bits zero)")
            }
            return a
        }
    }

    /// The prefix lengths an interface address may have.
    static func prefixRange(_ family: IPFamily) -> ClosedRange<Int> {
        switch family {
        case .ipv4: 8...30
        case .ipv6: 16...127
        }
    }

    /// `vip_on:` where a DR/TUN real server holds the VIP: `lo` (the default) or one of its interfaces.
    func vipOn(_ key: String, _ node: LabTree, interfaces: [InterfaceSpec]) throws -> String? {
        let s = try string(key, node)!
        guard s == "lo" || interfaces.contains(where: { $0.name == s }) else {
            throw fail(key, node, "this node has no interface '\(s)'", valid: (["lo"] + interfaces.map(\.name)).joined(separator: ", "))
        }
        return s == "lo" ? nil : s
    }

    /// `gateway: X` (a default route; `none` for no default route at all) and `routes: [{to, via, dev}]`.
    func parseRoutes(_ key: String, _ t: LabTree, interfaces: [InterfaceSpec], noDefault: inout Bool) throws -> [RouteSpec] {
        var routes: [RouteSpec] = []
        var lines: [Int?] = []
        func onLink(_ gw: IPAddress, _ k: String, _ node: LabTree) throws {
            guard interfaces.contains(where: { $0.addresses.contains { $0.contains(gw) } }) else {
                throw fail(k, node, "gateway \(gw) is on none of this node's subnets (\(interfaces.flatMap(\.addresses).map { $0.subnet.description }.joined(separator: ", ")))",
                           valid: "an address on a segment of this node")
            }
        }
        if let g = t["gateway"] {
            let text = try string("\(key).gateway", g)!
            if text == "none" { noDefault = true } else {
                let gw = try address("\(key).gateway", g, example: "198.51.100.2")
                try onLink(gw, "\(key).gateway", g)
                routes.append(RouteSpec(destination: .defaultRoute(gw.family), gateway: gw))
                lines.append(g.line)
            }
        }
        if let r = t["routes"] {
            guard let items = r.items else { throw fail("\(key).routes", r, "must be a list", valid: "e.g. [{to: 203.0.113.0/24, via: 198.51.100.1}]") }
            for (i, item) in items.enumerated() {
                let rk = "\(key).routes[\(i)]"
                let m = try mapping(rk, item, allowed: Self.routeKeys)!
                let toNode = try required(rk, m, "to", valid: "default or a prefix such as 203.0.113.0/24")
                let to = try string("\(rk).to", toNode)!
                var gateway: IPAddress?
                if let v = m["via"] {
                    gateway = try address("\(rk).via", v, example: "198.51.100.2")
                    try onLink(gateway!, "\(rk).via", v)
                }
                let destination: IPInterface
                if to == "default" {
                    // The gateway's family; without one, the family of the node's addresses (IPv4 when it has both).
                    let families = Set(interfaces.flatMap(\.addresses).map(\.family))
                    destination = .defaultRoute(gateway?.family ?? (families == [.ipv6] ? .ipv6 : .ipv4))
                } else {
                    guard let p = IPInterface(to) else {
                        throw fail("\(rk).to", toNode, "'\(to)' is not an IP prefix", valid: "default, or e.g. 203.0.113.0/24 or 2001:db8:2::/64")
                    }
                    destination = p.subnet
                }
                if let gateway, gateway.family != destination.family {
                    throw fail("\(rk).via", m["via"], "gateway \(gateway) is IP\(gateway.family == .ipv4 ? "v4" : "v6") but the destination \(to) is not",
                               valid: "a gateway of the destination's family")
                }
                var dev: String?
                if let d = m["dev"] {
                    dev = try string("\(rk).dev", d)
                    guard interfaces.contains(where: { $0.name == dev }) else {
                        throw fail("\(rk).dev", d, "this node has no interface '\(dev!)'", valid: interfaces.map(\.name).joined(separator: ", "))
                    }
                }
                if gateway == nil && dev == nil { throw fail(rk, item, "a route needs via: or dev:", valid: "e.g. {to: 203.0.113.0/24, via: 198.51.100.1}") }
                if noDefault && destination.prefixLength == 0 {
                    throw fail("\(rk).to", toNode, "a default route, but gateway: none says there is none")
                }
                routes.append(RouteSpec(destination: destination, gateway: gateway, interface: dev))
                lines.append(item.line)
            }
        }
        for (i, r) in routes.enumerated() where routes[..<i].contains(where: { $0.destination == r.destination }) {
            throw fail(key: "\(key).routes", line: lines[i], "two routes to \(r.destination)", valid: "one route per destination")
        }
        return routes
    }

    /// A `--set` patch of one member of a `count:` group.
    func patch(_ node: inout ParsedNode, _ tree: LabTree) throws {
        let key = "nodes.\(node.spec.name)"
        let t = try mapping(key, tree, allowed: Self.memberKeys)!
        if node.spec.role != .real {
            for k in Self.realServerKeys where t[k] != nil { throw fail("\(key).\(k)", t[k], "only real servers have a \(k)") }
        }
        for k in ["delay_ms", "resolver"] where t[k] != nil && (node.spec.dns == nil || Self.dnsKeyRole[k] != node.spec.role) {
            throw fail("\(key).\(k)", t[k], "only \(Self.dnsKeyRole[k]!.rawValue) nodes of DNS labs have a \(k)")
        }
        if let d = t["delay_ms"] { node.spec.dns?.delayMillis = try int("\(key).delay_ms", d, 0...10_000, default: 0) }
        if let r = t["resolver"] { node.spec.dns?.resolver = try string("\(key).resolver", r) }
        if let w = t["weight"] { node.spec.weight = try int("\(key).weight", w, 0...65535, default: 1) }
        if let f = t["forward"] { node.spec.forward = try choice("\(key).forward", f, default: node.spec.forward) }
        try parseThresholds(key, t, into: &node.spec)
        if let f = t["ip_forward"] { node.spec.ipForward = try bool("\(key).ip_forward", f, default: node.spec.ipForward) }
        if let r = t["rp_filter"] { node.rpFilter = try int("\(key).rp_filter", r, 0...2, default: 0) }
        if let u = t["tunnel"] { node.tunnel = try bool("\(key).tunnel", u, default: true) }
        if let v = t["vip_on"] { node.spec.vipOn = try vipOn("\(key).vip_on", v, interfaces: node.spec.interfaces) }
        if t["gateway"] != nil {
            var none = false
            let routes = try parseRoutes(key, t, interfaces: node.spec.interfaces, noDefault: &none)
            node.spec.routes.removeAll(where: \.isDefault)
            node.spec.routes += routes
            node.noDefaultRoute = none
        }
    }

    /// `u_threshold` / `l_threshold` (ipvsadm `-x` / `-y`): IPVS marks the real server overloaded
    /// once its active + inactive connections reach the upper one, and clears it below the lower
    /// one (0: below 3/4 of the upper). 0 or absent: no threshold.
    func parseThresholds(_ key: String, _ t: LabTree, into spec: inout NodeSpec) throws {
        if let u = t["u_threshold"] { spec.upperThreshold = try int("\(key).u_threshold", u, 0...65535, default: 0) }
        if let l = t["l_threshold"] { spec.lowerThreshold = try int("\(key).l_threshold", l, 0...65535, default: 0) }
        if let l = spec.lowerThreshold, l > 0, (spec.upperThreshold ?? 0) == 0 || l > spec.upperThreshold! {
            throw fail("\(key).l_threshold", t["l_threshold"] ?? t["u_threshold"],
                       "l_threshold \(l) needs an u_threshold at or above it", valid: "e.g. u_threshold: 4, l_threshold: 2")
        }
    }
}
