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
        case .addAddress(let ns, let link, let a): return "ip -n \(ns) addr add \(a) dev \(link)"
        case .addService(let ns, let s):
            return "ip netns exec \(ns) ipvsadm -A \(s.ipvsadmService) -s \(s.scheduler)"
        case .addDestination(let ns, let s, let d):
            let flag = ["route": "-g", "masq": "-m", "tunnel": "-i"][d.forward] ?? "-g"
            return "ip netns exec \(ns) ipvsadm -a \(s.ipvsadmService) -r \(d.address):\(d.port) \(flag) -w \(d.weight)"
        case .startAgent(let ns, let node, let port):
            return "ip netns exec \(ns) lblab-agent --name \(node) --port \(port) &   # lblab's built-in HTTP server"
        case .stopAgent(let ns, let node):
            return "ip netns pids \(ns) | xargs -r kill   # stop \(node)'s HTTP server"
        }
    }
}

extension PlannedService {
    /// `-t VIP:PORT` (or `-u` for UDP) as ipvsadm takes it.
    public var ipvsadmService: String { "\(proto == "udp" ? "-u" : "-t") \(address):\(port)" }
}

extension Plan {
    /// The plan as a commented shell script.
    public func explained() -> String {
        var out: [String] = []
        for (i, e) in entries.enumerated() {
            if !e.why.isEmpty { out.append(String(format: "%3d  # %@", i + 1, e.why)) }
            out.append((e.why.isEmpty ? String(format: "%3d  ", i + 1) : "     ") + e.step.command)
        }
        return out.joined(separator: "\n")
    }
}
