#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CMnl
import Foundation
import LblabTypes

/// rtnetlink (NETLINK_ROUTE) in the namespace the socket was opened in.
///
/// Open it on a thread that is inside the target namespace; afterwards it can
/// be used from any thread (requests are serialised). Links are named by the
/// caller and resolved to indexes through this socket, so names always refer
/// to the socket's namespace.
public final class RouteNetlink: @unchecked Sendable {
    private let socket: NetlinkSocket

    /// Opens and binds a NETLINK_ROUTE socket in the calling thread's namespace.
    public init() throws {
        socket = try NetlinkSocket(bus: NETLINK_ROUTE, operation: "open rtnetlink socket")
    }

    /// Creates a bridge. With `index` (non-zero) the kernel gives it that ifindex and this socket
    /// remembers it; when the index is taken (EBUSY) the bridge is created with any index instead.
    public func createBridge(name: String, index: Int32 = 0) throws {
        let operation = "create bridge \(name)"
        if index != 0 {
            do {
                try send(operation) { RouteRequests.encodeCreateBridge(name: name, index: index, sequence: $0) }
                remember(index: index, of: name)
                return
            } catch let error as NetlinkError where error.errno == EBUSY {}
        }
        try send(operation) { RouteRequests.encodeCreateBridge(name: name, sequence: $0) }
    }

    /// Creates a veth pair; with `peerNamespaceFD` the peer goes straight into that namespace.
    ///
    /// One request can do more (see `RouteRequests.encodeCreateVeth`): `index` and `peerIndex`
    /// (both non-zero) ask for those ifindexes, and this socket remembers the first end's (the
    /// caller remembers the peer's on the socket of the peer's namespace); `master` enslaves
    /// the first end to that bridge; `up` brings it up. When a requested index is
    /// taken (EBUSY) the pair is created with any indexes instead. Returns whether the requested
    /// indexes were given.
    @discardableResult
    public func createVeth(name: String, peerName: String, peerNamespaceFD: Int32?, index: Int32 = 0, peerIndex: Int32 = 0,
                           master: String? = nil, up: Bool = false) throws -> Bool {
        let operation = "create veth \(name) (peer \(peerName))" + (master.map { " in \($0)" } ?? "")
        let masterIndex = try master.map { try self.index(of: $0, for: operation) }
        func create(_ index: Int32, _ peerIndex: Int32) throws {
            try send(operation) {
                RouteRequests.encodeCreateVeth(name: name, peerName: peerName, peerNamespaceFD: peerNamespaceFD, index: index, up: up,
                                               masterIndex: masterIndex, peerIndex: peerIndex, sequence: $0)
            }
        }
        if index != 0 && peerIndex != 0 {
            do {
                try create(index, peerIndex)
                remember(index: index, of: name)
                return true
            } catch let error as NetlinkError where error.errno == EBUSY {}
        }
        try create(0, 0)
        return false
    }

    /// Remembers that the link `name` has ifindex `index` in this socket's namespace (known from
    /// its creation), so requests that name it need no lookup.
    public func remember(index: Int32, of name: String) {
        indexLock.withLock { knownIndexes[name] = index }
    }

    /// Enslaves `link` to `master` (a bridge).
    public func setMaster(link: String, master: String) throws {
        let operation = "attach \(link) to \(master)"
        let masterIndex = try index(of: master, for: operation)
        try send(operation, link: link) { RouteRequests.encodeSetLink(name: link, masterIndex: masterIndex, sequence: $0) }
    }

    public func setUp(link: String) throws {
        try send("set \(link) up", link: link) { RouteRequests.encodeSetLink(name: link, up: true, sequence: $0) }
    }

    /// Sets `link` down (`ip link set … down`): a pulled cable, as far as the node's stack sees it.
    public func setDown(link: String) throws {
        try send("set \(link) down", link: link) { RouteRequests.encodeSetLinkState(name: link, up: false, sequence: $0) }
    }

    /// Creates an IP-in-IP tunnel interface that unwraps packets addressed to `local`.
    public func createIPIPTunnel(name: String, local: IPv4Address) throws {
        try send("create ipip tunnel \(name) (local \(local))") { RouteRequests.encodeCreateIPIPTunnel(name: name, local: local, sequence: $0) }
    }

    /// Adds IFA_LOCAL + IFA_ADDRESS (+ IFA_BROADCAST for IPv4 when the prefix is shorter than /31).
    public func addAddress(_ address: IPInterface, link: String) throws {
        let operation = "add address \(address) to \(link)"
        let linkIndex = try index(of: link, for: operation)
        try send(operation) { RouteRequests.encodeAddAddress(address, linkIndex: linkIndex, sequence: $0) }
    }

    /// Adds a main-table route; without a gateway the route is on-link (scope link).
    public func addRoute(to destination: IPInterface, via gateway: IPAddress?, link: String?) throws {
        var operation = "add route \(destination.prefixLength == 0 ? "default" : destination.subnet.description)"
        if let gateway { operation += " via \(gateway)" }
        if let link { operation += " dev \(link)" }
        let linkIndex = try link.map { try index(of: $0, for: operation) }
        try send(operation) {
            RouteRequests.encodeAddRoute(to: destination, via: gateway, linkIndex: linkIndex, sequence: $0)
        }
    }

    /// Deletes an ARP (IPv4) or NDP (IPv6) entry, by the address's family; a missing entry
    /// (ENOENT) is not an error.
    public func deleteNeighbour(_ address: IPAddress, link: String) throws {
        let operation = "delete neighbour \(address) on \(link)"
        let linkIndex = try index(of: link, for: operation)
        do {
            try send(operation) { RouteRequests.encodeDeleteNeighbour(address, linkIndex: linkIndex, sequence: $0) }
        } catch let error as NetlinkError where error.errno == ENOENT {
            return
        }
    }

    public func links() throws -> [Link] {
        try dump("list links", type: Int(RTM_GETLINK), family: UInt8(AF_UNSPEC)).compactMap(Link.init(message:))
    }

    /// Addresses of all links: IPv4 and IPv6 (link-local and loopback ones included; see
    /// `InterfaceAddress.isLabAddress`), or one family's.
    public func addresses(_ family: IPFamily? = nil) throws -> [InterfaceAddress] {
        try dump("list addresses", type: Int(RTM_GETADDR), family: UInt8(family?.addressFamily ?? UInt16(AF_UNSPEC)))
            .compactMap(InterfaceAddress.init(message:))
    }

    /// Neighbour entries of all links: ARP (IPv4) and NDP (IPv6), or one family's.
    public func neighbours(_ family: IPFamily? = nil) throws -> [Neighbour] {
        try dump("list neighbours", type: Int(RTM_GETNEIGH), family: UInt8(family?.addressFamily ?? UInt16(AF_UNSPEC)))
            .compactMap(Neighbour.init(message:))
    }

    /// The index of the link called `name` in this socket's namespace.
    public func index(of name: String) throws -> Int32 {
        try index(of: name, for: "look up link \(name)")
    }

    // MARK: - Private

    /// Link indexes this socket looked up (links are never renamed or re-created under lblab).
    private var knownIndexes: [String: Int32] = [:]
    private let indexLock = NSLock()

    private func index(of name: String, for operation: String) throws -> Int32 {
        if let i = indexLock.withLock({ knownIndexes[name] }) { return i }
        let i = try lookUpIndex(of: name, for: operation)
        indexLock.withLock { knownIndexes[name] = i }
        return i
    }

    private func lookUpIndex(of name: String, for operation: String) throws -> Int32 {
        do {
            let sequence = socket.nextSequence()
            let replies = try socket.transact(RouteRequests.encodeGetLink(name: name, sequence: sequence),
                                              sequence: sequence, operation: operation)
            guard let link = replies.lazy.compactMap(Link.init(message:)).first else {
                throw NetlinkError(operation: operation, errno: ENODEV, hint: "no link named \(name)")
            }
            return link.index
        } catch let error as NetlinkError where error.errno == ENODEV {
            throw NetlinkError(operation: operation, errno: ENODEV, hint: "no link named \(name)",
                               kernelMessage: error.kernelMessage)
        }
    }

    private func send(_ operation: String, _ encode: (UInt32) -> [UInt8]) throws {
        let sequence = socket.nextSequence()
        _ = try socket.transact(encode(sequence), sequence: sequence, operation: operation)
    }

    /// A request that names `link`: ENODEV means there is no such link.
    private func send(_ operation: String, link: String, _ encode: (UInt32) -> [UInt8]) throws {
        do { try send(operation, encode) } catch let error as NetlinkError where error.errno == ENODEV {
            throw NetlinkError(operation: operation, errno: ENODEV, hint: "no link named \(link)", kernelMessage: error.kernelMessage)
        }
    }

    private func dump(_ operation: String, type: Int, family: UInt8) throws -> [NetlinkMessage] {
        let sequence = socket.nextSequence()
        return try socket.transact(RouteRequests.encodeDump(type: type, family: family, sequence: sequence),
                                   sequence: sequence, operation: operation) {
            RouteRequests.encodeDump(type: type, family: family, sequence: $0)
        }
    }
}
