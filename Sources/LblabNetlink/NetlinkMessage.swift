import CMnl

/// One received netlink message, copied out of the receive buffer (header included).
struct NetlinkMessage {
    let bytes: [UInt8]

    init(bytes: [UInt8]) { self.bytes = bytes }

    var type: UInt16 { bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt16.self) } }
    var flags: UInt16 { bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 6, as: UInt16.self) } }

    /// The fixed family header after the netlink header (ifinfomsg, genlmsghdr, …).
    func familyHeader<T>(as type: T.Type) -> T? {
        let start = Int(cmnl_nlmsg_hdrlen())
        guard bytes.count >= start + MemoryLayout<T>.size else { return nil }
        return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: start, as: T.self) }
    }

    /// The attributes after a family header of `headerSize` bytes.
    func attributes(after headerSize: Int) -> NetlinkAttributes {
        NetlinkAttributes(message: self, offset: headerSize)
    }
}
