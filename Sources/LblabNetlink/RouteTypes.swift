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

/// An IPv4 address on an interface (`RTM_GETADDR`).
public struct InterfaceAddress: Sendable, Equatable {
    public var linkIndex: Int32
    public var address: IPv4Interface

    public init(linkIndex: Int32, address: IPv4Interface) {
        self.linkIndex = linkIndex
        self.address = address
    }
}

/// An IPv4 neighbour (ARP) entry (`RTM_GETNEIGH`); `state` holds `NUD_*` bits.
public struct Neighbour: Sendable, Equatable {
    public var linkIndex: Int32
    public var address: IPv4Address
    public var mac: MACAddress?
    public var state: UInt16

    public init(linkIndex: Int32, address: IPv4Address, mac: MACAddress?, state: UInt16) {
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
    /// Decodes an IPv4 `RTM_NEWADDR` message; IFA_LOCAL is preferred over IFA_ADDRESS (they differ on point-to-point links).
    init?(message: NetlinkMessage) {
        guard message.type == UInt16(RTM_NEWADDR), let header = message.familyHeader(as: ifaddrmsg.self),
              header.ifa_family == UInt8(AF_INET) else { return nil }
        let attributes = message.attributes(after: MemoryLayout<ifaddrmsg>.size)
        guard let bytes = attributes[UInt16(IFA_LOCAL)] ?? attributes[UInt16(IFA_ADDRESS)],
              bytes.count == 4, let address = IPv4Address(bytes: bytes) else { return nil }
        self.init(linkIndex: Int32(bitPattern: header.ifa_index),
                  address: IPv4Interface(address: address, prefixLength: Int(header.ifa_prefixlen)))
    }
}

extension Neighbour {
    /// Decodes an IPv4 `RTM_NEWNEIGH` message.
    init?(message: NetlinkMessage) {
        guard message.type == UInt16(RTM_NEWNEIGH), let header = message.familyHeader(as: ndmsg.self),
              header.ndm_family == UInt8(AF_INET) else { return nil }
        let attributes = message.attributes(after: MemoryLayout<ndmsg>.size)
        guard let bytes = attributes[UInt16(NDA_DST)], bytes.count == 4, let address = IPv4Address(bytes: bytes) else { return nil }
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
}
