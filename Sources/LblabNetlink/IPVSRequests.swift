#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CMnl
import LblabTypes

/// Pure encoders for IPVS generic netlink requests (`family` is the resolved
/// id of "IPVS"); `IPVSNetlink` sends exactly these bytes.
enum IPVSRequests {
    static let version = UInt8(IPVS_GENL_VERSION)
    private static let doFlags = RouteConstants.request | RouteConstants.ack
    private static let dumpFlags = RouteConstants.request | RouteConstants.dump

    static func encodeGetInfo(family: UInt16, sequence: UInt32) -> [UInt8] {
        GenericNetlink.request(family: family, command: IPVS_CMD_GET_INFO, version: version, flags: doFlags,
                               sequence: sequence).bytes
    }

    /// `IPVS_CMD_NEW_SERVICE` (or `SET_SERVICE`): key plus SCHED_NAME, FLAGS {flags, mask ~0}, TIMEOUT, NETMASK.
    static func encodeNewService(_ service: IPVSService, family: UInt16, sequence: UInt32,
                                 command: Int = IPVS_CMD_NEW_SERVICE) -> [UInt8] {
        let m = GenericNetlink.request(family: family, command: command, version: version, flags: doFlags, sequence: sequence)
        m.nest(UInt16(IPVS_CMD_ATTR_SERVICE)) {
            putServiceKey(service.key, into: m)
            m.put(UInt16(IPVS_SVC_ATTR_SCHED_NAME), string: service.scheduler.rawValue)
            m.put(UInt16(IPVS_SVC_ATTR_FLAGS), bytes: hostOrder(service.flags) + hostOrder(0xffff_ffff))
            m.put(UInt16(IPVS_SVC_ATTR_TIMEOUT), u32: service.timeout)
            switch service.key.address.family {
            case .ipv4: m.put(UInt16(IPVS_SVC_ATTR_NETMASK), be32: service.netmask)
            // The kernel takes an IPv6 service's netmask as a prefix length 1-128 in host order
            // (EINVAL otherwise), as ipvsadm sends it; the all-ones default means /128.
            case .ipv6: m.put(UInt16(IPVS_SVC_ATTR_NETMASK), u32: service.netmask == 0xffff_ffff ? 128 : service.netmask)
            }
        }
        return m.bytes
    }

    static func encodeDeleteService(_ key: IPVSServiceKey, family: UInt16, sequence: UInt32) -> [UInt8] {
        let m = GenericNetlink.request(family: family, command: IPVS_CMD_DEL_SERVICE, version: version, flags: doFlags,
                                       sequence: sequence)
        m.nest(UInt16(IPVS_CMD_ATTR_SERVICE)) { putServiceKey(key, into: m) }
        return m.bytes
    }

    static func encodeGetServices(family: UInt16, sequence: UInt32) -> [UInt8] {
        GenericNetlink.request(family: family, command: IPVS_CMD_GET_SERVICE, version: version, flags: dumpFlags,
                               sequence: sequence).bytes
    }

    /// `IPVS_CMD_NEW_DEST` (or `SET_DEST`): service key, then ADDR, PORT, FWD_METHOD,
    /// WEIGHT, U_THRESH, L_THRESH, ADDR_FAMILY (ipvsadm's order).
    static func encodeNewDestination(_ destination: IPVSDestination, service key: IPVSServiceKey, family: UInt16,
                                     sequence: UInt32, command: Int = IPVS_CMD_NEW_DEST) -> [UInt8] {
        let m = GenericNetlink.request(family: family, command: command, version: version, flags: doFlags, sequence: sequence)
        m.nest(UInt16(IPVS_CMD_ATTR_SERVICE)) { putServiceKey(key, into: m) }
        m.nest(UInt16(IPVS_CMD_ATTR_DEST)) {
            m.put(UInt16(IPVS_DEST_ATTR_ADDR), bytes: inetAddress(destination.address))
            m.put(UInt16(IPVS_DEST_ATTR_PORT), be16: destination.port)
            m.put(UInt16(IPVS_DEST_ATTR_FWD_METHOD), u32: destination.forwarding.rawValue)
            m.put(UInt16(IPVS_DEST_ATTR_WEIGHT), u32: destination.weight)
            m.put(UInt16(IPVS_DEST_ATTR_U_THRESH), u32: destination.upperThreshold)
            m.put(UInt16(IPVS_DEST_ATTR_L_THRESH), u32: destination.lowerThreshold)
            m.put(UInt16(IPVS_DEST_ATTR_ADDR_FAMILY), u16: destination.address.family.addressFamily)
        }
        return m.bytes
    }

    static func encodeDeleteDestination(address: IPAddress, port: UInt16, service key: IPVSServiceKey,
                                        family: UInt16, sequence: UInt32) -> [UInt8] {
        let m = GenericNetlink.request(family: family, command: IPVS_CMD_DEL_DEST, version: version, flags: doFlags,
                                       sequence: sequence)
        m.nest(UInt16(IPVS_CMD_ATTR_SERVICE)) { putServiceKey(key, into: m) }
        m.nest(UInt16(IPVS_CMD_ATTR_DEST)) {
            m.put(UInt16(IPVS_DEST_ATTR_ADDR), bytes: inetAddress(address))
            m.put(UInt16(IPVS_DEST_ATTR_PORT), be16: port)
            m.put(UInt16(IPVS_DEST_ATTR_ADDR_FAMILY), u16: address.family.addressFamily)
        }
        return m.bytes
    }

    /// `IPVS_CMD_GET_DEST` dump; the service key selects the service.
    static func encodeGetDestinations(service key: IPVSServiceKey, family: UInt16, sequence: UInt32) -> [UInt8] {
        let m = GenericNetlink.request(family: family, command: IPVS_CMD_GET_DEST, version: version, flags: dumpFlags,
                                       sequence: sequence)
        m.nest(UInt16(IPVS_CMD_ATTR_SERVICE)) { putServiceKey(key, into: m) }
        return m.bytes
    }

    /// `IPVS_CMD_SET_CONFIG`: the TCP, TCP FIN and UDP timeouts (u32 seconds), each only when given.
    static func encodeSetConfig(_ t: IPVSTimeouts, family: UInt16, sequence: UInt32) -> [UInt8] {
        let m = GenericNetlink.request(family: family, command: IPVS_CMD_SET_CONFIG, version: version, flags: doFlags, sequence: sequence)
        if let v = t.tcp { m.put(UInt16(IPVS_CMD_ATTR_TIMEOUT_TCP), u32: UInt32(v)) }
        if let v = t.tcpfin { m.put(UInt16(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN), u32: UInt32(v)) }
        if let v = t.udp { m.put(UInt16(IPVS_CMD_ATTR_TIMEOUT_UDP), u32: UInt32(v)) }
        return m.bytes
    }

    /// `IPVS_CMD_FLUSH`: removes every service (not the connection table).
    static func encodeFlush(family: UInt16, sequence: UInt32) -> [UInt8] {
        GenericNetlink.request(family: family, command: IPVS_CMD_FLUSH, version: version, flags: doFlags,
                               sequence: sequence).bytes
    }

    /// AF, PROTOCOL, ADDR (16-byte nf_inet_addr), PORT (network order).
    private static func putServiceKey(_ key: IPVSServiceKey, into m: NetlinkRequest) {
        m.put(UInt16(IPVS_SVC_ATTR_AF), u16: key.address.family.addressFamily)
        m.put(UInt16(IPVS_SVC_ATTR_PROTOCOL), u16: UInt16(key.proto.number))
        m.put(UInt16(IPVS_SVC_ATTR_ADDR), bytes: inetAddress(key.address))
        m.put(UInt16(IPVS_SVC_ATTR_PORT), be16: key.port)
    }

    /// `union nf_inet_addr`: an IPv4 address in the first 4 of 16 bytes, or the 16 of an IPv6 one.
    static func inetAddress(_ address: IPAddress) -> [UInt8] {
        address.bytes + [UInt8](repeating: 0, count: 16 - address.bytes.count)
    }

    private static func hostOrder(_ value: UInt32) -> [UInt8] {
        withUnsafeBytes(of: value) { Array($0) }
    }
}
