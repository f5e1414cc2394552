import Foundation
import LblabModel
import LblabPlan
import LblabSystem

extension LabRuntime {
    /// `lblab fault LAB NODE down|up`: stops a server node's service process (the host stays), or
    /// starts it again. Any lab: a real server's agent, a DNS lab's web server, DNS server or resolver.
    public func fault(lab: String, node: String, action: FaultSpec.Action) throws -> String {
        try Self.requireRoot()
        return try store.withLock(lab) {
            var state = try runningState(lab)
            return try Self.apply(action, node: node, state: &state, store: store)
        }
    }

    /// Applies one fault to a running lab (the caller holds its lock) and saves the new pids.
    static func apply(_ action: FaultSpec.Action, node: String, state: inout LabState, store: StateStore) throws -> String {
        let lab = state.lab
        let valid = state.agents.map(\.node) + (state.daemons ?? []).map(\.node)
        if let i = state.daemons?.firstIndex(where: { $0.node == node }), let d = state.daemons?[i] {
            switch action {
            case .down:
                Daemons.stop(d.pid, kind: d.kind)
                return "\(d.kind.commandName) of \(node) stopped (pid \(d.pid))"
            case .up:
                if Processes.isAlive(d.pid), Processes.commandName(d.pid) == d.kind.commandName { return "\(d.kind.commandName) of \(node) is running already (pid \(d.pid))" }
                guard let spec = state.spec.node(named: node), let planned = Planner.daemon(of: spec, state.spec) else {
                    throw RuntimeError.noServerOn(lab: lab, node: node, valid: valid)
                }
                let pid = try Daemons.start(planned, node: node, in: try NetworkNamespace(opening: d.namespace))
                state.daemons?[i].pid = pid
                try store.save(state)
                return "\(d.kind.commandName) of \(node) started (pid \(pid))"
            }
        }
        let agents = state.agents.indices.filter { state.agents[$0].node == node }
        guard !agents.isEmpty else {
            if state.spec.node(named: node) == nil { throw RuntimeError.unknownNode(lab: lab, node: node, valid: state.spec.nodes.map(\.name)) }
            throw RuntimeError.noServerOn(lab: lab, node: node, valid: valid)
        }
        var done: [String] = []
        for i in agents {
            let a = state.agents[i]
            switch action {
            case .down:
                if Processes.isAlive(a.pid), Processes.commandName(a.pid) == Processes.agentName { Processes.stop(a.pid) }
                done.append("the HTTP agent of \(node) on port \(a.port) stopped (pid \(a.pid))")
            case .up:
                if Processes.isAlive(a.pid), Processes.commandName(a.pid) == Processes.agentName {
                    done.append("the HTTP agent of \(node) on port \(a.port) is running already (pid \(a.pid))")
                    continue
                }
                let agent = try Processes.spawnAgent(in: try NetworkNamespace(opening: a.namespace), port: a.port, nodeName: node)
                try Processes.waitUntilListening(agent, port: a.port)
                state.agents[i].pid = agent.pid
                done.append("the HTTP agent of \(node) on port \(a.port) started (pid \(agent.pid))")
            }
        }
        try store.save(state)
        return done.joined(separator: "\n")
    }

    /// The lab's `faults:` during a test, each at its time after `start`, on this thread (the
    /// clients run as processes of their own meanwhile). Returns when each was applied (a slow
    /// machine may apply one late: the rules judge from the real time) and the nodes left down.
    func applyFaults(_ spec: LabSpec, state: inout LabState, start: Double, progress: ((String) -> Void)?) throws -> (applied: [(FaultSpec, Double)], down: Set<String>) {
        var down = Set<String>()
        var applied: [(FaultSpec, Double)] = []
        for f in spec.faults ?? [] {
            let wait = start + f.at - Date().timeIntervalSince1970
            if wait > 0 { usleep(useconds_t(wait * 1_000_000)) }
            let t = Date().timeIntervalSince1970
            let what = try Self.apply(f.action, node: f.node, state: &state, store: store)
            applied.append((f, t))
            progress?(String(format: "fault at %.2f s: %@", t - start, what))
            switch f.action {
            case .down: down.insert(f.node)
            case .up: down.remove(f.node)
            }
        }
        return (applied, down)
    }

    /// After a test: the servers its faults left down start again, so the lab is itself for the next run.
    func restore(_ nodes: Set<String>, state: inout LabState, progress: ((String) -> Void)?) {
        for node in nodes.sorted() {
            do { progress?("after the test: " + (try Self.apply(.up, node: node, state: &state, store: store))) } catch {
                progress?("warning: could not start \(node) again after the test: \(error); `lblab fault \(state.lab) \(node) up` retries")
            }
        }
    }
}
