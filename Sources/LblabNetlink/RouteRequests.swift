import CMnl
import LblabTypes

/// Pure encoders for the rtnetlink requests `RouteNetlink` sends; tests check their bytes.
enum RouteRequests {
    private typealias C = RouteConstants
    private static let createFlags = C.request | C.ack | C.create | C.exclusive

    /// `RTM_NEWLINK` creating a bridge: IFLA_IFNAME, IFLA_LINKINFO { IFLA_INFO_KIND "bridge" }.
    /// With `index` (non-zero) the kernel gives the bridge that ifindex (EBUSY when it is taken).
    static func encodeCreateBridge(name: String, index: Int32 = 0, sequence: UInt32) -> [UInt8] {
        let m = NetlinkRequest(type: UInt16(RTM_NEWLINK), flags: createFlags, sequence: sequence)
        var info = ifinfomsg()
        info.ifi_index = index
        m.putHeader(info)
        m.put(UInt16(IFLA_IFNAME), string: name)
        m.nest(UInt16(IFLA_LINKINFO)) {
            m.put(UInt16(IFLA_INFO_KIND), string: "bridge")
        }
        return m.bytes
    }

    /// `RTM_NEWLINK` creating a veth pair. The peer is described inside
    /// IFLA_INFO_DATA / VETH_INFO_PEER as an `ifinfomsg` followed by its own
    /// IFLA_IFNAME and, to create it directly in another namespace, IFLA_NET_NS_FD.
    ///
    /// One request can also do what otherwise takes three: `index` / `peerIndex` (non-zero) ask
    /// for those ifindexes (the kernel honours the peer's only when the first end asks for one
    /// too; EBUSY when one is taken), so neither end needs a lookup by name afterwards;
    /// `masterIndex` enslaves the first end (IFLA_MASTER, applied after creation); `up` sets
    /// IFF_UP in its `ifinfomsg` (applied after creation, as `ip link set … up` would). The peer
    /// cannot be brought up in the same request: the kernel configures it before the pair is
    /// joined, and opening a veth without its peer fails with ENOTCONN.
    static func encodeCreateVeth(name: String, peerName: String, peerNamespaceFD: Int32?,
                                 index: Int32 = 0, up: Bool = false, masterIndex: Int32? = nil,
                                 peerIndex: Int32 = 0, sequence: UInt32) -> [UInt8] {
        let m = NetlinkRequest(type: UInt16(RTM_NEWLINK), flags: createFlags, sequence: sequence)
        m.putHeader(linkHeader(index: index, up: up))
        m.put(UInt16(IFLA_IFNAME), string: name)
        if let masterIndex { m.put(UInt16(IFLA_MASTER), u32: UInt32(bitPattern: masterIndex)) }
        m.nest(UInt16(IFLA_LINKINFO)) {
            m.put(UInt16(IFLA_INFO_KIND), string: "veth")
            m.nest(UInt16(IFLA_INFO_DATA)) {
                m.nest(UInt16(VETH_INFO_PEER)) {
                    m.putHeader(linkHeader(index: peerIndex, up: false))
                    m.put(UInt16(IFLA_IFNAME), string: peerName)
                    if let fd = peerNamespaceFD {
                        m.put(UInt16(IFLA_NET_NS_FD), u32: UInt32(bitPattern: fd))
                    }
                }
            }
        }
        return m.bytes
    }

    /// An `ifinfomsg` asking for `index` (0: any) and, with `up`, IFF_UP (flags and change mask).
    private static func linkHeader(index: Int32, up: Bool) -> ifinfomsg {
        var info = ifinfomsg()
        info.ifi_index = index
        if up {
            info.ifi_flags = C.iffUp
            info.ifi_change = C.iffUp
        }
        return info
    }

    /// `RTM_NEWLINK` on an existing link (by index) setting IFLA_MASTER.
    static func encodeSetMaster(linkIndex: Int32, masterIndex: Int32, sequence: UInt32) -> [UInt8] {
        let m = NetlinkRequest(type: UInt16(RTM_NEWLINK), flags: C.request | C.ack, sequence: sequence)
        var info = ifinfomsg()
        info.ifi_index = linkIndex
        m.putHeader(info)
        m.put(UInt16(IFLA_MASTER), u32: UInt32(bitPattern: masterIndex))
        return m.bytes
    }

    /// `RTM_NEWLINK` naming the link by IFLA_IFNAME (ifi_index 0: the kernel looks the name up),
    /// setting IFLA_MASTER and/or IFF_UP: one request, no index lookup first.
    static func encodeSetLink(name: String, masterIndex: Int32? = nil, up: Bool = false, sequence: UInt32) -> [UInt8] {
        let m = NetlinkRequest(type: UInt16(RTM_NEWLINK), flags: C.request | C.ack, sequence: sequence)
        var info = ifinfomsg()
        if up {
            info.ifi_flags = C.iffUp
            info.ifi_change = C.iffUp
        }
        m.putHeader(info)
        m.put(UInt16(IFLA_IFNAME), string: name)
        if let masterIndex { m.put(UInt16(IFLA_MASTER), u32: UInt32(bitPattern: masterIndex)) }
        return m.bytes
    }

    /// `RTM_NEWLINK` naming the link, IFF_UP in the change mask and set or cleared (`ip link set … up|down`).
    static func encodeSetLinkState(name: String, up: Bool, sequence: UInt32) -> [UInt8] {
        let m = NetlinkRequest(type: UInt16(RTM_NEWLINK), flags: C.request | C.ack, sequence: sequence)
        var info = ifinfomsg()
        info.ifi_flags = up ? C.iffUp : 0
        info.ifi_change = C.iffUp
        m.putHeader(info)
        m.put(UInt16(IFLA_IFNAME), string: name)
        return m.bytes
    }

    /// `RTM_NEWLINK` with ifi_flags = ifi_change = IFF_UP (as `ip link set … up`).
    static func encodeSetUp(linkIndex: Int32, sequence: UInt32) -> [UInt8] {
        let m = NetlinkRequest(type: UInt16(RTM_NEWLINK), flags: C.request | C.ack, sequence: sequence)
        var info = ifinfomsg()
        info.ifi_index = linkIndex
        info.ifi_flags = C.iffUp
        info.ifi_change = C.iffUp
        m.putHeader(info)
        return m.bytes
    }

    /// `RTM_GETLINK` for one link by IFLA_IFNAME (used to resolve names to indexes).
    static func encodeGetLink(name: String, sequence: UInt32) -> [UInt8] {
        let m = NetlinkRequest(type: UInt16(RTM_GETLINK), flags: C.request | C.ack, sequence: sequence)
        m.putHeader(ifinfomsg())
        m.put(UInt16(IFLA_IFNAME), string: name)
        return m.bytes
    }

    /// `RTM_NEWLINK` creating an IP-in-IP tunnel (`ip link add NAME type ipip local ADDR`):
    /// IFLA_IFNAME, IFLA_LINKINFO { KIND "ipip", DATA { IFLA_IPTUN_LOCAL } }. Packets whose outer
    /// destination is `local` are unwrapped on it, whatever their outer source.
    static func encodeCreateIPIPTunnel(name: String, local: IPv4Address, sequence: UInt32) -> [UInt8] {
        let m = NetlinkRequest(type: UInt16(RTM_NEWLINK), flags: createFlags, sequence: sequence)
        m.putHeader(ifinfomsg())
        m.put(UInt16(IFLA_IFNAME), string: name)
        m.nest(UInt16(IFLA_LINKINFO)) {
            m.put(UInt16(IFLA_INFO_KIND), string: "ipip")
            m.nest(UInt16(IFLA_INFO_DATA)) {
                m.put(C.iptunLocal, bytes: local.bytes)
            }
        }
        return m.bytes
    }

    /// `RTM_NEWADDR`: IFA_LOCAL, IFA_ADDRESS and, for IPv4 below /31, IFA_BROADCAST. An IPv6
    /// address gets IFA_F_NODAD (`ip addr add … nodad`): usable at once, no duplicate address
    /// detection delaying the lab (and no DAD probes in its captures).
    static func encodeAddAddress(_ address: IPInterface, linkIndex: Int32, sequence: UInt32) -> [UInt8] {
        let m = NetlinkRequest(type: UInt16(RTM_NEWADDR), flags: createFlags, sequence: sequence)
        var header = ifaddrmsg()
        header.ifa_family = UInt8(address.family.addressFamily)
        header.ifa_prefixlen = UInt8(address.prefixLength)
        if address.family == .ipv6 { header.ifa_flags = UInt8(IFA_F_NODAD) }
        header.ifa_scope = UInt8(RT_SCOPE_UNIVERSE.rawValue)
        header.ifa_index = UInt32(bitPattern: linkIndex)
        m.putHeader(header)
        m.put(UInt16(IFA_LOCAL), bytes: address.address.bytes)
        m.put(UInt16(IFA_ADDRESS), bytes: address.address.bytes)
        if address.prefixLength < 31, let broadcast = address.broadcast {
            m.put(UInt16(IFA_BROADCAST), bytes: broadcast.bytes)
        }
        return m.bytes
    }

    /// `RTM_NEWROUTE` in the main table; an IPv4 route without a gateway has scope link (as
    /// `ip route add … dev …`); IPv6 routes are always scope universe (as `ip -6 route` sends them).
    static func encodeAddRoute(to destination: IPInterface, via gateway: IPAddress?, linkIndex: Int32?,
                               sequence: UInt32) -> [UInt8] {
        let m = NetlinkRequest(type: UInt16(RTM_NEWROUTE), flags: createFlags, sequence: sequence)
        var header = rtmsg()
        header.rtm_family = UInt8(destination.family.addressFamily)
        header.rtm_dst_len = UInt8(destination.prefixLength)
        header.rtm_table = UInt8(RT_TABLE_MAIN.rawValue)
        header.rtm_protocol = UInt8(RTPROT_BOOT)
        header.rtm_scope = UInt8(gateway == nil && destination.family == .ipv4 ? RT_SCOPE_LINK.rawValue : RT_SCOPE_UNIVERSE.rawValue)
        header.rtm_type = UInt8(RTN_UNICAST)
        m.putHeader(header)
        if destination.prefixLength > 0 {
            m.put(UInt16(RTA_DST.rawValue), bytes: destination.network.bytes)
        }
        if let gateway {
            m.put(UInt16(RTA_GATEWAY.rawValue), bytes: gateway.bytes)
        }
        if let linkIndex {
            m.put(UInt16(RTA_OIF.rawValue), u32: UInt32(bitPattern: linkIndex))
        }
        return m.bytes
    }

    /// `RTM_DELNEIGH` for a neighbour (ARP or NDP entry) on a link.
    static func encodeDeleteNeighbour(_ address: IPAddress, linkIndex: Int32, sequence: UInt32) -> [UInt8] {
        let m = NetlinkRequest(type: UInt16(RTM_DELNEIGH), flags: C.request | C.ack, sequence: sequence)
        var header = ndmsg()
        header.ndm_family = UInt8(address.family.addressFamily)
        header.ndm_ifindex = linkIndex
        m.putHeader(header)
        m.put(UInt16(NDA_DST), bytes: address.bytes)
        return m.bytes
    }

    /// A dump request (`RTM_GETLINK`, `RTM_GETADDR`, `RTM_GETNEIGH`) with its family header.
    static func encodeDump(type: Int, family: UInt8, sequence: UInt32) -> [UInt8] {
        let m = NetlinkRequest(type: UInt16(type), flags: C.request | C.dump, sequence: sequence)
        switch type {
        case Int(RTM_GETLINK):
            var h = ifinfomsg(); h.ifi_family = family; m.putHeader(h)
        case Int(RTM_GETADDR):
            var h = ifaddrmsg(); h.ifa_family = family; m.putHeader(h)
        default:
            var h = ndmsg(); h.ndm_family = family; m.putHeader(h)
        }
        return m.bytes
    }
}
