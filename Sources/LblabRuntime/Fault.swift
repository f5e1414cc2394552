import Foundation
import LblabModel
import LblabNetlink
import LblabPlan
import LblabSystem
import LblabTypes

extension LabRuntime {
    /// `lblab fault LAB NODE ACTION`: `down` stops a server node's service process (the host
    /// stays), `unplug` sets its links down, `slow` restarts its agent answering after a delay,
    /// `plug` sets its links up, `up` undoes all of them. Any lab: a real server's agent, a DNS
    /// lab's web server, DNS server or resolver, a dispatcher's keepalived (`down`/`up`).
    public func fault(lab: String, node: String, action: FaultSpec.Action, delayMillis: Int? = nil, port: UInt16? = nil) throws -> String {
        try Self.requireRoot()
        return try store.withLock(lab) {
            var state = try runningState(lab)
            return try Self.apply(FaultSpec(at: 0, node: node, action: action, delayMillis: delayMillis, port: port), state: &state, store: store)
        }
    }

    /// Applies one fault to a running lab (the caller holds its lock) and saves the new pids.
    static func apply(_ fault: FaultSpec, state: inout LabState, store: StateStore) throws -> String {
        let (action, node, lab) = (fault.action, fault.node, state.lab)
        let valid = state.agents.map(\.node) + (state.daemons ?? []).map(\.node)
        guard let spec = state.spec.node(named: node) else { throw RuntimeError.unknownNode(lab: lab, node: node, valid: state.spec.nodes.map(\.name)) }
        let namespace = LabNames.namespace(lab: lab, node: node)
        var done: [String] = []
        // The cable first: `up` plugs it back before the service starts; `plug` does only that.
        switch action {
        case .unplug, .plug, .up:
            let route = try NetworkNamespace(opening: namespace).run { try RouteNetlink() }
            let up = Set(try route.links().filter(\.isUp).map(\.name))
            let names = spec.interfaces.map(\.name)
            for name in names {
                if action == .unplug { try route.setDown(link: name) } else if !up.contains(name) { try route.setUp(link: name) }
            }
            if action != .up { return "\(node)'s links \(names.joined(separator: ", ")) " + (action == .unplug ? "set down (unplugged)" : "set up (plugged)") }
            let plugged = names.filter { !up.contains($0) }
            if !plugged.isEmpty { done.append("\(node)'s links \(plugged.joined(separator: ", ")) set up (plugged)") }
        case .down, .slow: break
        }
        if let i = state.daemons?.firstIndex(where: { $0.node == node }), let d = state.daemons?[i] {
            switch action {
            case .down:
                Daemons.stop(d.pid, kind: d.kind)
                return "\(d.kind.commandName) of \(node) stopped (pid \(d.pid))"
            case .up:
                if Processes.isAlive(d.pid), Processes.commandName(d.pid) == d.kind.commandName { return "\(d.kind.commandName) of \(node) is running already (pid \(d.pid))" }
                guard let planned = Planner.daemon(of: spec, state.spec) else { throw RuntimeError.noServerOn(lab: lab, node: node, valid: valid) }
                let pid = try Daemons.start(planned, node: node, in: try NetworkNamespace(opening: d.namespace))
                state.daemons?[i].pid = pid
                try store.save(state)
                return "\(d.kind.commandName) of \(node) started (pid \(pid))"
            case .slow, .unplug, .plug:
                throw RuntimeError.system("make \(node) \(action.rawValue): slow delays an HTTP agent, and \(node) runs \(d.kind.commandName): use down/up, or unplug/plug for its link", EINVAL)
            }
        }
        let all = state.agents.indices.filter { state.agents[$0].node == node }
        guard !all.isEmpty else { throw RuntimeError.noServerOn(lab: lab, node: node, valid: valid) }
        let agents = all.filter { i in fault.port.map { state.agents[i].port == $0 } ?? true }
        guard !agents.isEmpty else {
            throw RuntimeError.system("\(action.rawValue) \(node)'s agent on port \(fault.port ?? 0): it has agents on port(s) "
                                      + all.map { String(state.agents[$0].port) }.joined(separator: ", "), EINVAL)
        }
        for i in agents {
            let a = state.agents[i]
            let running = Processes.isAlive(a.pid) && Processes.commandName(a.pid) == Processes.agentName
            let what = "the HTTP agent of \(node) on port \(a.port)"
            switch action {
            case .down:
                if running { Processes.stop(a.pid) }
                done.append("\(what) stopped (pid \(a.pid))")
            case .up, .slow:
                let delay = action == .slow ? (fault.delayMillis ?? FaultSpec.defaultDelayMillis) : nil
                if running && a.delayMillis == delay {
                    done.append("\(what) is running already (pid \(a.pid))" + (delay.map { ", \($0) ms slow" } ?? ""))
                    continue
                }
                if running { Processes.stop(a.pid) }
                let pid = try startAgent(node: node, port: a.port, delayMillis: delay, lab: lab, namespace: a.namespace, address: spec.address?.address)
                state.agents[i].pid = pid
                state.agents[i].delayMillis = delay
                done.append("\(what) started (pid \(pid))" + (delay.map { ", answering \($0) ms late" } ?? ""))
            case .unplug, .plug:
                break
            }
        }
        try store.save(state)
        return done.joined(separator: "\n")
    }

    /// An agent as the plan starts it, or (with a delay) as a DNS lab's slow web server.
    private static func startAgent(node: String, port: UInt16, delayMillis: Int?, lab: String, namespace: String, address: IPAddress?) throws -> Int32 {
        let ns = try NetworkNamespace(opening: namespace)
        guard let delayMillis, let address else {
            let agent = try Processes.spawnAgent(in: ns, port: port, nodeName: node)
            try Processes.waitUntilListening(agent, port: port)
            return agent.pid
        }
        let d = PlannedDaemon(kind: .agent, arguments: ["lblab-agent", "--name", node, "--port", String(port), "--delay-ms", String(delayMillis)],
                              lab: lab, address: address, port: port)
        return try Daemons.start(d, node: node, in: ns)
    }

    /// After a test: the servers its faults left broken are themselves again (`up`), so the lab
    /// is itself for the next run.
    func restore(_ nodes: Set<String>, state: inout LabState, progress: ((String) -> Void)?) {
        for node in nodes.sorted() {
            do { progress?("after the test: " + (try Self.apply(FaultSpec(at: 0, node: node, action: .up), state: &state, store: store))) } catch {
                progress?("warning: could not start \(node) again after the test: \(error); `lblab fault \(state.lab) \(node) up` retries")
            }
        }
    }
}
