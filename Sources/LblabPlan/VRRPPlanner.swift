import LblabKeepalived
import LblabModel
import LblabTypes

/// keepalived's VRRP part on a dispatcher with `vrrp:`: one `vrrp_instance` per lab holding every
/// VIP the dispatcher serves (as /32 or /128 on the VRRP interface), and with `sync: true` the
/// IPVS connection sync daemon on that interface, master or backup as the instance is.
extension Planner {
    static func vrrpInstance(of node: NodeSpec, _ lab: LabSpec) -> VRRPInstance? {
        guard let v = node.vrrp else { return nil }
        let vips = onePerVIP(lab.services.filter { s in lab.dispatchers(of: s).contains { $0.name == node.name } }).map { IPInterface(host: $0.vip) }
        let primary = lab.vrrpPeersByPriority.first?.name == node.name
        return VRRPInstance(name: VRRPSpec.instanceName(lab: lab.name), state: primary ? .master : .backup, interface: v.interface,
                            virtualRouterID: v.routerID, priority: v.priority, advertInterval: Double(v.advertInterval), virtualAddresses: vips)
    }

    static func syncDaemon(of node: NodeSpec, _ lab: LabSpec) -> SyncDaemon? {
        guard lab.sync == true, let v = node.vrrp else { return nil }
        return SyncDaemon(interface: v.interface, instance: VRRPSpec.instanceName(lab: lab.name))
    }

    /// What a VRRP keepalived does, for the plan's explanation.
    static func vrrpWhy(_ v: VRRPInstance, sync: Bool) -> String {
        "; VRRP instance \(v.name) (router id \(v.virtualRouterID), priority \(v.priority)): adds "
            + v.virtualAddresses.map(\.description).joined(separator: ", ") + " on \(v.interface) while MASTER and announces it with gratuitous ARP"
            + (sync ? "; runs the IPVS sync daemon on \(v.interface), master or backup as the instance is" : "")
    }
}
