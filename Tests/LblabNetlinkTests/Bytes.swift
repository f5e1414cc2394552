// Hand-written netlink byte helpers for tests. They follow the kernel headers
// directly (struct nlmsghdr, struct nlattr, NLA_ALIGN) and share no code with
// the module's encoders, so encoder bugs cannot cancel out.

/// Little-endian (host order on x86-64/arm64) integers.
func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }
func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(v >> (8 * UInt32($0)) & 0xff) } }
func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(v >> (8 * UInt64($0)) & 0xff) } }

/// struct nlattr { u16 nla_len; u16 nla_type; } + payload, padded to 4 bytes.
func attr(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] {
    let length = 4 + payload.count
    let padding = (4 - length % 4) % 4
    return le16(UInt16(length)) + le16(type) + payload + [UInt8](repeating: 0, count: padding)
}

/// A nested attribute (libmnl sets NLA_F_NESTED, 0x8000).
func nest(_ type: UInt16, _ children: [UInt8]...) -> [UInt8] {
    attr(0x8000 | type, children.flatMap { $0 })
}

/// struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid; } + body.
func message(type: UInt16, flags: UInt16, seq: UInt32, pid: UInt32 = 0, _ body: [UInt8]) -> [UInt8] {
    le32(UInt32(16 + body.count)) + le16(type) + le16(flags) + le32(seq) + le32(pid) + body
}

func cString(_ s: String) -> [UInt8] { Array(s.utf8) + [0] }

/// Big-endian (network order) integers, as IPVS ports and IPv4 netmasks travel.
func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
func be32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(v >> (24 - 8 * UInt32($0)) & 0xff) } }

/// `union nf_inet_addr`: the address, zero-padded to 16 bytes.
func inetAddr(_ bytes: [UInt8]) -> [UInt8] { bytes + [UInt8](repeating: 0, count: 16 - bytes.count) }

/// struct genlmsghdr { u8 cmd; u8 version; u16 reserved; }
func genl(_ cmd: UInt8, version: UInt8 = 1) -> [UInt8] { [cmd, version, 0, 0] }

/// `struct ifinfomsg` (16 bytes): family, pad, type, index, flags, change.
func ifinfomsg(index: Int32 = 0, flags: UInt32 = 0, change: UInt32 = 0) -> [UInt8] {
    [0, 0] + le16(0) + le32(UInt32(bitPattern: index)) + le32(flags) + le32(change)
}

/// Netlink flags from <linux/netlink.h>.
enum NLM {
    static let request: UInt16 = 0x1
    static let multi: UInt16 = 0x2
    static let ack: UInt16 = 0x4
    static let excl: UInt16 = 0x200
    static let create: UInt16 = 0x400
    static let dump: UInt16 = 0x300
}

/// IPv6 address bytes from eight groups.
func v6(_ groups: UInt16...) -> [UInt8] {
    precondition(groups.count == 8)
    return groups.flatMap { be16($0) }
}
