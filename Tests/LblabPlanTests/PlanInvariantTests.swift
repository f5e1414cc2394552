import Foundation
import Testing
import LblabModel
@testable import LblabPlan
import LblabTypes

/// Every shipped lab, and the variants the issue names (the wrong variants build too: they must
/// fail at `lblab test`, not at `up`).
let invariantCases: [(lab: String, overrides: [String])] = shippedLabs.map { ($0, []) } + [
    ("dr-basic", ["arp_fix=false"]), ("dr-basic", ["rs1.rp_filter=1"]), ("dr-basic", ["rs1.forward=masq"]),
    ("tun-basic", ["rs1.tunnel=false"]), ("tun-basic", ["rs2.rp_filter=1"]),
    ("nat-basic", ["dispatcher.ip_forward=false"]), ("nat-basic", ["rs1.gateway=203.0.113.254"]),
    ("dr-scale", ["rs.count=3", "rs2.weight=0"]),
]

/// Properties every plan must have.
@Suite struct PlanInvariantTests {
    @Test(arguments: invariantCases)
    func everyStepActsInANamespaceThatAlreadyExists(lab: String, overrides: [String]) throws {
        let steps = try plan(lab, overrides).steps
        var created = Set<String>()
        for (i, s) in steps.enumerated() {
            if let n = s.createdNamespace {
                #expect(!created.contains(n), "\(n) created twice")
                created.insert(n)
                continue
            }
            switch s.undo {
            case .withNamespace(let ns):
                #expect(ns == s.namespace)
                #expect(created.contains(ns), "step \(i + 1) `\(s.command)` before its namespace \(ns) exists")
            case .step(let undo):
                #expect(created.contains(s.namespace), "step \(i + 1) `\(s.command)` before its namespace exists")
                #expect(undo.namespace == s.namespace)
            case .nothing:
                Issue.record("a plan holds a teardown step: \(s)")
            }
            // A veth's peer end is created inside the peer namespace.
            for ns in s.namespacesTouched { #expect(created.contains(ns), "step \(i + 1) touches \(ns) before it exists") }
        }
    }

    @Test(arguments: invariantCases)
    func namespacesAreTheLabsOwnInOrder(lab: String, overrides: [String]) throws {
        let spec = try loadLab(lab, overrides)
        let steps = Planner.plan(spec).steps
        let expected = ["lblab-\(spec.name)-switch"] + spec.nodes.map { "lblab-\(spec.name)-\($0.name)" }
        #expect(steps.createdNamespaces == expected)
        #expect(LabNames.namespaces(of: spec) == expected)
        #expect(steps.first == .createNamespace(name: "lblab-\(spec.name)-switch"))
        for s in steps { for ns in s.namespacesTouched { #expect(expected.contains(ns), "\(s.command) acts outside the lab") } }
    }

    /// No step twice, and no two steps that `--explain` would print alike.
    @Test(arguments: invariantCases)
    func stepsAndTheirCommandsAreDistinct(lab: String, overrides: [String]) throws {
        let steps = try plan(lab, overrides).steps
        #expect(Set(steps.commands).count == steps.count)
    }

    /// Links exist before they are enslaved, raised or addressed; names fit IFNAMSIZ.
    @Test(arguments: invariantCases)
    func linksExistBeforeUse(lab: String, overrides: [String]) throws {
        let steps = try plan(lab, overrides).steps
        var links = Set<String>()
        func exists(_ ns: String, _ link: String) -> Bool { link == "lo" || links.contains("\(ns)/\(link)") }
        for s in steps {
            switch s {
            case .createBridge(let ns, let name), .createTunnel(let ns, let name, _):
                #expect(name.utf8.count <= 15)
                links.insert("\(ns)/\(name)")
            case .createVeth(let ns, let name, let peerNS, let peer):
                #expect(name.utf8.count <= 15 && peer.utf8.count <= 15, "\(name) / \(peer)")
                links.insert("\(ns)/\(name)")
                links.insert("\(peerNS)/\(peer)")
            case .setMaster(let ns, let link, let master):
                #expect(exists(ns, link) && exists(ns, master), "\(s.command)")
            case .setUp(let ns, let link), .addAddress(let ns, let link, _):
                #expect(exists(ns, link), "\(s.command)")
            case .addRoute(let ns, let r):
                if let dev = r.link { #expect(exists(ns, dev)) }
            default: break
            }
        }
    }

    /// IPVS: the service before its destinations, in the same namespace, and each destination
    /// carries the very service that was added (scheduler included).
    @Test(arguments: invariantCases)
    func destinationsFollowTheirService(lab: String, overrides: [String]) throws {
        let steps = try plan(lab, overrides).steps
        var added: [String: [PlannedService]] = [:]
        for s in steps {
            if case .addService(let ns, let service) = s { added[ns, default: []].append(service) }
            if case .addDestination(let ns, let service, let d) = s {
                #expect(added[ns]?.contains(service) == true, "\(s.command) before its service")
                #expect(d.port == service.port)
            }
        }
    }

    /// `down` and rollback: every agent stops before its namespace goes, namespaces go in reverse
    /// order of creation, and nothing else is undone (the rest goes with the namespaces).
    @Test(arguments: invariantCases)
    func teardownStopsAgentsThenDeletesNamespacesNewestFirst(lab: String, overrides: [String]) throws {
        let steps = try plan(lab, overrides).steps
        let down = Plan.teardown(of: steps)
        #expect(down.deletedNamespaces == steps.createdNamespaces.reversed())
        #expect(down.compactMap(\.stoppedAgent) == steps.compactMap(\.startedAgent).reversed())
        #expect(down.count == steps.createdNamespaces.count + steps.compactMap(\.startedAgent).count)
        for (i, s) in down.enumerated() {
            guard let ns = s.stoppedAgent else { continue }
            #expect(i < down.position(of: .deleteNamespace(name: ns)), "agent in \(ns) stopped after its namespace is gone")
        }
        // The stops pair with the starts: same namespace, same node.
        for s in steps {
            if case .startAgent(let ns, let node, let port, _) = s { #expect(down.count(of: .stopAgent(namespace: ns, node: node, port: port)) == 1) }
        }
    }

    /// Rollback of a failed `up` after any prefix undoes exactly what that prefix made.
    @Test(arguments: [("dr-basic", [String]()), ("nat-basic", []), ("tun-basic", [])])
    func teardownOfEveryPrefix(lab: String, overrides: [String]) throws {
        let steps = try plan(lab, overrides).steps
        for n in 0...steps.count {
            let done = Array(steps.prefix(n))
            let down = Plan.teardown(of: done)
            #expect(down.deletedNamespaces == done.createdNamespaces.reversed(), "prefix \(n)")
            #expect(down.compactMap(\.stoppedAgent) == done.compactMap(\.startedAgent).reversed(), "prefix \(n)")
            #expect(down.allSatisfy { $0.undo == .nothing }, "prefix \(n): teardown holds only undo steps")
        }
    }

    @Test func teardownOfATeardownIsEmpty() throws {
        #expect(Plan.teardown(of: Plan.teardown(of: try plan("nat-basic").steps)).isEmpty)
        #expect(Plan.teardown(of: []).isEmpty)
    }

    @Test(arguments: shippedLabs)
    func planIsDeterministicAndRoundTripsThroughJSON(lab: String) throws {
        let p = try plan(lab)
        #expect(p == (try plan(lab)))
        #expect(try JSONDecoder().decode(Plan.self, from: JSONEncoder().encode(p)) == p)
        #expect(p.lab == lab)
        #expect(p.steps == p.entries.map(\.step))
    }

    /// Every agent, and only real servers' agents, on the port and protocol of their service.
    @Test(arguments: shippedLabs)
    func oneAgentPerRealServer(lab: String) throws {
        let spec = try loadLab(lab)
        let steps = Planner.plan(spec).steps
        let agents = steps.compactMap { s -> String? in
            if case .startAgent(let ns, let node, let port, let proto) = s { "\(ns) \(node) \(port) \(proto)" } else { nil }
        }
        guard spec.mode.usesIPVS else {
            // A DNS lab: one daemon per web, dns and resolver node, each its node's last step.
            let daemons = steps.compactMap { s -> String? in if case .startDaemon(_, let node, _) = s { node } else { nil } }
            #expect(agents.isEmpty)
            #expect(Set(daemons) == Set(spec.nodes.filter { [.web, .dns, .resolver].contains($0.role) }.map(\.name)))
            for (i, s) in steps.enumerated() {
                guard case .startDaemon(let ns, _, _) = s else { continue }
                #expect(!steps[(i + 1)...].contains { $0.namespace == ns })
            }
            return
        }
        let service = spec.services[0]
        #expect(agents == spec.realServers.map { "lblab-\(spec.name)-\($0.name) \($0.name) \(service.port) \(service.proto)" })
        // An agent starts after everything else in its namespace.
        for (i, s) in steps.enumerated() {
            guard case .startAgent(let ns, _, _, _) = s else { continue }
            #expect(!steps[(i + 1)...].contains { $0.namespace == ns })
        }
    }
}
