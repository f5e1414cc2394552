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

func loadLab(_ name: String, _ overrides: [String] = []) throws -> LabSpec {
    try LabFile.load(labsDirectory.appendingPathComponent("\(name).yaml").path, overrides: overrides)
}

func plan(_ name: String, _ overrides: [String] = []) throws -> Plan {
    Planner.plan(try loadLab(name, overrides))
}

func ip(_ text: String) -> IPv4Address { IPv4Address(text)! }
func prefix(_ text: String) -> IPv4Interface { IPv4Interface(text)! }

// Names written out by hand for dr-basic (not computed with LabNames).
let drSwitch = "lblab-dr-basic-switch"
let drClient = "lblab-dr-basic-client"
let drDispatcher = "lblab-dr-basic-dispatcher"
let drRS1 = "lblab-dr-basic-rs1"
let drRS2 = "lblab-dr-basic-rs2"
let drNamespaces: Set<String> = [drSwitch, drClient, drDispatcher, drRS1, drRS2]

extension Step {
    /// Every namespace the step touches (its own, and a veth's peer namespace).
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
}
