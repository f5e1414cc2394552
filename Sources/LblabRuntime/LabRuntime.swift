import Foundation
import LblabModel
import LblabPlan
import LblabSystem

/// Brings labs up and down: the entry point of the runtime stages.
public struct LabRuntime: Sendable {
    public var store: StateStore

    public init(store: StateStore = StateStore()) { self.store = store }

    /// Every namespace a lab owns, switch first.
    public static func namespaces(of spec: LabSpec) -> [String] { LabNames.namespaces(of: spec) }

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
        if spec.mode.usesIPVS { try Self.requireIPVS() }
        return try store.withLock(spec.name) { try upLocked(spec, onStep: onStep) }
    }

    /// `up` for a caller that holds the lab's lock.
    func upLocked(_ spec: LabSpec, onStep: ((Plan.Entry, Double) -> Void)? = nil) throws -> (UpResult, LabHandles) {
        func phase(_ name: String) { Self.logPhase("up: \(name)") }
        let plan = Planner.plan(spec)
        phase("planned")
        try checkNotUp(spec)
        let names = Self.namespaces(of: spec)
        var state = LabState(spec: spec, phase: .building, builderPID: getpid(), startedAt: Date(), namespaces: names, agents: [], steps: [])
        try store.save(state)
        phase("state saved")
        let t0 = Date()
        let executor = KernelExecutor()
        let applier = PlanApplier(executor: executor)
        applier.onStep = { i, step, seconds in
            log.trace("step done", metadata: ["step": "\(step.command)", "ms": "\(String(format: "%.2f", seconds * 1000))"])
            onStep?(plan.entries[i], seconds)
        }
        do {
            // One body on the namespace thread: each step enters its namespace in place.
            try NamespaceThread.shared.runHere { try applier.apply(plan.steps) }
            phase("applied")
            state.phase = .up
            state.agents = applier.agents.compactMap { outcome in
                switch outcome {
                case .startedAgent(let node, let ns, let port, let pid): LabState.Agent(node: node, namespace: ns, port: port, pid: pid)
                case .done, .startedDaemon: nil
                }
            }
            let daemons = applier.agents.compactMap { outcome -> LabState.Daemon? in
                switch outcome {
                case .startedDaemon(let node, let ns, let kind, let pid): LabState.Daemon(node: node, namespace: ns, kind: kind, pid: pid)
                case .done, .startedAgent: nil
                }
            }
            state.daemons = daemons.isEmpty ? nil : daemons
            state.steps = applier.done
            try store.save(state)
            phase("state saved")
        } catch {
            let cause = (error as? StepFailure).map { "\($0.cause)" } ?? "\(error)"
            let failed = (error as? StepFailure)?.step.command ?? "save the state of \(spec.name)"
            let created = applier.done.filter { if case .createNamespace = $0 { true } else { false } }.count
            let failures = (try? NamespaceThread.shared.runHere { applier.rollback() }) ?? []
            for f in failures { log.warning("rollback step failed", metadata: ["step": "\(f.step.command)", "error": "\(f.cause)"]) }
            store.remove(spec.name)
            throw RuntimeError.upFailed(lab: spec.name, step: failed, cause: cause, rolledBack: created)
        }
        return (UpResult(plan: plan, seconds: Date().timeIntervalSince(t0), agents: state.agents), executor.handles)
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

    /// `down` for a caller that holds the lab's lock: the teardown of the steps that built the lab
    /// (the same path as a failed `up`'s rollback). Without state, every namespace of the lab that
    /// exists is taken as built.
    func downLocked(_ lab: String, spec: LabSpec? = nil) throws -> DownResult {
        let t0 = Date()
        let state = try store.load(lab)
        let names = state?.namespaces ?? spec.map(Self.namespaces(of:)) ?? []
        let existing = names.filter(NetworkNamespace.exists)
        if state == nil && existing.isEmpty { throw RuntimeError.notUp(lab: lab) }
        var done = state?.steps ?? []
        // Namespaces a crash left without a recorded step (state saved before the steps were).
        for n in existing where !done.contains(.createNamespace(name: n)) { done.insert(.createNamespace(name: n), at: 0) }
        let agents = Dictionary((state?.agents ?? []).map { (AgentKey(node: $0.node, port: $0.port), $0.pid) }, uniquingKeysWith: { a, _ in a })
        let executor = KernelExecutor(agents: agents)
        executor.daemons = Dictionary((state?.daemons ?? []).map { ($0.node, $0.pid) }, uniquingKeysWith: { a, _ in a })
        let failures = try NamespaceThread.shared.runHere { PlanApplier.teardown(done, with: executor) }
        if let first = failures.first {
            throw RuntimeError.system("take lab \(lab) down: \(first)", ECANCELED)
        }
        store.remove(lab)
        return DownResult(namespaces: existing, stoppedProcesses: executor.signalled.sorted(), seconds: Date().timeIntervalSince(t0))
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
