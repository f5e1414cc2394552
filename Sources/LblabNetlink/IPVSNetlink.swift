#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CMnl
import LblabTypes

/// Generic netlink family "IPVS" in the namespace the socket was opened in.
///
/// Open it on a thread inside the dispatcher's namespace; afterwards it can be
/// used from any thread (requests are serialised). Errors carry hints for the
/// errnos IPVS overloads (EINVAL, ENOENT, ESRCH).
public final class IPVSNetlink: @unchecked Sendable {
    private let socket: NetlinkSocket
    /// The generic netlink id the kernel assigned to "IPVS".
    public let familyID: UInt16

    /// Opens a NETLINK_GENERIC socket and resolves the "IPVS" family (CTRL_CMD_GETFAMILY).
    public init() throws {
        socket = try NetlinkSocket(bus: NETLINK_GENERIC, operation: "open generic netlink socket")
        let operation = "resolve generic netlink family IPVS"
        let sequence = socket.nextSequence()
        let replies: [NetlinkMessage]
        do {
            replies = try socket.transact(GenericNetlink.encodeGetFamily(name: IPVS_GENL_NAME, sequence: sequence),
                                          sequence: sequence, operation: operation)
        } catch let error as NetlinkError where error.errno == ENOENT {
            throw error.withHint(IPVSHint.familyMissing)
        }
        guard let id = GenericNetlink.decodeFamilyID(replies) else {
            throw NetlinkError(operation: operation, errno: ENOENT, hint: IPVSHint.familyMissing)
        }
        familyID = id
    }

    /// IPVS version and connection table size (`ipvsadm`'s header line).
    public func info() throws -> IPVSInfo {
        let operation = "IPVS get info"
        let replies = try request(operation) { IPVSRequests.encodeGetInfo(family: familyID, sequence: $0) }
        guard let info = IPVSDecoding.info(replies) else { throw NetlinkError(operation: operation, errno: EBADMSG) }
        return info
    }

    public func addService(_ service: IPVSService) throws {
        try request("IPVS add service \(service.key) (scheduler \(service.scheduler.rawValue))", scheduler: service.scheduler.rawValue) {
            IPVSRequests.encodeNewService(service, family: familyID, sequence: $0)
        }
    }

    /// Changes scheduler, flags, timeout or netmask of an existing service (`IPVS_CMD_SET_SERVICE`).
    public func editService(_ service: IPVSService) throws {
        try request("IPVS edit service \(service.key) (scheduler \(service.scheduler.rawValue))", scheduler: service.scheduler.rawValue) {
            IPVSRequests.encodeNewService(service, family: familyID, sequence: $0, command: IPVS_CMD_SET_SERVICE)
        }
    }

    /// Sets the namespace's connection timeouts (`ipvsadm --set`); a `nil` one stays as it is.
    public func setTimeouts(_ timeouts: IPVSTimeouts) throws {
        try request("IPVS set timeouts (tcp, tcpfin, udp: \(timeouts.ipvsadmArguments))") {
            IPVSRequests.encodeSetConfig(timeouts, family: familyID, sequence: $0)
        }
    }

    public func deleteService(_ key: IPVSServiceKey) throws {
        try request("IPVS delete service \(key)") {
            IPVSRequests.encodeDeleteService(key, family: familyID, sequence: $0)
        }
    }

    /// All TCP/UDP services (IPv4 and IPv6) with their counters.
    public func services() throws -> [IPVSServiceEntry] {
        try dump("IPVS list services") { [familyID] in IPVSRequests.encodeGetServices(family: familyID, sequence: $0) }
            .compactMap(IPVSDecoding.serviceEntry)
    }

    public func addDestination(_ destination: IPVSDestination, to key: IPVSServiceKey) throws {
        let what = "\(destination.address.withPort(destination.port)) \(destination.forwarding.ipvsadmName) weight \(destination.weight)"
        try request("IPVS add destination \(what) to \(key)", destination: true) {
            IPVSRequests.encodeNewDestination(destination, service: key, family: familyID, sequence: $0)
        }
    }

    public func editDestination(_ destination: IPVSDestination, of key: IPVSServiceKey) throws {
        let what = "\(destination.address.withPort(destination.port)) \(destination.forwarding.ipvsadmName) weight \(destination.weight)"
        try request("IPVS edit destination \(what) of \(key)", destination: true) {
            IPVSRequests.encodeNewDestination(destination, service: key, family: familyID, sequence: $0,
                                              command: IPVS_CMD_SET_DEST)
        }
    }

    public func deleteDestination(address: IPAddress, port: UInt16, from key: IPVSServiceKey) throws {
        try request("IPVS delete destination \(address.withPort(port)) from \(key)", destination: true) {
            IPVSRequests.encodeDeleteDestination(address: address, port: port, service: key, family: familyID, sequence: $0)
        }
    }

    /// The destinations of one service, in kernel order (most recently added first).
    /// A service that does not exist has no destinations: the kernel answers with an empty dump.
    public func destinations(of key: IPVSServiceKey) throws -> [IPVSDestinationEntry] {
        try dump("IPVS list destinations of \(key)") { [familyID] in
            IPVSRequests.encodeGetDestinations(service: key, family: familyID, sequence: $0)
        }.compactMap { IPVSDecoding.destinationEntry($0, serviceFamily: key.address.family) }
    }

    /// Removes every virtual service (`ipvsadm -C`); the connection table stays.
    public func flush() throws {
        try request("IPVS flush") { IPVSRequests.encodeFlush(family: familyID, sequence: $0) }
    }

    // MARK: - Requests (internal: IPVSSyncDaemon.swift sends its own)

    @discardableResult
    func request(_ operation: String, scheduler: String? = nil, destination: Bool = false,
                 _ encode: (UInt32) -> [UInt8]) throws -> [NetlinkMessage] {
        let sequence = socket.nextSequence()
        do {
            return try socket.transact(encode(sequence), sequence: sequence, operation: operation)
        } catch let error as NetlinkError {
            throw IPVSNetlink.annotate(error, scheduler: scheduler, destination: destination)
        }
    }

    func dump(_ operation: String, _ encode: @escaping (UInt32) -> [UInt8]) throws -> [NetlinkMessage] {
        let sequence = socket.nextSequence()
        do {
            return try socket.transact(encode(sequence), sequence: sequence, operation: operation, retry: encode)
        } catch let error as NetlinkError {
            throw IPVSNetlink.annotate(error, scheduler: nil, destination: false)
        }
    }

    /// Replaces misleading errnos with what IPVS actually means by them.
    static func annotate(_ error: NetlinkError, scheduler: String?, destination: Bool) -> NetlinkError {
        switch error.errno {
        case EINVAL:
            return error.withHint(IPVSHint.invalidArgument(destination ? "a destination" : "a service"))
        case ENOENT where scheduler != nil:
            return error.withHint(IPVSHint.scheduler(scheduler!))
        case ENOENT where destination:
            return error.withHint("no such destination")
        case ESRCH:
            return error.withHint(destination ? "no such service" : IPVSHint.noSuchObject)
        default:
            return error
        }
    }
}
