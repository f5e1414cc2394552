import Foundation
import LblabPlan
import LblabSystem

extension LabRuntime {
    /// What `clean` removed.
    public struct CleanResult: Sendable, Codable {
        public var namespaces: [String]
        public var stoppedProcesses: [Int32]
        public var states: [String]
    }

    /// Removes everything lblab owns on this host, whatever state it is in: every namespace
    /// named `lblab-*` under /run/netns, every process inside one, and all state. Nothing
    /// else is touched.
    public func clean() throws -> CleanResult {
        try Self.requireRoot()
        let names = NetworkNamespace.names(withPrefix: LabNames.prefix)
        let labs = ((try? FileManager.default.contentsOfDirectory(atPath: store.root)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        let known = labs.compactMap { try? store.load($0) }.flatMap { $0.agents.map(\.pid) }
        // Only agents whose pid still names an lblab agent (pids can be reused after a crash).
        let agents = known.filter { Processes.commandName($0) == "lblab-agent" }
        let pids = try Teardown.removeNamespaces(names, knownPIDs: agents)
        for lab in labs { store.remove(lab) }
        return CleanResult(namespaces: names, stoppedProcesses: pids, states: labs)
    }
}
