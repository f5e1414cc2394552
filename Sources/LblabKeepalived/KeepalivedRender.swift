import LblabTypes

/// keepalived.conf's text, in the order keepalived documents it: `global_defs`, the VRRP
/// instances, the virtual servers. Four spaces a level, one keyword a line.
extension KeepalivedConfig {
    public var rendered: String {
        var out = Lines()
        out.block("global_defs") { b in
            b.line("router_id \(global.routerID)")
            if let s = global.syncDaemon {
                b.line("lvs_sync_daemon \(s.interface) \(s.instance)" + (s.syncID.map { " id \($0)" } ?? ""))
            }
        }
        for v in vrrpInstances { out.vrrp(v) }
        for s in virtualServers { out.virtualServer(s) }
        return out.text
    }

    /// keepalived's command line as lblab runs it: in the foreground (`--dont-fork`), logging to
    /// its output (`--log-console --log-detail`, no syslog), only the subsystems the configuration
    /// uses, and every pid file under `stateDirectory` named after `node`, so keepalived of two labs
    /// (or two nodes) never find each other's pid files.
    public func arguments(configPath: String, stateDirectory: String, node: String) -> [String] {
        var argv = ["keepalived", "--dont-fork", "--log-console", "--log-detail", "--no-syslog"]
        switch (runsChecker, runsVRRP) {
        case (true, false): argv.append("--check")
        case (false, true): argv.append("--vrrp")
        case (true, true), (false, false): break
        }
        argv += ["--use-file=\(configPath)", "--pid=\(stateDirectory)/\(node).keepalived.pid",
                 "--checkers_pid=\(stateDirectory)/\(node).keepalived-checkers.pid",
                 "--vrrp_pid=\(stateDirectory)/\(node).keepalived-vrrp.pid"]
        return argv
    }
}

/// Seconds as keepalived reads them: `1`, `0.5`.
func seconds(_ s: Double) -> String {
    let ms = Int((s * 1000).rounded())
    guard ms % 1000 != 0 else { return String(ms / 1000) }
    var frac = String(ms % 1000)
    frac = String(repeating: "0", count: 3 - frac.count) + frac
    while frac.hasSuffix("0") { frac.removeLast() }
    return "\(ms / 1000).\(frac)"
}

/// A mask keepalived takes for `persistence_granularity`: dotted for IPv4, a prefix length for IPv6.
func granularity(_ prefix: Int, _ family: IPFamily) -> String {
    switch family {
    case .ipv4:
        let v: UInt32 = prefix == 0 ? 0 : UInt32.max << UInt32(32 - prefix)
        return "\(v >> 24).\((v >> 16) & 255).\((v >> 8) & 255).\(v & 255)"
    case .ipv6: return String(prefix)
    }
}

extension Forwarding {
    /// keepalived's `lvs_method`.
    public var keepalivedMethod: String {
        switch self {
        case .route: "DR"
        case .masq: "NAT"
        case .tunnel: "TUN"
        }
    }
}

struct Lines {
    private var lines: [String] = []
    private var depth = 0

    var text: String { lines.joined(separator: "\n") + "\n" }

    mutating func line(_ s: String) { lines.append(String(repeating: "    ", count: depth) + s) }

    mutating func block(_ head: String, _ body: (inout Lines) -> Void) {
        line(head + " {")
        depth += 1
        body(&self)
        depth -= 1
        line("}")
    }

    mutating func vrrp(_ v: VRRPInstance) {
        block("vrrp_instance \(v.name)") { b in
            b.line("state \(v.state.rawValue)")
            b.line("interface \(v.interface)")
            b.line("virtual_router_id \(v.virtualRouterID)")
            b.line("priority \(v.priority)")
            b.line("advert_int \(seconds(v.advertInterval))")
            if v.noPreempt { b.line("nopreempt") }
            if !v.unicastPeers.isEmpty {
                b.block("unicast_peer") { p in for a in v.unicastPeers { p.line("\(a)") } }
            }
            b.block("virtual_ipaddress") { a in for ip in v.virtualAddresses { a.line("\(ip) dev \(v.interface)") } }
        }
    }

    mutating func virtualServer(_ s: VirtualServer) {
        block("virtual_server \(s.address) \(s.port)") { b in
            b.line("delay_loop \(seconds(s.delayLoop))")
            b.line("lvs_sched \(s.scheduler.rawValue)")
            b.line("lvs_method \(s.forwarding.keepalivedMethod)")
            b.line("protocol \(s.proto.ipvsadmName)")
            if let t = s.persistenceTimeout { b.line("persistence_timeout \(t)") }
            if let p = s.persistencePrefix { b.line("persistence_granularity \(granularity(p, s.address.family))") }
            if s.onePacket { b.line("ops") }
            if s.alpha { b.line("alpha") }
            for r in s.realServers { b.realServer(r, of: s) }
        }
    }

    mutating func realServer(_ r: RealServer, of s: VirtualServer) {
        block("real_server \(r.address) \(r.port)") { b in
            b.line("weight \(r.weight)")
            if let f = r.forwarding, f != s.forwarding { b.line("lvs_method \(f.keepalivedMethod)") }
            if let u = r.upperThreshold { b.line("uthreshold \(u)") }
            if let l = r.lowerThreshold { b.line("lthreshold \(l)") }
            let c = r.check
            let head: String
            switch c.kind {
            case .tcp: head = "TCP_CHECK"
            case .http: head = "HTTP_GET"
            }
            b.block(head) { k in
                if case .http(let path, let status) = c.kind {
                    k.block("url") { u in
                        u.line("path \(path)")
                        u.line("status_code \(status)")
                    }
                }
                k.line("connect_port \(c.port)")
                if let b = c.bindTo { k.line("bindto \(b)") }
                k.line("connect_timeout \(seconds(c.connectTimeout))")
                k.line("retry \(c.retry)")
                k.line("delay_before_retry \(seconds(c.delayBeforeRetry))")
            }
        }
    }
}
