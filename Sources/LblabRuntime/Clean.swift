import Foundation
import LblabPlan
import LblabSystem

extension LabRuntime {
    /// What `clean` removed.
    public struct CleanResult: Sendable, Codable {
        public var namespaces: [String]
        public var stoppedProcesses: [Int32]
        public var states: [String]
        /// Labs skipped because another lblab process holds their lock.
        public var busy: [String]
    }

    /// Removes everything lblab owns on this host, whatever state it is in: every namespace
    /// named `lblab-*` under /run/netns, every process inside one, and all state. Nothing
    /// else is touched.
    public func clean() throws -> CleanResult {
        try Self.requireRoot()
        let names = NetworkNamespace.names(withPrefix: LabNames.prefix)
        let labs = ((try? FileManager.default.contentsOfDirectory(atPath: store.root)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        // A lab another lblab process is working on right now (its lock is held) is skipped,
        // and so is the scratch namespace of a running `lblab doctor`.
        var busy: [String] = []
        var skipped = Set<String>()
        for lab in labs {
            if (try? store.withLock(lab, {})) == nil {
                busy.append(lab)
                skipped.formUnion((try? store.load(lab))?.namespaces ?? [])
            }
        }
        for name in names where name.hasPrefix(LabNames.prefix + "doctor-") {
            if let pid = Int32(name.dropFirst((LabNames.prefix + "doctor-").count)), Processes.isAlive(pid) { skipped.insert(name) }
        }
        let agents = labs.filter { !busy.contains($0) }.compactMap { try? store.load($0) }.flatMap { $0.agents.map(\.pid) }
        let removable = names.filter { !skipped.contains($0) }
        let pids = try Teardown.removeNamespaces(removable, knownAgents: agents)
        for lab in labs where !busy.contains(lab) { store.remove(lab) }
        return CleanResult(namespaces: removable, stoppedProcesses: pids, states: labs.filter { !busy.contains($0) }, busy: busy)
    }
}
