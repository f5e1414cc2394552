import CMnl
import LblabTypes

/// A network interface as `RTM_GETLINK` reports it.
public struct Link: Sendable, Equatable {
    public var index: Int32
    public var name: String
    public var mac: MACAddress?
    public var isUp: Bool
    public var masterIndex: Int32?
    /// `IFLA_INFO_KIND` ("veth", "bridge", …); `nil` for loopback and physical devices.
    public var kind: String?

    public init(index: Int32, name: String, mac: MACAddress? = nil, isUp: Bool = false,
                masterIndex: Int32? = nil, kind: String? = nil) {
        self.index = index
        self.name = name
        self.mac = mac
        self.isUp = isUp
        self.masterIndex = masterIndex
        self.kind = kind
    }
}

/// An address on an interface (`RTM_GETADDR`).
public struct InterfaceAddress: Sendable, Equatable {
    public var linkIndex: Int32
    public var address: IPInterface

    public init(linkIndex: Int32, address: IPInterface) {
        self.linkIndex = linkIndex
        self.address = address
    }
}

/// A neighbour (ARP or NDP) entry (`RTM_GETNEIGH`); `state` holds `NUD_*` bits.
public struct Neighbour: Sendable, Equatable {
    public var linkIndex: Int32
    public var address: IPAddress
    public var mac: MACAddress?
    public var state: UInt16

    public init(linkIndex: Int32, address: IPAddress, mac: MACAddress?, state: UInt16) {
        self.linkIndex = linkIndex
        self.address = address
        self.mac = mac
        self.state = state
    }
}

// MARK: - Decoding replies

extension Link {
    /// Decodes an `RTM_NEWLINK` message (a `RTM_GETLINK` reply).
    init?(message: NetlinkMessage) {
        guard message.type == UInt16(RTM_NEWLINK), let info = message.familyHeader(as: ifinfomsg.self) else { return nil }
        let attributes = message.attributes(after: MemoryLayout<ifinfomsg>.size)
        guard let name = attributes.string(UInt16(IFLA_IFNAME)) else { return nil }
        let mac = attributes[UInt16(IFLA_ADDRESS)].flatMap { $0.count == 6 ? MACAddress(bytes: $0) : nil }
        let master = attributes.u32(UInt16(IFLA_MASTER)).map { Int32(bitPattern: $0) }
        let kind = attributes.nested(UInt16(IFLA_LINKINFO))?.string(UInt16(IFLA_INFO_KIND))
        self.init(index: info.ifi_index, name: name, mac: mac, isUp: info.ifi_flags & RouteConstants.iffUp != 0,
                  masterIndex: master, kind: kind)
    }
}

extension InterfaceAddress {
    /// Decodes an IPv4 or IPv6 `RTM_NEWADDR` message; IFA_LOCAL is preferred over IFA_ADDRESS (they differ on point-to-point links).
    init?(message: NetlinkMessage) {
        guard message.type == UInt16(RTM_NEWADDR), let header = message.familyHeader(as: ifaddrmsg.self) else { return nil }
        let attributes = message.attributes(after: MemoryLayout<ifaddrmsg>.size)
        guard let bytes = attributes[UInt16(IFA_LOCAL)] ?? attributes[UInt16(IFA_ADDRESS)],
              let address = IPAddress(bytes: bytes), UInt16(header.ifa_family) == address.family.addressFamily,
              Int(header.ifa_prefixlen) <= address.family.bitWidth else { return nil }
        self.init(linkIndex: Int32(bitPattern: header.ifa_index),
                  address: IPInterface(address: address, prefixLength: Int(header.ifa_prefixlen)))
    }
}

extension InterfaceAddress {
    /// An address a lab gave: not loopback (127.0.0.0/8, ::1) and not IPv6 link-local (fe80::/10),
    /// which the kernel adds by itself.
    public var isLabAddress: Bool {
        switch address.address {
        case .v4(let a): a.value >> 24 != 127
        case .v6(let a): !(a.high == 0 && a.low == 1) && a.high >> 54 != 0xfe80 >> 6
        }
    }
}

extension Neighbour {
    /// Decodes an IPv4 or IPv6 `RTM_NEWNEIGH` message.
    init?(message: NetlinkMessage) {
        guard message.type == UInt16(RTM_NEWNEIGH), let header = message.familyHeader(as: ndmsg.self) else { return nil }
        let attributes = message.attributes(after: MemoryLayout<ndmsg>.size)
        guard let bytes = attributes[UInt16(NDA_DST)], let address = IPAddress(bytes: bytes),
              UInt16(header.ndm_family) == address.family.addressFamily else { return nil }
        let mac = attributes[UInt16(NDA_LLADDR)].flatMap { $0.count == 6 ? MACAddress(bytes: $0) : nil }
        self.init(linkIndex: header.ndm_ifindex, address: address, mac: mac, state: header.ndm_state)
    }
}

enum RouteConstants {
    /// IFF_UP from <linux/if.h> (not included: it clashes with glibc's <net/if.h>).
    static let iffUp: UInt32 = 0x1
    static let request = UInt16(NLM_F_REQUEST)
    static let ack = UInt16(NLM_F_ACK)
    static let create = UInt16(NLM_F_CREATE)
    static let exclusive = UInt16(NLM_F_EXCL)
    static let dump = UInt16(NLM_F_DUMP)
    /// IFLA_IPTUN_LOCAL from <linux/if_tunnel.h> (not included: it pulls in <linux/if.h>, which
    /// clashes with glibc's <net/if.h>).
    static let iptunLocal: UInt16 = 2
}
