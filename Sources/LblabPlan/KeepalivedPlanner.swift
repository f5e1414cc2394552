import LblabKeepalived
import LblabModel
import LblabTypes

/// keepalived on a dispatcher: the services with `health_check:` become its virtual servers (the
/// plan writes none of their IPVS table), started once the real servers it checks are planned.
extension Planner {
    static func keepaliveds(_ lab: LabSpec, _ b: inout Builder) {
        for node in lab.dispatchers {
            guard let d = keepalivedDaemon(of: node, lab), let config = d.keepalived else { continue }
            let what = config.virtualServers.map { "\($0.proto.ipvsadmName) \($0.address.withPort($0.port))" }.joined(separator: ", ")
            var why = config.virtualServers.isEmpty ? "keepalived on \(node.name)"
                : "keepalived on \(node.name): it creates \(what) in IPVS and adds each real server once its health check passes, removes it when its checks fail"
            if let v = config.vrrpInstances.first { why += vrrpWhy(v, sync: config.global.syncDaemon != nil) }   // VRRPPlanner.swift
            b.add(.startDaemon(namespace: LabNames.namespace(lab: lab.name, node: node.name), node: node.name, daemon: d), why)
        }
    }

    /// Whether the plan leaves this service's IPVS table to keepalived.
    public static func ownedByKeepalived(_ service: ServiceSpec) -> Bool { service.healthCheck != nil }

    /// The keepalived a dispatcher runs, if any: its configuration and command line.
    public static func keepalivedDaemon(of node: NodeSpec, _ lab: LabSpec) -> PlannedDaemon? {
        guard node.role == .dispatcher, let config = keepalivedConfig(of: node, lab), let own = node.address?.address else { return nil }
        return PlannedDaemon(kind: .keepalived, arguments: config.arguments(configPath: "{config}", stateDirectory: "{dir}", node: node.name),
                             lab: lab.name, config: config.rendered, address: own, port: 0, keepalived: config)
    }

    /// The keepalived.conf of a dispatcher: one virtual server per service of it with a
    /// `health_check:`; `nil` when it has none (then it runs no keepalived).
    public static func keepalivedConfig(of node: NodeSpec, _ lab: LabSpec) -> KeepalivedConfig? {
        let services = lab.services.filter { s in ownedByKeepalived(s) && lab.dispatchers(of: s).contains { $0.name == node.name } }
        let vrrp = vrrpInstance(of: node, lab)   // VRRPPlanner.swift
        guard !services.isEmpty || vrrp != nil else { return nil }
        let servers = services.compactMap { s -> VirtualServer? in
            guard let hc = s.healthCheck else { return nil }
            let reals = s.servers.compactMap { name -> RealServer? in
                guard let rs = lab.node(named: name), let rip = serverAddress(rs, towards: node, family: s.vip.family) else { return nil }
                // Checks leave from the dispatcher's own address on the server's subnet, never from the VIP.
                let check = HealthCheck(kind: hc.type == .http ? .http(path: hc.path, status: hc.status) : .tcp, port: hc.port,
                                        connectTimeout: hc.timeout, retry: hc.retries, delayBeforeRetry: hc.retryDelay,
                                        bindTo: node.interface(onLinkWith: rip.address)?.address.address)
                return RealServer(address: rip.address, port: s.port, weight: rs.weight, forwarding: rs.forward,
                                  upperThreshold: rs.upperThreshold, lowerThreshold: rs.lowerThreshold, check: check)
            }
            return VirtualServer(address: s.vip, port: s.port, proto: s.proto, scheduler: s.scheduler, forwarding: lab.mode.defaultForwarding,
                                 delayLoop: hc.interval, persistenceTimeout: s.persistence?.timeout,
                                 persistencePrefix: s.persistence.map(\.prefixLength).flatMap { $0 == (s.vip.family == .ipv4 ? 32 : 128) ? nil : $0 },
                                 onePacket: s.onePacket == true, realServers: reals)
        }
        return KeepalivedConfig(global: GlobalDefs(routerID: "\(lab.name)_\(node.name)".replacingOccurrences(of: "-", with: "_"),
                                                   syncDaemon: syncDaemon(of: node, lab)),
                                vrrpInstances: vrrp.map { [$0] } ?? [], virtualServers: servers)
    }
}
