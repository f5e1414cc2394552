import LblabTypes

/// The keepalived.conf lblab generates, as data: `global_defs`, VRRP instances and LVS virtual
/// servers with their real servers and health checks. `rendered` (KeepalivedRender.swift) writes
/// the text keepalived reads; nothing here touches the system.
public struct KeepalivedConfig: Codable, Sendable, Equatable {
    public var global: GlobalDefs
    public var vrrpInstances: [VRRPInstance]
    public var virtualServers: [VirtualServer]

    public init(global: GlobalDefs, vrrpInstances: [VRRPInstance] = [], virtualServers: [VirtualServer] = []) {
        self.global = global
        self.vrrpInstances = vrrpInstances
        self.virtualServers = virtualServers
    }

    /// The subsystems keepalived must run: the health checker for virtual servers, VRRP for instances.
    public var runsChecker: Bool { !virtualServers.isEmpty }
    public var runsVRRP: Bool { !vrrpInstances.isEmpty }
}

/// `global_defs`: the node's router id, and the IPVS connection sync daemon when asked for.
public struct GlobalDefs: Codable, Sendable, Equatable {
    /// `router_id`: names this keepalived in its logs (lblab: `<lab>_<node>`).
    public var routerID: String
    public var syncDaemon: SyncDaemon?

    public init(routerID: String, syncDaemon: SyncDaemon? = nil) {
        self.routerID = routerID
        self.syncDaemon = syncDaemon
    }
}

/// `lvs_sync_daemon INTERFACE VRRP_INSTANCE [id ID]`: keepalived runs the kernel's IPVS
/// connection sync daemon on `interface`, master or backup as `instance` is.
public struct SyncDaemon: Codable, Sendable, Equatable {
    public var interface: String
    public var instance: String
    /// The sync id (0...255), `nil`: keepalived's default (the instance's virtual router id).
    public var syncID: Int?

    public init(interface: String, instance: String, syncID: Int? = nil) {
        self.interface = interface
        self.instance = instance
        self.syncID = syncID
    }
}

/// A `vrrp_instance`: one virtual router holding the VIPs.
public struct VRRPInstance: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable, CaseIterable {
        case master = "MASTER"
        case backup = "BACKUP"
    }

    public var name: String
    public var state: State
    public var interface: String
    /// 1...255; both routers of one VIP share it.
    public var virtualRouterID: Int
    /// 1...255; the higher one is master.
    public var priority: Int
    /// Seconds between adverts.
    public var advertInterval: Double
    /// The addresses the master holds (`virtual_ipaddress`), with their prefix, on `interface`.
    public var virtualAddresses: [IPInterface]
    /// `unicast_peer`: adverts to these addresses instead of multicast (empty: multicast).
    public var unicastPeers: [IPAddress]
    /// `nopreempt` (state must then be BACKUP).
    public var noPreempt: Bool

    public init(name: String, state: State, interface: String, virtualRouterID: Int, priority: Int, advertInterval: Double = 1,
                virtualAddresses: [IPInterface], unicastPeers: [IPAddress] = [], noPreempt: Bool = false) {
        self.name = name
        self.state = state
        self.interface = interface
        self.virtualRouterID = virtualRouterID
        self.priority = priority
        self.advertInterval = advertInterval
        self.virtualAddresses = virtualAddresses
        self.unicastPeers = unicastPeers
        self.noPreempt = noPreempt
    }
}

/// A `virtual_server`: the IPVS service keepalived creates and keeps filled with healthy real servers.
public struct VirtualServer: Codable, Sendable, Equatable {
    public var address: IPAddress
    public var port: UInt16
    public var proto: TransportProtocol
    public var scheduler: Scheduler
    /// `lvs_method`: the service's forwarding method (a real server may name its own).
    public var forwarding: Forwarding
    /// `delay_loop`: seconds between two checks of one real server.
    public var delayLoop: Double
    /// `persistence_timeout` in seconds (`nil`: none).
    public var persistenceTimeout: Int?
    /// `persistence_granularity` as a prefix length (`nil`: the whole address).
    public var persistencePrefix: Int?
    /// `ops`: one-packet scheduling (UDP).
    public var onePacket: Bool
    /// `alpha`: real servers start out failed and join after their first good check (never
    /// before: no traffic to a server nothing has checked).
    public var alpha: Bool
    public var realServers: [RealServer]

    public init(address: IPAddress, port: UInt16, proto: TransportProtocol, scheduler: Scheduler, forwarding: Forwarding,
                delayLoop: Double, persistenceTimeout: Int? = nil, persistencePrefix: Int? = nil, onePacket: Bool = false,
                alpha: Bool = true, realServers: [RealServer]) {
        self.address = address
        self.port = port
        self.proto = proto
        self.scheduler = scheduler
        self.forwarding = forwarding
        self.delayLoop = delayLoop
        self.persistenceTimeout = persistenceTimeout
        self.persistencePrefix = persistencePrefix
        self.onePacket = onePacket
        self.alpha = alpha
        self.realServers = realServers
    }
}

/// A `real_server` of a virtual server and its check.
public struct RealServer: Codable, Sendable, Equatable {
    public var address: IPAddress
    public var port: UInt16
    public var weight: Int
    /// `lvs_method` of this server when it differs from the virtual server's.
    public var forwarding: Forwarding?
    /// `uthreshold` / `lthreshold` (`nil`: none).
    public var upperThreshold: Int?
    public var lowerThreshold: Int?
    public var check: HealthCheck

    public init(address: IPAddress, port: UInt16, weight: Int, forwarding: Forwarding? = nil, upperThreshold: Int? = nil,
                lowerThreshold: Int? = nil, check: HealthCheck) {
        self.address = address
        self.port = port
        self.weight = weight
        self.forwarding = forwarding
        self.upperThreshold = upperThreshold
        self.lowerThreshold = lowerThreshold
        self.check = check
    }
}

/// A real server's health check: `TCP_CHECK` (a connect) or `HTTP_GET` (a request and its status).
public struct HealthCheck: Codable, Sendable, Equatable {
    public enum Kind: Codable, Sendable, Equatable {
        case tcp
        /// `HTTP_GET` with one `url { path, status_code }`.
        case http(path: String, status: Int)
    }

    public var kind: Kind
    /// `connect_port`: the port checked on the real server's own address.
    public var port: UInt16
    /// `connect_timeout` in seconds.
    public var connectTimeout: Double
    /// `retry`: further attempts after a failed one before the server is marked failed.
    public var retry: Int
    /// `delay_before_retry` in seconds.
    public var delayBeforeRetry: Double
    /// `bindto`: the source address of the checks (`nil`: the kernel's choice). A dispatcher holding
    /// an IPv6 VIP on the interface may otherwise send them from the VIP, which a DR real server
    /// holds too: its answers then stay inside it and every check fails.
    public var bindTo: IPAddress?

    public init(kind: Kind, port: UInt16, connectTimeout: Double, retry: Int, delayBeforeRetry: Double, bindTo: IPAddress? = nil) {
        self.bindTo = bindTo
        self.kind = kind
        self.port = port
        self.connectTimeout = connectTimeout
        self.retry = retry
        self.delayBeforeRetry = delayBeforeRetry
    }

    /// The bounds this check implies when it runs every `delayLoop` seconds (`CheckTiming`).
    public func timing(delayLoop: Double) -> CheckTiming {
        CheckTiming(interval: delayLoop, timeout: connectTimeout, retries: retry, retryDelay: delayBeforeRetry)
    }
}
