import Foundation
import LblabSystem

/// Errors a user can cause or meet, each naming the cause and the fix.
public enum RuntimeError: Error, CustomStringConvertible {
    case notRoot
    case noIPVS(kernel: String, loadable: Bool)
    case alreadyUp(lab: String, since: Date)
    case partlyGone(lab: String, missing: [String])
    case badLabName(String)
    case staleState(lab: String, pid: Int32)
    case leftovers(lab: String, namespaces: [String])
    case notUp(lab: String)
    case busy(lab: String)
    case corruptState(lab: String, path: String, reason: String)
    case unknownNode(lab: String, node: String, valid: [String])
    case upFailed(lab: String, step: String, cause: String, rolledBack: Int)
    case upWithDifferentSettings(lab: String)
    case system(String, Int32)
    /// A server program a lab runs is not installed.
    case missingProgram(program: String, package: String)
    /// `lblab fault` on a node that runs no server process.
    case noServerOn(lab: String, node: String, valid: [String])

    public var description: String {
        switch self {
        case .notRoot:
            return "lblab builds namespaces, links and IPVS rules, which needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN): run it with sudo"
        case .noIPVS(let k, let loadable):
            return loadable
                ? "IPVS is not loaded in this kernel (\(k)) and `modprobe ip_vs` failed: check `dmesg`, then run `modprobe ip_vs` by hand"
                : "this kernel (\(k)) has no IPVS (CONFIG_IP_VS); `lblab test` runs the lab in a kernel VM instead (install it with ci/setup.sh), or boot a distribution kernel"
        case .alreadyUp(let lab, let since):
            return "lab \(lab) is already up (since \(ISO8601DateFormatter().string(from: since))): use it, or run `lblab down \(lab)` first"
        case .partlyGone(let lab, let missing):
            return "lab \(lab) is up but some of its namespaces are gone (\(missing.joined(separator: ", ")), removed by hand?): run `lblab down \(lab)` to remove the rest, then `lblab up \(lab)`"
        case .staleState(let lab, let pid):
            return "lab \(lab) has state from a run that did not finish (lblab process \(pid) stopped before it was done): run `lblab down \(lab)` to remove what it left"
        case .leftovers(let lab, let ns):
            return "lab \(lab) has no state, but its namespaces exist (\(ns.joined(separator: ", "))): left by a crash or made by hand; `lblab down \(lab)` removes them (`lblab clean` removes the leftovers of every lab)"
        case .badLabName(let name):
            return "'\(name)' is neither a lab file nor a lab name (a-z, 0-9 and '-'): see `lblab list`"
        case .notUp(let lab):
            return "lab \(lab) is not up: `lblab up \(lab)` brings it up, `lblab status` lists the labs that are"
        case .busy(let lab):
            return "another lblab process is working on lab \(lab) right now: wait for it to finish"
        case .corruptState(let lab, let path, let reason):
            return "the state of lab \(lab) at \(path) cannot be read (\(reason)): run `lblab clean` to remove lblab's leftovers"
        case .unknownNode(let lab, let node, let valid):
            return "lab \(lab) has no node named '\(node)' (valid: \(valid.joined(separator: ", ")))"
        case .upFailed(let lab, let step, let cause, let n):
            return "bringing up lab \(lab) failed at `\(step)`: \(cause)\n(rolled back: removed the \(n) namespace(s) and agents this run had created)"
        case .upWithDifferentSettings(let lab):
            return "lab \(lab) is up already with a different topology (nodes, addresses, scheduler, weights or ARP fix): run `lblab down \(lab)` first, or test it as it is (only traffic and expect settings may differ)"
        case .system(let op, let e):
            return SystemError(op, errno: e).description
        case .missingProgram(let program, let package):
            return "\(program) is not installed: `apt-get install \(package)` (ci/setup.sh installs it without starting a system service)"
        case .noServerOn(let lab, let node, let valid):
            return "node \(node) of lab \(lab) runs no server process lblab can stop or start (valid: \(valid.joined(separator: ", ")))"
        }
    }
}
