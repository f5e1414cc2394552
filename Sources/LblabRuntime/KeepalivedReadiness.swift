import Foundation
import LblabKeepalived
import LblabNetlink
import LblabSystem
import LblabTypes

/// When keepalived counts as started: it is running and has put its virtual servers in IPVS
/// (read back over netlink), and each real server whose first check passes joined them.
enum KeepalivedReadiness {
    /// Waits (up to `serviceTimeout` s) for every virtual server; then, up to the longest check
    /// bound, for every real server. Servers still missing then are the lab's to judge (a check
    /// on the wrong port never passes): the wait ends without an error, and the log says which.
    static func wait(_ pid: Int32, config: KeepalivedConfig, node: String, in namespace: NetworkNamespace, log: String,
                     serviceTimeout: Double = 15) throws {
        let ipvs = try namespace.run { try IPVSNetlink() }
        let t0 = Date()
        let bound = config.virtualServers.map { v in v.realServers.map { $0.check.timing(delayLoop: v.delayLoop).readdBound }.max() ?? 0 }.max() ?? 0
        func tail() -> String {
            (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").suffix(3).joined(separator: " | ") ?? ""
        }
        var servicesSeen: Date?
        while true {
            _ = waitpid(pid, nil, WNOHANG)
            guard Processes.isAlive(pid) else {
                let t = tail()
                throw RuntimeError.system("start keepalived of \(node): it exited" + (t.isEmpty ? "" : " (\(t))") + "; its log: \(log)", ECHILD)
            }
            let missing = try Self.missing(config, ipvs)
            if missing.services.isEmpty {
                if missing.servers.isEmpty { return }
                let since = servicesSeen ?? Date()
                servicesSeen = since
                if Date().timeIntervalSince(since) > bound + 2 {
                    note("keepalived of \(node): after \(String(format: "%.1f", Date().timeIntervalSince(t0))) s no good check yet of \(missing.servers.joined(separator: ", ")); they stay out of IPVS")
                    return
                }
            } else if Date().timeIntervalSince(t0) > serviceTimeout {
                Processes.stop(pid, grace: 5)
                let t = tail()
                throw RuntimeError.system("start keepalived of \(node): \(missing.services.joined(separator: ", ")) not in IPVS after \(Int(serviceTimeout)) s"
                                          + (t.isEmpty ? "" : " (\(t))") + "; its log: \(log)", ETIMEDOUT)
            }
            usleep(20_000)
        }
    }

    /// The virtual servers not in IPVS yet, and the real servers (`ADDRESS:PORT`) not among their
    /// service's destinations.
    static func missing(_ config: KeepalivedConfig, _ ipvs: IPVSNetlink) throws -> (services: [String], servers: [String]) {
        let present = Set(try ipvs.services().map(\.key))
        var services: [String] = [], servers: [String] = []
        for v in config.virtualServers {
            let key = IPVSServiceKey(proto: v.proto, address: v.address, port: v.port)
            guard present.contains(key) else { services.append("\(v.proto.ipvsadmName) \(v.address.withPort(v.port))"); continue }
            let dests = Set(try ipvs.destinations(of: key).map { $0.destination.address.withPort($0.destination.port) })
            servers += v.realServers.map { $0.address.withPort($0.port) }.filter { !dests.contains($0) }
        }
        return (services, servers)
    }

    private static func note(_ message: String) {
        LblabRuntime.log.notice("\(message)")
    }
}
