import CMnl

/// Builds one netlink request with libmnl into a private buffer and hands back
/// its bytes. Internal: no pointer escapes the module.
final class NetlinkRequest {
    private let capacity: Int
    private let buffer: UnsafeMutableRawPointer
    private let header: UnsafeMutablePointer<nlmsghdr>

    /// `mnl_nlmsg_put_header`, then type, flags and sequence number (port id 0: the kernel).
    init(type: UInt16, flags: UInt16, sequence: UInt32) {
        capacity = max(cmnl_socket_buffer_size(), 8192)
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: capacity)
        header = mnl_nlmsg_put_header(buffer)
        header.pointee.nlmsg_type = type
        header.pointee.nlmsg_flags = flags
        header.pointee.nlmsg_seq = sequence
    }

    deinit { buffer.deallocate() }

    /// The finished message, `nlmsg_len` bytes.
    var bytes: [UInt8] {
        Array(UnsafeRawBufferPointer(start: buffer, count: Int(header.pointee.nlmsg_len)))
    }

    /// `mnl_nlmsg_put_extra_header`: a fixed family header (ifinfomsg, genlmsghdr, …).
    func putHeader<T>(_ value: T) {
        let size = MemoryLayout<T>.size
        precondition(Int(header.pointee.nlmsg_len) + Int(cmnl_align(UInt32(size))) <= capacity, "netlink request too large")
        let extra = mnl_nlmsg_put_extra_header(header, size)!
        extra.storeBytes(of: value, as: T.self)
    }

    func put(_ type: UInt16, u8 value: UInt8) {
        check(mnl_attr_put_u8_check(header, capacity, type, value))
    }

    func put(_ type: UInt16, u16 value: UInt16) {
        check(mnl_attr_put_u16_check(header, capacity, type, value))
    }

    func put(_ type: UInt16, u32 value: UInt32) {
        check(mnl_attr_put_u32_check(header, capacity, type, value))
    }

    /// A big-endian (network order) u16, e.g. an IPVS port.
    func put(_ type: UInt16, be16 value: UInt16) {
        put(type, bytes: [UInt8(value >> 8), UInt8(value & 0xff)])
    }

    /// A big-endian (network order) u32, e.g. an IPVS netmask.
    func put(_ type: UInt16, be32 value: UInt32) {
        put(type, bytes: IPv4Bytes.bigEndian(value))
    }

    func put(_ type: UInt16, bytes: [UInt8]) {
        let ok = bytes.withUnsafeBytes { raw in
            mnl_attr_put_check(header, capacity, type, raw.count, raw.baseAddress)
        }
        check(ok)
    }

    /// A NUL-terminated string (`mnl_attr_put_strz`).
    func put(_ type: UInt16, string: String) {
        check(mnl_attr_put_strz_check(header, capacity, type, string))
    }

    /// `mnl_attr_nest_start` … `mnl_attr_nest_end` around `body`.
    func nest(_ type: UInt16, _ body: () -> Void) {
        guard let start = mnl_attr_nest_start_check(header, capacity, type) else {
            preconditionFailure("netlink request too large")
        }
        body()
        mnl_attr_nest_end(header, start)
    }

    private func check(_ ok: Bool) {
        precondition(ok, "netlink request too large")
    }
}

enum IPv4Bytes {
    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }
}
