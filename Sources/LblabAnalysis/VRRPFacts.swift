import LblabModel
import LblabTypes

/// What a VRRP lab's test saw besides the connections: who held the VIP, the client's neighbour
/// entry for it and the sync daemons, before and after the failover, and when the fault came.
/// Times are seconds from the start of the traffic (the clock of `ConnectionOutcome.start`).
public struct VRRPObservation: Sendable, Codable, Equatable {
    public struct Peer: Sendable, Codable, Equatable {
        public var name: String
        /// Its MAC on the VRRP interface.
        public var mac: MACAddress?
        public var priority: Int
        public var routerID: Int
        public var advertInterval: Int
        /// Whether the VIP was on one of its interfaces before the fault, and at the end.
        public var heldBefore: Bool
        public var heldAfter: Bool
        /// Its IPVS sync daemons before the traffic (`master`/`backup`), read over generic netlink.
        public var syncDaemons: [IPVSSyncDaemonState]

        public init(name: String, mac: MACAddress?, priority: Int, routerID: Int, advertInterval: Int = 1, heldBefore: Bool,
                    heldAfter: Bool, syncDaemons: [IPVSSyncDaemonState] = []) {
            self.name = name
            self.mac = mac
            self.priority = priority
            self.routerID = routerID
            self.advertInterval = advertInterval
            self.heldBefore = heldBefore
            self.heldAfter = heldAfter
            self.syncDaemons = syncDaemons
        }
    }

    public var vip: IPAddress
    /// Primary first (highest priority, file order on ties), as `LabSpec.vrrpPeersByPriority`.
    public var peers: [Peer]
    /// The fault that downed a VRRP dispatcher: its node and when it was applied (`nil`: none).
    public var faultNode: String?
    public var faultAt: Double?
    /// The client's neighbour entry (MAC) for the VIP just before the fault and after the traffic.
    public var neighbourBefore: MACAddress?
    public var neighbourAfter: MACAddress?
    /// The lab's `sync:`.
    public var syncExpected: Bool
    /// The lab's fault on a VRRP dispatcher as planned (`primary down at 3.0 s`), and why it was not
    /// applied when it was not (`faultAt == nil`): a run whose failover never happened fails.
    public var faultPlanned: String?
    public var faultFailure: String?

    public init(vip: IPAddress, peers: [Peer], faultNode: String? = nil, faultAt: Double? = nil, neighbourBefore: MACAddress? = nil,
                neighbourAfter: MACAddress? = nil, syncExpected: Bool) {
        self.vip = vip
        self.peers = peers
        self.faultNode = faultNode
        self.faultAt = faultAt
        self.neighbourBefore = neighbourBefore
        self.neighbourAfter = neighbourAfter
        self.syncExpected = syncExpected
    }

    public func peer(withMAC mac: MACAddress) -> Peer? { peers.first { $0.mac == mac } }
}

/// One ARP packet whose sender address is the VIP: a reply, or an announcement (gratuitous ARP:
/// a request with sender = target = VIP, as keepalived sends when it becomes MASTER).
public struct VIPAnnouncement: Sendable, Codable, Equatable {
    /// Seconds from the start of the traffic.
    public var at: Double
    public var senderMAC: MACAddress
    public var gratuitous: Bool

    public init(at: Double, senderMAC: MACAddress, gratuitous: Bool) {
        self.at = at
        self.senderMAC = senderMAC
        self.gratuitous = gratuitous
    }

    /// ARP with sender IP `vip` in `frames` (one capture point: every broadcast and the client's
    /// own replies pass the client's port), timestamps moved to the traffic's clock by `origin`.
    public static func find(in frames: RawFrames, vip: IPv4Address, origin: Double) -> [VIPAnnouncement] {
        var out: [VIPAnnouncement] = []
        for i in 0..<frames.count {
            guard let f = FrameDecoder.decode(Array(frames.bytes[frames.range(of: i)]), timestamp: frames.timestamps[i]),
                  let a = f.arp, a.senderIP == vip else { continue }
            if !a.isReply && a.targetIP != vip { continue }   // a request from the VIP for someone else
            out.append(VIPAnnouncement(at: f.timestamp - origin, senderMAC: a.senderMAC, gratuitous: a.targetIP == vip))
        }
        return out.sorted { $0.at < $1.at }
    }
}
