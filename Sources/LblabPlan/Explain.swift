import LblabTypes

extension Step {
    /// The command a person would type for this step, the way the article teaches it.
    public var command: String {
        switch self {
        case .createNamespace(let n): return "ip netns add \(n)"
        case .deleteNamespace(let n): return "ip netns del \(n)"
        case .setSysctl(let ns, let k, let v): return "ip netns exec \(ns) sysctl -w \(k)=\(v)"
        case .createBridge(let ns, let name): return "ip -n \(ns) link add \(name) type bridge"
        case .createVeth(let ns, let name, let peerNS, let peer):
            return "ip -n \(ns) link add \(name) type veth peer name \(peer) netns \(peerNS)"
        case .setMaster(let ns, let link, let master): return "ip -n \(ns) link set \(link) master \(master)"
        case .setUp(let ns, let link): return "ip -n \(ns) link set \(link) up"
        case .addAddress(let ns, let link, let a):
            // IPv6: nodad, as lblab adds them (no duplicate address detection delaying the lab).
            return a.family == .ipv4 ? "ip -n \(ns) addr add \(a) dev \(link)" : "ip -n \(ns) -6 addr add \(a) dev \(link) nodad"
        case .addRoute(let ns, let r):
            var c = "ip -n \(ns)\(r.destination.family == .ipv6 ? " -6" : "") route add \(r.destination.prefixLength == 0 ? "default" : r.destination.description)"
            if let gw = r.gateway { c += " via \(gw)" }
            if let dev = r.link { c += " dev \(dev)" }
            return c
        case .createTunnel(let ns, let name, let local): return "ip -n \(ns) link add \(name) type ipip local \(local)"
        case .addService(let ns, let s):
            var c = "ip netns exec \(ns) ipvsadm -A \(s.ipvsadmService) -s \(s.scheduler.rawValue)"
            if let p = s.persistence {
                c += " -p \(p)"
                if let m = s.persistencePrefix, m != s.address.family.bitWidth {
                    c += " -M " + (s.address.family == .ipv4 ? IPv4Address(s.netmask).description : String(m))
                }
            }
            if s.onePacket == true { c += " -o" }
            return c
        case .addDestination(let ns, let s, let d):
            var c = "ip netns exec \(ns) ipvsadm -a \(s.ipvsadmService) -r \(d.address.withPort(d.port)) \(d.forward.ipvsadmFlag) -w \(d.weight)"
            if let u = d.upperThreshold, u > 0 { c += " -x \(u)" }
            if let l = d.lowerThreshold, l > 0 { c += " -y \(l)" }
            return c
        case .setIPVSTimeouts(let ns, let t):
            return "ip netns exec \(ns) ipvsadm --set \(t.ipvsadmArguments)"
        case .startAgent(let ns, let node, let port, let proto):
            return "ip netns exec \(ns) lblab-agent --name \(node) --\(proto.rawValue) \(port) &   # lblab's built-in server"
        case .startDaemon(let ns, let node, let d):
            var lines: [String] = []
            let path = "/run/lblab/\(d.lab)/\(d.kind.file(node: node, "conf"))"
            if let text = d.config { lines.append("cat > \(path) <<'EOF'\n\(text)EOF") }
            let argv = d.arguments.map { $0.replacingOccurrences(of: "{config}", with: path).replacingOccurrences(of: "{dir}", with: "/run/lblab/\(d.lab)") }
            lines.append("ip netns exec \(ns) \(argv.joined(separator: " ")) &")
            return lines.joined(separator: "\n     ")
        case .stopDaemon(let ns, let node, let kind):
            return "ip netns exec \(ns) pkill -x \(kind.commandName)   # stop \(node)'s \(kind.rawValue)"
        case .stopAgent(let ns, let node, let port):
            return "ip netns exec \(ns) pkill -xf 'lblab-agent --name \(node) --tcp \(port)'   # stop \(node)'s server on port \(port)"
        }
    }
}

extension PlannedService {
    /// `-t VIP:PORT` (or `-u` for UDP) as ipvsadm takes it.
    public var ipvsadmService: String { "\(proto.ipvsadmFlag) \(address.withPort(port))" }
}

extension Plan {
    /// The plan as a commented shell script.
    public func explained() -> String {
        var out: [String] = []
        for (i, e) in entries.enumerated() {
            if !e.why.isEmpty { out.append("\(pad(i + 1))  # \(e.why)") }
            out.append((e.why.isEmpty ? "\(pad(i + 1))  " : "     ") + e.step.command)
        }
        return out.joined(separator: "\n")
    }

    private func pad(_ n: Int) -> String {
        let s = String(n)
        return String(repeating: " ", count: max(0, 3 - s.count)) + s
    }
}
