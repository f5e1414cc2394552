import Foundation
import LblabPlan
import LblabSystem

/// Removes lab namespaces and every process inside them.
enum Teardown {
    /// Stops every process in the named namespaces, then deletes the namespaces. Missing
    /// namespaces are skipped. `knownAgents` (pids from lab state) are stopped too when they
    /// are still lblab agents: a pid may have been reused since. Returns the pids it stopped.
    @discardableResult
    static func removeNamespaces(_ names: [String], knownAgents: [Int32] = []) throws -> [Int32] {
        let existing = names.filter(NetworkNamespace.exists)
        let inodes = Set(existing.compactMap(NetworkNamespace.inode(of:)))
        var pids = knownAgents.filter { Processes.isAlive($0) && Processes.commandName($0) == Processes.agentName }
        if !inodes.isEmpty { pids += Processes.pids(inNamespaceInodes: inodes) }
        pids = Array(Set(pids)).filter { $0 != getpid() }.sorted()
        if !pids.isEmpty { log.debug("stopping processes", metadata: ["pids": "\(pids)", "namespaces": "\(existing)"]) }
        for pid in pids { kill(pid, SIGTERM) }
        for pid in pids { Processes.stop(pid) }
        var firstError: Error?
        for name in existing {
            do { try NetworkNamespace.delete(name) } catch { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
        return pids
    }
}
