import Foundation
import Testing
import LblabModel
@testable import LblabPlan
import LblabTypes

/// The repository's `labs/` directory, found from this file's path (Tests/LblabPlanTests/Support.swift).
let labsDirectory: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()
    .deletingLastPathComponent()
    .deletingLastPathComponent()
    .appendingPathComponent("labs")

/// Every lab file in `labs/`, by stem.
let shippedLabs: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: labsDirectory.path)) ?? [])
    .filter { $0.hasSuffix(".yaml") }
    .map { String($0.dropLast(5)) }
    .sorted()

func loadLab(_ name: String, _ overrides: [String] = []) throws -> LabSpec {
    try LabFile.load(labsDirectory.appendingPathComponent("\(name).yaml").path, overrides: overrides)
}

func plan(_ name: String, _ overrides: [String] = []) throws -> Plan {
    Planner.plan(try loadLab(name, overrides))
}

func ip(_ text: String) -> IPAddress { IPAddress(text)! }
func prefix(_ text: String) -> IPInterface { IPInterface(text)! }

extension Step {
    /// Every namespace the step needs to exist: its own, and a veth's peer namespace.
    var namespacesTouched: [String] {
        if case .createVeth(let ns, _, let peerNS, _) = self { return [ns, peerNS] }
        return [namespace]
    }
    var createdNamespace: String? {
        if case .createNamespace(let n) = self { return n }
        return nil
    }
    var deletedNamespace: String? {
        if case .deleteNamespace(let n) = self { return n }
        return nil
    }
    /// The namespace of a server process's start: an agent, or a DNS lab's daemon.
    var startedAgent: String? {
        if case .startAgent(let ns, _, _, _) = self { return ns }
        if case .startDaemon(let ns, _, _) = self { return ns }
        return nil
    }
    var stoppedAgent: String? {
        if case .stopAgent(let ns, _, _) = self { return ns }
        if case .stopDaemon(let ns, _, _) = self { return ns }
        return nil
    }
}

extension Array where Element == Step {
    /// Index of the first step equal to `step`; records an issue if there is none.
    func position(of step: Step, sourceLocation: SourceLocation = #_sourceLocation) -> Int {
        guard let i = firstIndex(of: step) else {
            Issue.record("plan has no step \(step)", sourceLocation: sourceLocation)
            return -1
        }
        return i
    }
    func count(of step: Step) -> Int { filter { $0 == step }.count }
    var createdNamespaces: [String] { compactMap(\.createdNamespace) }
    var deletedNamespaces: [String] { compactMap(\.deletedNamespace) }
    /// The commands of `--explain`, one per step.
    var commands: [String] { map(\.command) }
    /// The sysctls set in namespace `ns`, as `key=value`, in order.
    func sysctls(in ns: String) -> [String] {
        compactMap { if case .setSysctl(ns, let k, let v) = $0 { "\(k)=\(v)" } else { nil } }
    }
}
