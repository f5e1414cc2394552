import Foundation
import LblabNetlink
import LblabPlan
import LblabSystem
import LblabTypes

/// Open handles into a lab's namespaces: the namespace descriptors and the netlink sockets
/// opened inside them (a socket stays bound to the namespace it was opened in).
final class LabHandles {
    private var namespaces: [String: NetworkNamespace] = [:]
    private var routes: [String: RouteNetlink] = [:]
    private var ipvs: [String: IPVSNetlink] = [:]

    func namespace(_ name: String) throws -> NetworkNamespace {
        if let ns = namespaces[name] { return ns }
        let ns = try NetworkNamespace(opening: name)
        namespaces[name] = ns
        return ns
    }

    func adopt(_ ns: NetworkNamespace) { namespaces[ns.name] = ns }

    func route(_ name: String) throws -> RouteNetlink {
        if let r = routes[name] { return r }
        let r = try namespace(name).run { try RouteNetlink() }
        routes[name] = r
        return r
    }

    func ipvs(_ name: String) throws -> IPVSNetlink {
        if let i = ipvs[name] { return i }
        let i = try namespace(name).run { try IPVSNetlink() }
        ipvs[name] = i
        return i
    }

    /// Drops every handle of `name` (before the namespace is deleted).
    func forget(_ name: String) {
        namespaces[name] = nil
        routes[name] = nil
        ipvs[name] = nil
    }
}

/// Carries out plan steps against the kernel: rtnetlink and IPVS generic netlink over libmnl,
/// sysctls and agents inside each namespace (on the namespace thread). Call it from
/// `NamespaceThread.shared.runHere` so each step can switch namespace in place.
final class KernelExecutor: StepExecutor {
    let handles: LabHandles
    /// Agent pids by node and port: filled as agents start, or from a lab's state for `down`.
    private(set) var agents: [AgentKey: Int32]

    /// Fault injection for tests of rollback: `LBLAB_FAIL_AFTER_STEPS=N` makes step N+1 fail.
    private let failAfter = ProcessInfo.processInfo.environment["LBLAB_FAIL_AFTER_STEPS"].flatMap(Int.init)
    private var executed = 0
    /// Processes found in namespaces about to be deleted, signalled already (see `willExecute`).
    private var doomed: [String: [Int32]] = [:]
    /// Every process signalled to stop by this executor.
    private(set) var signalled = Set<Int32>()

    init(handles: LabHandles = LabHandles(), agents: [AgentKey: Int32] = [:]) {
        self.handles = handles
        self.agents = agents
    }

    /// Before a teardown: SIGTERM every agent and every process in the namespaces it deletes at
    /// once (one /proc scan), so each `stopAgent` / `deleteNamespace` only waits for its own.
    func willExecute(_ steps: [Step]) {
        let deleting = steps.compactMap { if case .deleteNamespace(let n) = $0 { n } else { nil } }
        let stopping = steps.compactMap { if case .stopAgent(_, let node, let port) = $0 { agents[AgentKey(node: node, port: port)] } else { nil } }
        guard !deleting.isEmpty || !stopping.isEmpty else { return }
        let existing = deleting.filter(NetworkNamespace.exists)
        var inodes: [UInt64: String] = [:]
        for n in existing { if let i = NetworkNamespace.inode(of: n) { inodes[i] = n } }
        let found = inodes.isEmpty ? [] : Processes.pids(inNamespaceInodes: Set(inodes.keys))
        let agentPIDs = stopping.filter { Processes.isAlive($0) && Processes.commandName($0) == Processes.agentName }
        for pid in Set(found + agentPIDs) where pid != getpid() {
            kill(pid, SIGTERM)
            signalled.insert(pid)
        }
        doomed = [:]
        for pid in found {
            if let inode = Processes.namespaceInode(of: pid), let ns = inodes[inode] { doomed[ns, default: []].append(pid) }
        }
    }

    /// Agents started and not yet listening: `finish()` waits for them all at once.
    private var pending: [(agent: Processes.PendingAgent, step: Step, port: UInt16)] = []

    func finish() throws {
        defer { pending = [] }
        var failure: DeferredStepError?
        for p in pending {
            do { try Processes.waitUntilListening(p.agent, port: p.port) } catch {
                agents[AgentKey(node: p.agent.node, port: p.port)] = nil
                failure = failure ?? DeferredStepError(step: p.step, cause: error)
            }
        }
        if let failure { throw failure }
    }

    func execute(_ step: Step) throws -> StepOutcome {
        if let failAfter, executed >= failAfter, step.undo != .nothing {
            throw RuntimeError.system("injected failure (LBLAB_FAIL_AFTER_STEPS=\(failAfter))", ECANCELED)
        }
        executed += 1
        switch step {
        case .createNamespace(let name):
            handles.adopt(try NetworkNamespace.create(name))
        case .setSysctl(let ns, let key, let value):
            try handles.namespace(ns).run { try Sysctl.write(key, value) }
        case .createBridge(let ns, let name):
            try handles.route(ns).createBridge(name: name)
        case .createVeth(let ns, let name, let peerNS, let peer):
            try handles.route(ns).createVeth(name: name, peerName: peer, peerNamespaceFD: try handles.namespace(peerNS).fd)
        case .setMaster(let ns, let link, let master):
            try handles.route(ns).setMaster(link: link, master: master)
        case .setUp(let ns, let link):
            try handles.route(ns).setUp(link: link)
        case .addAddress(let ns, let link, let address):
            try handles.route(ns).addAddress(address, link: link)
        case .addRoute(let ns, let r):
            try handles.route(ns).addRoute(to: r.destination, via: r.gateway, link: r.link)
        case .createTunnel(let ns, let name, let local):
            guard let v4 = local.ipv4 else { throw RuntimeError.system("create ipip tunnel \(name): IPv6 tunnels are not supported yet", EAFNOSUPPORT) }
            try handles.route(ns).createIPIPTunnel(name: name, local: v4)
        case .addService(let ns, let s):
            try handles.ipvs(ns).addService(IPVSService(key: s.key, scheduler: s.scheduler))
        case .addDestination(let ns, let s, let d):
            try handles.ipvs(ns).addDestination(
                IPVSDestination(address: d.address, port: d.port, forwarding: IPVSForwarding(d.forward), weight: UInt32(d.weight)), to: s.key)
        case .startAgent(let ns, let node, let port, let proto):
            switch proto {
            case .tcp: break
            case .udp: throw RuntimeError.system("start the agent of \(node): UDP agents are not supported yet", EPROTONOSUPPORT)
            }
            let agent = try Processes.spawnAgent(in: try handles.namespace(ns), port: port, nodeName: node)
            agents[AgentKey(node: node, port: port)] = agent.pid
            pending.append((agent, step, port))
            return .startedAgent(node: node, namespace: ns, port: port, pid: agent.pid)
        case .stopAgent(_, let node, let port):
            let key = AgentKey(node: node, port: port)
            if let pid = agents[key], Processes.commandName(pid) == Processes.agentName { Processes.stop(pid) }
            agents[key] = nil
        case .deleteNamespace(let name):
            handles.forget(name)
            for pid in doomed[name] ?? [] { Processes.stop(pid) }
            try Teardown.removeNamespaces([name])
        }
        return .done
    }
}

/// One agent: a node's server on one port.
struct AgentKey: Hashable {
    var node: String
    var port: UInt16
}

extension PlannedService {
    var key: IPVSServiceKey { IPVSServiceKey(proto: proto, address: address, port: port) }
}
