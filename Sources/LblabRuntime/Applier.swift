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

/// Executes plan steps over netlink and records what it did, so a failure can be rolled
/// back exactly and `down` can undo a running lab.
final class Applier {
    let handles = LabHandles()
    private(set) var done: [Step] = []
    var agents: [LabState.Agent] = []
    /// Called after each step with its duration in seconds.
    var onStep: ((Step, Double) -> Void)?

    /// Fault injection for tests of rollback: `LBLAB_FAIL_AFTER_STEPS=N` makes step N+1 fail.
    let failAfter = ProcessInfo.processInfo.environment["LBLAB_FAIL_AFTER_STEPS"].flatMap(Int.init)

    func apply(_ steps: [Step]) throws {
        for step in steps {
            if let failAfter, done.count >= failAfter {
                throw RuntimeError.system("injected failure (LBLAB_FAIL_AFTER_STEPS=\(failAfter))", ECANCELED)
            }
            let t0 = Date()
            try execute(step)
            done.append(step)
            let seconds = Date().timeIntervalSince(t0)
            log.trace("step done", metadata: ["step": "\(step.command)", "ms": "\(String(format: "%.2f", seconds * 1000))"])
            onStep?(step, seconds)
        }
    }

    func execute(_ step: Step) throws {
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
        case .addService(let ns, let s):
            try handles.ipvs(ns).addService(IPVSService(key: s.key, scheduler: s.scheduler))
        case .addDestination(let ns, let s, let d):
            try handles.ipvs(ns).addDestination(
                IPVSDestination(address: d.address, port: d.port, forwarding: d.forwarding, weight: UInt32(d.weight)), to: s.key)
        case .startAgent(let ns, let node, let port):
            let pid = try Processes.startHTTPAgent(in: try handles.namespace(ns), port: port, nodeName: node)
            agents.append(.init(node: node, namespace: ns, pid: pid))
        case .stopAgent(_, let node):
            for a in agents where a.node == node { Processes.stop(a.pid) }
            agents.removeAll { $0.node == node }
        case .deleteNamespace(let name):
            handles.forget(name)
            try Teardown.removeNamespaces([name])
        }
    }

    /// Undoes everything this applier did, newest first; returns how many namespaces it removed.
    @discardableResult
    func rollback() -> Int {
        let undo = Plan.teardown(of: done)
        var removed = 0
        for step in undo {
            do {
                try execute(step)
                if case .deleteNamespace = step { removed += 1 }
            } catch {
                log.warning("rollback step failed", metadata: ["step": "\(step.command)", "error": "\(error)"])
            }
        }
        done = []
        return removed
    }
}

extension PlannedService {
    var key: IPVSServiceKey { IPVSServiceKey(proto: proto == "udp" ? .udp : .tcp, address: address, port: port) }
}

extension PlannedDestination {
    var forwarding: IPVSForwarding {
        switch forward {
        case "masq": .masquerade
        case "tunnel": .tunnel
        default: .directRoute
        }
    }
}
