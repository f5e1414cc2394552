import Foundation
import LblabModel
import LblabPlan
import LblabSystem

/// Brings labs up and down: the entry point of the runtime stages.
public struct LabRuntime: Sendable {
    public var store: StateStore

    public init(store: StateStore = StateStore()) { self.store = store }

    /// Every namespace a lab owns, switch first.
    public static func namespaces(of spec: LabSpec) -> [String] {
        [LabNames.switchNamespace(lab: spec.name)] + spec.nodes.map { LabNames.namespace(lab: spec.name, node: $0.name) }
    }

    public static func requireRoot() throws {
        guard Kernel.isRoot else { throw RuntimeError.notRoot }
    }

    /// Makes sure IPVS is loaded (loading the module when it can).
    public static func requireIPVS() throws {
        guard Kernel.loadIPVS() else {
            throw RuntimeError.noIPVS(kernel: Kernel.release, loadable: Kernel.ipvsModuleAvailable)
        }
    }

    /// The result of `up`.
    public struct UpResult: Sendable {
        public var plan: Plan
        public var seconds: Double
        public var agents: [LabState.Agent]
    }

    /// Builds the lab. Fails when it is up already or left over from a crash; a failure
    /// part-way rolls back everything this call created.
    public func up(_ spec: LabSpec, onStep: ((Plan.Entry, Double) -> Void)? = nil) throws -> UpResult {
        let (result, _) = try upKeepingHandles(spec, onStep: onStep)
        return result
    }

    func upKeepingHandles(_ spec: LabSpec, onStep: ((Plan.Entry, Double) -> Void)? = nil) throws -> (UpResult, LabHandles) {
        try Self.requireRoot()
        try Self.requireIPVS()
        return try store.withLock(spec.name) { try upLocked(spec, onStep: onStep) }
    }

    /// `up` for a caller that holds the lab's lock.
    func upLocked(_ spec: LabSpec, onStep: ((Plan.Entry, Double) -> Void)? = nil) throws -> (UpResult, LabHandles) {
        func phase(_ name: String) { Self.logPhase("up: \(name)") }
        let plan = Planner.plan(spec)
        phase("planned")
        try checkNotUp(spec)
        let names = Self.namespaces(of: spec)
        var state = LabState(spec: spec, phase: .building, builderPID: getpid(), startedAt: Date(), namespaces: names, agents: [])
        try store.save(state)
        phase("state saved")
        let t0 = Date()
        let applier = Applier()
        var index = 0
        applier.onStep = { _, seconds in
            onStep?(plan.entries[index], seconds)
            index += 1
        }
        do {
            // One body on the namespace thread: each step enters its namespace in place.
            try NamespaceThread.shared.runHere { try applier.apply(plan.steps) }
            phase("applied")
            state.phase = .up
            state.agents = applier.agents
            try store.save(state)
            phase("state saved")
        } catch {
            let failed = applier.done.count < plan.steps.count ? plan.steps[applier.done.count].command : "save the state of \(spec.name)"
            let removed = (try? NamespaceThread.shared.runHere { applier.rollback() }) ?? 0
            store.remove(spec.name)
            throw RuntimeError.upFailed(lab: spec.name, step: failed, cause: "\(error)", rolledBack: removed)
        }
        return (UpResult(plan: plan, seconds: Date().timeIntervalSince(t0), agents: applier.agents), applier.handles)
    }

    /// Called with the lab's lock held, so no other lblab process is building it: any state
    /// found is either a lab that is up or what a dead process left.
    private func checkNotUp(_ spec: LabSpec) throws {
        if let state = try store.load(spec.name) {
            let missing = state.namespaces.filter { !NetworkNamespace.exists($0) }
            switch state.phase {
            case .up where missing.isEmpty:
                throw RuntimeError.alreadyUp(lab: spec.name, since: state.startedAt)
            case .up:
                throw RuntimeError.partlyGone(lab: spec.name, missing: missing)
            case .building:
                throw RuntimeError.staleState(lab: spec.name, pid: state.builderPID)
            }
        }
        let existing = Self.namespaces(of: spec).filter(NetworkNamespace.exists)
        if !existing.isEmpty { throw RuntimeError.leftovers(lab: spec.name, namespaces: existing) }
    }

    /// The result of `down`.
    public struct DownResult: Sendable {
        public var namespaces: [String]
        public var stoppedProcesses: [Int32]
        public var seconds: Double
    }

    /// Removes the lab named `lab`: every process in its namespaces, the namespaces (and with
    /// them every link, address and IPVS rule) and its state. Without state, `spec` (from the
    /// lab file) names what to look for.
    public func down(_ lab: String, spec: LabSpec? = nil) throws -> DownResult {
        try Self.requireRoot()
        return try store.withLock(lab) { try downLocked(lab, spec: spec) }
    }

    /// `down` for a caller that holds the lab's lock.
    func downLocked(_ lab: String, spec: LabSpec? = nil) throws -> DownResult {
        let t0 = Date()
        let state = try store.load(lab)
        let names = state?.namespaces ?? spec.map(Self.namespaces(of:)) ?? []
        let existing = names.filter(NetworkNamespace.exists)
        if state == nil && existing.isEmpty { throw RuntimeError.notUp(lab: lab) }
        let pids = try Teardown.removeNamespaces(names, knownAgents: state?.agents.map(\.pid) ?? [])
        store.remove(lab)
        return DownResult(namespaces: existing, stoppedProcesses: pids, seconds: Date().timeIntervalSince(t0))
    }

    /// The state of a lab that is up, or an error saying why it is not.
    public func runningState(_ lab: String) throws -> LabState {
        guard let state = try store.load(lab) else { throw RuntimeError.notUp(lab: lab) }
        if state.phase != .up { throw RuntimeError.staleState(lab: lab, pid: state.builderPID) }
        return state
    }

    /// Runs `command` inside a node of a running lab, replacing this process.
    public func exec(lab: String, node: String, command: [String]) throws -> Never {
        let state = try runningState(lab)
        guard state.spec.node(named: node) != nil else {
            throw RuntimeError.unknownNode(lab: lab, node: node, valid: state.spec.nodes.map(\.name))
        }
        let ns = try NetworkNamespace(opening: LabNames.namespace(lab: lab, node: node))
        try ns.exec(command)
    }
}
