import LblabTypes

/// A dispatcher's part in a redundant pair (`vrrp:` on the node): keepalived's `vrrp_instance`.
/// The VIP is then not put on the dispatcher by the plan: keepalived adds it on the MASTER
/// (`virtual_ipaddress`) and announces it with gratuitous ARP when it becomes MASTER.
public struct VRRPSpec: Codable, Sendable, Equatable {
    /// `priority` 1-254: the highest becomes MASTER (keepalived keeps 255 for the address owner).
    public var priority: Int
    /// `virtual_router_id` 1-255: the peers of one instance must share it.
    public var routerID: Int
    /// `advert_int`: seconds between the MASTER's advertisements; a BACKUP takes over after
    /// about 3 × advert_int + skew without one.
    public var advertInterval: Int
    /// The interface VRRP speaks on and the VIP goes on (default: the one on the VIP's subnet).
    public var interface: String

    public init(priority: Int, routerID: Int = 51, advertInterval: Int = 1, interface: String = "eth0") {
        self.priority = priority
        self.routerID = routerID
        self.advertInterval = advertInterval
        self.interface = interface
    }

    /// keepalived's `vrrp_instance` name for a lab (one per lab: the lab's name, at most 24 characters).
    public static func instanceName(lab: String) -> String { "VI_\(lab)" }
}

extension LabSpec {
    /// The dispatchers that run VRRP, in file order.
    public var vrrpDispatchers: [NodeSpec] { dispatchers.filter { $0.vrrp != nil } }

    /// Whether the lab's VIPs are held by keepalived VRRP instead of the plan.
    public var usesVRRP: Bool { !vrrpDispatchers.isEmpty }

    /// The dispatchers that serve `service`: its dispatcher and, when that one runs VRRP, its
    /// peers (every VRRP dispatcher of the lab), primary first (highest priority; file order on ties).
    public func dispatchers(of service: ServiceSpec) -> [NodeSpec] {
        guard let d = node(named: service.dispatcher) else { return [] }
        guard d.vrrp != nil else { return [d] }
        return vrrpPeersByPriority
    }

    /// VRRP dispatchers, highest priority first (file order on ties): the first is the configured primary.
    public var vrrpPeersByPriority: [NodeSpec] {
        vrrpDispatchers.enumerated().sorted { a, b in
            (a.element.vrrp!.priority, -a.offset) > (b.element.vrrp!.priority, -b.offset)
        }.map(\.element)
    }
}
