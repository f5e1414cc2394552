#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CMnl
import LblabTypes

/// One IPVS connection synchronisation daemon (`ipvsadm --list --daemon`): the kernel threads
/// that send (master) or receive (backup) connection state over multicast on an interface.
public struct IPVSSyncDaemon: Sendable, Equatable, Codable, CustomStringConvertible {
    public typealias State = IPVSSyncDaemonState

    public var state: State
    /// The multicast interface (`mcast-interface`).
    public var interface: String
    /// The sync id (`syncid`): a backup only takes messages of its own id.
    public var syncID: UInt32

    public init(state: State, interface: String, syncID: UInt32) {
        self.state = state
        self.interface = interface
        self.syncID = syncID
    }

    /// `master sync daemon (mcast=eth0, syncid=51)`, as `ipvsadm -L --daemon` prints it.
    public var description: String { "\(state.rawValue) sync daemon (mcast=\(interface), syncid=\(syncID))" }
}

extension IPVSRequests {
    /// `IPVS_CMD_GET_DAEMON` dump: one reply per running daemon.
    static func encodeGetDaemons(family: UInt16, sequence: UInt32) -> [UInt8] {
        GenericNetlink.request(family: family, command: IPVS_CMD_GET_DAEMON, version: version,
                               flags: RouteConstants.request | RouteConstants.dump, sequence: sequence).bytes
    }

    /// `IPVS_CMD_NEW_DAEMON`: DAEMON {STATE, MCAST_IFN, SYNC_ID}, the three the kernel requires.
    static func encodeNewDaemon(_ daemon: IPVSSyncDaemon, family: UInt16, sequence: UInt32) -> [UInt8] {
        let m = GenericNetlink.request(family: family, command: IPVS_CMD_NEW_DAEMON, version: version,
                                       flags: RouteConstants.request | RouteConstants.ack, sequence: sequence)
        m.nest(UInt16(IPVS_CMD_ATTR_DAEMON)) {
            m.put(UInt16(IPVS_DAEMON_ATTR_STATE), u32: daemon.state.kernelValue)
            m.put(UInt16(IPVS_DAEMON_ATTR_MCAST_IFN), string: daemon.interface)
            m.put(UInt16(IPVS_DAEMON_ATTR_SYNC_ID), u32: daemon.syncID)
        }
        return m.bytes
    }

    /// `IPVS_CMD_DEL_DAEMON`: DAEMON {STATE}.
    static func encodeDeleteDaemon(_ state: IPVSSyncDaemon.State, family: UInt16, sequence: UInt32) -> [UInt8] {
        let m = GenericNetlink.request(family: family, command: IPVS_CMD_DEL_DAEMON, version: version,
                                       flags: RouteConstants.request | RouteConstants.ack, sequence: sequence)
        m.nest(UInt16(IPVS_CMD_ATTR_DAEMON)) { m.put(UInt16(IPVS_DAEMON_ATTR_STATE), u32: state.kernelValue) }
        return m.bytes
    }
}

extension IPVSDecoding {
    /// A daemon from a GET_DAEMON reply: DAEMON {STATE, MCAST_IFN, SYNC_ID, ...}; `nil` for a
    /// message without them or with a state lblab does not know.
    static func syncDaemon(_ message: NetlinkMessage) -> IPVSSyncDaemon? {
        guard let d = message.attributes(after: GenericNetlink.headerSize).nested(UInt16(IPVS_CMD_ATTR_DAEMON)),
              let raw = d.u32(UInt16(IPVS_DAEMON_ATTR_STATE)), let state = IPVSSyncDaemon.State(kernelValue: raw),
              let interface = d.string(UInt16(IPVS_DAEMON_ATTR_MCAST_IFN)),
              let id = d.u32(UInt16(IPVS_DAEMON_ATTR_SYNC_ID)) else { return nil }
        return IPVSSyncDaemon(state: state, interface: interface, syncID: id)
    }
}

extension IPVSNetlink {
    /// The sync daemons running in this namespace (none, a master, a backup, or both).
    public func syncDaemons() throws -> [IPVSSyncDaemon] {
        try dump("IPVS list sync daemons") { [familyID] in IPVSRequests.encodeGetDaemons(family: familyID, sequence: $0) }
            .compactMap(IPVSDecoding.syncDaemon)
    }

    /// Starts a sync daemon (`ipvsadm --start-daemon`).
    public func startSyncDaemon(_ daemon: IPVSSyncDaemon) throws {
        try request("IPVS start \(daemon)") { [familyID] in IPVSRequests.encodeNewDaemon(daemon, family: familyID, sequence: $0) }
    }

    /// Stops the sync daemon in `state` (`ipvsadm --stop-daemon`).
    public func stopSyncDaemon(_ state: IPVSSyncDaemon.State) throws {
        try request("IPVS stop \(state.rawValue) sync daemon") { [familyID] in
            IPVSRequests.encodeDeleteDaemon(state, family: familyID, sequence: $0)
        }
    }
}

extension IPVSSyncDaemonState {
    /// `IP_VS_STATE_MASTER` / `IP_VS_STATE_BACKUP`.
    public var kernelValue: UInt32 {
        switch self {
        case .master: UInt32(IP_VS_STATE_MASTER)
        case .backup: UInt32(IP_VS_STATE_BACKUP)
        }
    }

    public init?(kernelValue: UInt32) {
        guard let s = Self.allCases.first(where: { $0.kernelValue == kernelValue }) else { return nil }
        self = s
    }
}
