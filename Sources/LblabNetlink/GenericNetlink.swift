import CMnl

/// Generic netlink helpers: the controller's CTRL_CMD_GETFAMILY and the genl header.
enum GenericNetlink {
    static let headerSize = MemoryLayout<genlmsghdr>.size

    /// `CTRL_CMD_GETFAMILY` (version 1) to `GENL_ID_CTRL` with CTRL_ATTR_FAMILY_NAME.
    static func encodeGetFamily(name: String, sequence: UInt32) -> [UInt8] {
        let m = NetlinkRequest(type: UInt16(GENL_ID_CTRL), flags: RouteConstants.request | RouteConstants.ack,
                               sequence: sequence)
        m.putHeader(genlmsghdr(cmd: UInt8(CTRL_CMD_GETFAMILY), version: 1, reserved: 0))
        m.put(UInt16(CTRL_ATTR_FAMILY_NAME), string: name)
        return m.bytes
    }

    /// CTRL_ATTR_FAMILY_ID from a CTRL_CMD_NEWFAMILY reply.
    static func decodeFamilyID(_ messages: [NetlinkMessage]) -> UInt16? {
        for message in messages where message.type == UInt16(GENL_ID_CTRL) {
            if let id = message.attributes(after: headerSize).u16(UInt16(CTRL_ATTR_FAMILY_ID)) { return id }
        }
        return nil
    }

    /// Starts a request to `family` with a genl header (`cmd`, `version`).
    static func request(family: UInt16, command: Int, version: UInt8, flags: UInt16, sequence: UInt32) -> NetlinkRequest {
        let m = NetlinkRequest(type: family, flags: flags, sequence: sequence)
        m.putHeader(genlmsghdr(cmd: UInt8(command), version: version, reserved: 0))
        return m
    }
}
