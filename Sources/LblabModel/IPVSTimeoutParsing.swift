import LblabTypes

extension LabValidator {
    static let ipvsTimeoutKeys = ["tcp", "tcpfin", "udp"]

    /// A dispatcher's `ipvs_timeouts: {tcp: S, tcpfin: S, udp: S}` (`ipvsadm --set`): each 1 s to
    /// 24 h, any left out keeps the kernel's value. Only a dispatcher has an IPVS table.
    func parseIPVSTimeouts(_ key: String, _ t: LabTree, role: NodeRole) throws -> IPVSTimeouts? {
        guard let node = t["ipvs_timeouts"] else { return nil }
        let k = "\(key).ipvs_timeouts"
        guard role == .dispatcher else {
            throw fail(k, node, "only a dispatcher has IPVS timeouts (they belong to its IPVS table)", valid: "move ipvs_timeouts to the dispatcher node")
        }
        let m = try mapping(k, node, allowed: Self.ipvsTimeoutKeys)!
        let day = 86_400
        let timeouts = IPVSTimeouts(tcp: try m["tcp"].map { try int("\(k).tcp", $0, 1...day, default: IPVSTimeouts.kernelTCP) },
                                    tcpfin: try m["tcpfin"].map { try int("\(k).tcpfin", $0, 1...day, default: IPVSTimeouts.kernelTCPFin) },
                                    udp: try m["udp"].map { try int("\(k).udp", $0, 1...day, default: IPVSTimeouts.kernelUDP) })
        guard timeouts != IPVSTimeouts() else {
            throw fail(k, node, "names no timeout", valid: "e.g. ipvs_timeouts: {tcpfin: 1} (keys: \(Self.ipvsTimeoutKeys.joined(separator: ", ")))")
        }
        return timeouts
    }
}
