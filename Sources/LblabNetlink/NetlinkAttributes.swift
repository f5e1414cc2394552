import CMnl

/// The attributes of one message or one nested attribute, by type (the last
/// occurrence wins). Parsed with `mnl_attr_parse` / `mnl_attr_parse_payload`.
struct NetlinkAttributes {
    private(set) var values: [UInt16: [UInt8]] = [:]

    init() {}

    /// Attributes that follow the netlink header and `offset` bytes of family header.
    init(message: NetlinkMessage, offset: Int) {
        let collector = AttributeCollector()
        message.bytes.withUnsafeBytes { raw in
            guard raw.count >= Int(cmnl_nlmsg_hdrlen()) + offset else { return }
            let nlh = raw.baseAddress!.assumingMemoryBound(to: nlmsghdr.self)
            _ = mnl_attr_parse(nlh, UInt32(offset), collectAttribute, Unmanaged.passUnretained(collector).toOpaque())
        }
        values = collector.values
    }

    /// Attributes packed in `payload` (the payload of a nested attribute).
    init(payload: [UInt8]) {
        let collector = AttributeCollector()
        payload.withUnsafeBytes { raw in
            guard let base = raw.baseAddress, raw.count > 0 else { return }
            _ = mnl_attr_parse_payload(base, raw.count, collectAttribute, Unmanaged.passUnretained(collector).toOpaque())
        }
        values = collector.values
    }

    subscript(type: UInt16) -> [UInt8]? { values[type] }

    func nested(_ type: UInt16) -> NetlinkAttributes? {
        values[type].map { NetlinkAttributes(payload: $0) }
    }

    func u8(_ type: UInt16) -> UInt8? {
        guard let v = values[type], v.count >= 1 else { return nil }
        return v[0]
    }

    /// A host-order u16.
    func u16(_ type: UInt16) -> UInt16? { load(type, as: UInt16.self) }

    /// A host-order u32.
    func u32(_ type: UInt16) -> UInt32? { load(type, as: UInt32.self) }

    /// A host-order u64.
    func u64(_ type: UInt16) -> UInt64? { load(type, as: UInt64.self) }

    /// A network-order u16 (e.g. an IPVS port), returned in host order.
    func be16(_ type: UInt16) -> UInt16? {
        guard let v = values[type], v.count >= 2 else { return nil }
        return UInt16(v[0]) << 8 | UInt16(v[1])
    }

    /// A network-order u32, returned in host order.
    func be32(_ type: UInt16) -> UInt32? {
        guard let v = values[type], v.count >= 4 else { return nil }
        return v.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// A string attribute, up to the first NUL.
    func string(_ type: UInt16) -> String? {
        guard let v = values[type] else { return nil }
        let end = v.firstIndex(of: 0) ?? v.endIndex
        return String(decoding: v[..<end], as: UTF8.self)
    }

    private func load<T: FixedWidthInteger>(_ type: UInt16, as: T.Type) -> T? {
        guard let v = values[type], v.count == MemoryLayout<T>.size else { return nil }
        return v.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
    }
}

private final class AttributeCollector {
    var values: [UInt16: [UInt8]] = [:]
}

/// `mnl_attr_cb_t`: copies one attribute's payload into the collector.
private func collectAttribute(_ attr: UnsafePointer<nlattr>?, _ data: UnsafeMutableRawPointer?) -> Int32 {
    guard let attr, let data else { return MNL_CB_ERROR }
    let collector = Unmanaged<AttributeCollector>.fromOpaque(data).takeUnretainedValue()
    let type = mnl_attr_get_type(attr)
    let length = Int(mnl_attr_get_payload_len(attr))
    let payload = UnsafeRawBufferPointer(start: mnl_attr_get_payload(attr), count: length)
    collector.values[type] = Array(payload)
    return MNL_CB_OK
}
