#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CMnl
import LblabTypes

/// Decoders for IPVS replies: one service or destination per message.
enum IPVSDecoding {
    static func info(_ messages: [NetlinkMessage]) -> IPVSInfo? {
        for message in messages {
            let a = message.attributes(after: GenericNetlink.headerSize)
            if let version = a.u32(UInt16(IPVS_INFO_ATTR_VERSION)) {
                return IPVSInfo(version: version, connectionTableSize: a.u32(UInt16(IPVS_INFO_ATTR_CONN_TAB_SIZE)) ?? 0)
            }
        }
        return nil
    }

    /// The address in a 16-byte `nf_inet_addr` of family `af`.
    static func address(_ bytes: [UInt8]?, family af: UInt16?) -> IPAddress? {
        guard let bytes else { return nil }
        switch af {
        case IPFamily.ipv4.addressFamily?: return bytes.count >= 4 ? IPAddress(bytes: bytes.prefix(4)) : nil
        case IPFamily.ipv6.addressFamily?: return bytes.count >= 16 ? IPAddress(bytes: bytes.prefix(16)) : nil
        default: return nil
        }
    }

    /// A protocol service (TCP or UDP, IPv4 or IPv6) from a GET_SERVICE reply; fwmark services give `nil`.
    /// The kernel's HASHED flag (0x2) is dropped so a listed service equals the one added.
    static func serviceEntry(_ message: NetlinkMessage) -> IPVSServiceEntry? {
        guard let s = message.attributes(after: GenericNetlink.headerSize).nested(UInt16(IPVS_CMD_ATTR_SERVICE)),
              let protoNumber = s.u16(UInt16(IPVS_SVC_ATTR_PROTOCOL)),
              let proto = TransportProtocol.allCases.first(where: { UInt16($0.number) == protoNumber }),
              let address = address(s[UInt16(IPVS_SVC_ATTR_ADDR)], family: s.u16(UInt16(IPVS_SVC_ATTR_AF))),
              let port = s.be16(UInt16(IPVS_SVC_ATTR_PORT)) else { return nil }
        var flags: UInt32 = 0
        if let raw = s[UInt16(IPVS_SVC_ATTR_FLAGS)], raw.count >= 4 {
            flags = raw.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } & ~IPVSService.hashedFlag
        }
        return IPVSServiceEntry(
            key: IPVSServiceKey(proto: proto, address: address, port: port),
            schedulerName: s.string(UInt16(IPVS_SVC_ATTR_SCHED_NAME)) ?? "",
            flags: flags,
            timeout: s.u32(UInt16(IPVS_SVC_ATTR_TIMEOUT)) ?? 0,
            netmask: netmask(s, family: address.family),
            stats: stats(s, stats64: IPVS_SVC_ATTR_STATS64, stats32: IPVS_SVC_ATTR_STATS))
    }

    /// IPv4: the mask, sent in network order. IPv6: a prefix length in host order, /128 read as
    /// the all-ones default (the inverse of `IPVSRequests.encodeNewService`).
    private static func netmask(_ s: NetlinkAttributes, family: IPFamily) -> UInt32 {
        switch family {
        case .ipv4: return s.be32(UInt16(IPVS_SVC_ATTR_NETMASK)) ?? 0xffff_ffff
        case .ipv6:
            guard let length = s.u32(UInt16(IPVS_SVC_ATTR_NETMASK)), length != 128 else { return 0xffff_ffff }
            return length
        }
    }

    /// A destination from a GET_DEST reply (`serviceFamily` when the kernel sends no ADDR_FAMILY).
    static func destinationEntry(_ message: NetlinkMessage, serviceFamily: IPFamily = .ipv4) -> IPVSDestinationEntry? {
        guard let d = message.attributes(after: GenericNetlink.headerSize).nested(UInt16(IPVS_CMD_ATTR_DEST)),
              let address = address(d[UInt16(IPVS_DEST_ATTR_ADDR)],
                                    family: d.u16(UInt16(IPVS_DEST_ATTR_ADDR_FAMILY)) ?? serviceFamily.addressFamily),
              let port = d.be16(UInt16(IPVS_DEST_ATTR_PORT)) else { return nil }
        let method = (d.u32(UInt16(IPVS_DEST_ATTR_FWD_METHOD)) ?? 0) & UInt32(IP_VS_CONN_F_FWD_MASK)
        guard let forwarding = IPVSForwarding(rawValue: method) else { return nil }
        let destination = IPVSDestination(
            address: address, port: port,
            forwarding: forwarding,
            weight: d.u32(UInt16(IPVS_DEST_ATTR_WEIGHT)) ?? 0,
            upperThreshold: d.u32(UInt16(IPVS_DEST_ATTR_U_THRESH)) ?? 0,
            lowerThreshold: d.u32(UInt16(IPVS_DEST_ATTR_L_THRESH)) ?? 0)
        return IPVSDestinationEntry(
            destination: destination,
            activeConnections: d.u32(UInt16(IPVS_DEST_ATTR_ACTIVE_CONNS)) ?? 0,
            inactiveConnections: d.u32(UInt16(IPVS_DEST_ATTR_INACT_CONNS)) ?? 0,
            persistentConnections: d.u32(UInt16(IPVS_DEST_ATTR_PERSIST_CONNS)) ?? 0,
            stats: stats(d, stats64: IPVS_DEST_ATTR_STATS64, stats32: IPVS_DEST_ATTR_STATS))
    }

    /// STATS64 (u64 counters) when present, else the 32-bit STATS.
    private static func stats(_ a: NetlinkAttributes, stats64: Int, stats32: Int) -> IPVSStats {
        if let s = a.nested(UInt16(stats64)) {
            func v(_ id: Int) -> UInt64 { s.u64(UInt16(id)) ?? 0 }
            return IPVSStats(connections: v(IPVS_STATS_ATTR_CONNS), inPackets: v(IPVS_STATS_ATTR_INPKTS),
                             outPackets: v(IPVS_STATS_ATTR_OUTPKTS), inBytes: v(IPVS_STATS_ATTR_INBYTES),
                             outBytes: v(IPVS_STATS_ATTR_OUTBYTES))
        }
        if let s = a.nested(UInt16(stats32)) {
            // In STATS the packet/connection counters are u32 and the byte counters u64.
            func v(_ id: Int) -> UInt64 { s.u64(UInt16(id)) ?? s.u32(UInt16(id)).map(UInt64.init) ?? 0 }
            return IPVSStats(connections: v(IPVS_STATS_ATTR_CONNS), inPackets: v(IPVS_STATS_ATTR_INPKTS),
                             outPackets: v(IPVS_STATS_ATTR_OUTPKTS), inBytes: v(IPVS_STATS_ATTR_INBYTES),
                             outBytes: v(IPVS_STATS_ATTR_OUTBYTES))
        }
        return IPVSStats()
    }
}
