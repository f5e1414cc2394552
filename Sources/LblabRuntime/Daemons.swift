import Foundation
import LblabModel
import LblabPlan
import LblabSystem

/// Server processes a lab runs besides its real servers' agents: dnsmasq, unbound and the web
/// servers' agents of a DNS lab, keepalived on dispatchers. Started by the plan's `startDaemon` steps, stopped by their undo (and, like every
/// process in a lab namespace, by the namespace's deletion), checked alive by `lblab test`.
enum Daemons {
    /// The lab's state directory, where each daemon's configuration and log live.
    static func directory(of lab: String) -> String { StateStore().directory(of: lab) }

    /// Starts `daemon` for `node` in `namespace` and waits (up to `timeout` seconds) until it serves.
    static func start(_ daemon: PlannedDaemon, node: String, in namespace: NetworkNamespace, timeout: Double = 10) throws -> Int32 {
        let dir = directory(of: daemon.lab)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let configPath = "\(dir)/\(daemon.kind.file(node: node, "conf"))"
        if let text = daemon.config { try text.write(toFile: configPath, atomically: true, encoding: .utf8) }
        let program = daemon.arguments[0]
        let exe: String? = switch daemon.kind {
        case .agent: Processes.agentExecutable
        case .dnsmasq: Processes.find("dnsmasq")
        case .unbound: Processes.find("unbound")
        case .keepalived: Processes.find("keepalived")
        }
        guard let exe else { throw RuntimeError.missingProgram(program: program, package: package(of: daemon.kind)) }
        let argv = daemon.arguments.map { $0.replacingOccurrences(of: "{config}", with: configPath).replacingOccurrences(of: "{dir}", with: dir) }
        let log = "\(dir)/\(daemon.kind.file(node: node, "log"))"
        let pid = try Processes.spawn(exe, argv, in: namespace, output: log)
        if let config = daemon.keepalived {
            try KeepalivedReadiness.wait(pid, config: config, node: node, in: namespace, log: log)
            return pid
        }
        let deadline = Date().addingTimeInterval(timeout)
        while !Processes.isServing(pid, port: daemon.port, udp: daemon.kind != .agent) {
            _ = waitpid(pid, nil, WNOHANG)
            let tail = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").suffix(3).joined(separator: " | ") ?? ""
            if !Processes.isAlive(pid) {
                throw RuntimeError.system("start \(daemon.kind.rawValue) of \(node): it exited" + (tail.isEmpty ? "" : " (\(tail))"), ECHILD)
            }
            if Date() > deadline {
                Processes.stop(pid)
                throw RuntimeError.system("start \(daemon.kind.rawValue) of \(node): not serving on port \(daemon.port) after \(Int(timeout)) s", ETIMEDOUT)
            }
            usleep(5_000)
        }
        return pid
    }

    /// Stops a daemon if `pid` is still that program.
    static func stop(_ pid: Int32, kind: DaemonKind) {
        // keepalived removes its IPVS rules (and VRRP addresses) as it stops: give it time to.
        let grace: Double = kind == .keepalived ? 5 : 1
        if Processes.isAlive(pid), Processes.commandName(pid) == kind.commandName { Processes.stop(pid, grace: grace) }
    }

    /// The Debian package that gives `kind`'s program (ci/setup.sh installs it).
    static func package(of kind: DaemonKind) -> String {
        switch kind {
        case .dnsmasq: "dnsmasq-base"
        case .unbound: "unbound"
        case .keepalived: "keepalived"
        case .agent: "lblab (lblab-agent is built with it)"
        }
    }
}

/// The liveness check `lblab test` makes before and after the traffic, for every lab: each server
/// process the lab runs (agents, dnsmasq, unbound) is alive and still that program.
public enum Liveness {
    /// One line per process that is not running, naming it; empty when all are.
    public static func dead(_ state: LabState, when: String) -> [String] {
        var out: [String] = []
        for a in state.agents where !(Processes.isAlive(a.pid) && Processes.commandName(a.pid) == Processes.agentName) {
            out.append("the HTTP agent of \(a.node) (pid \(a.pid), port \(a.port)) was not running \(when)")
        }
        for d in state.daemons ?? [] where !(Processes.isAlive(d.pid) && Processes.commandName(d.pid) == d.kind.commandName) {
            out.append("\(d.kind.commandName) of \(d.node) (pid \(d.pid)) was not running \(when)")
        }
        return out
    }
}
