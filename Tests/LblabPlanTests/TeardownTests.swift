import Foundation
import Testing
import LblabModel
@testable import LblabPlan
import LblabTypes

@Suite struct TeardownTests {
    @Test func fullTeardownByHand() throws {
        let steps = try plan("dr-basic").steps
        // Creation order: switch, client, dispatcher, rs1, rs2; agents rs1, rs2 last.
        #expect(Plan.teardown(of: steps) == [
            .stopAgent(namespace: drRS2, node: "rs2"),
            .stopAgent(namespace: drRS1, node: "rs1"),
            .deleteNamespace(name: drRS2),
            .deleteNamespace(name: drRS1),
            .deleteNamespace(name: drDispatcher),
            .deleteNamespace(name: drClient),
            .deleteNamespace(name: drSwitch),
        ])
    }

    @Test func oneDeletePerNamespaceOneStopPerAgent() throws {
        for lab in ["dr-basic", "seed-dr"] {
            let steps = try plan(lab).steps
            let down = Plan.teardown(of: steps)
            let created = steps.createdNamespaces
            let deleted = down.deletedNamespaces
            #expect(deleted.count == created.count)
            #expect(Set(deleted) == Set(created))
            #expect(deleted == created.reversed(), "namespaces go in reverse order of creation")
            var started: [String] = []
            for s in steps { if case .startAgent(let ns, let node, _) = s { started.append("\(ns)/\(node)") } }
            var stopped: [String] = []
            for s in down { if case .stopAgent(let ns, let node) = s { stopped.append("\(ns)/\(node)") } }
            #expect(stopped == started.reversed())
            #expect(down.count == created.count + started.count, "nothing but deletes and stops")
        }
    }

    @Test func agentsStopBeforeTheirNamespaceGoes() throws {
        let down = Plan.teardown(of: try plan("dr-basic").steps)
        for (i, s) in down.enumerated() {
            guard case .stopAgent(let ns, _) = s else { continue }
            let del = try #require(down.firstIndex(of: .deleteNamespace(name: ns)))
            #expect(i < del)
        }
    }

    @Test func emptyPrefixTearsDownNothing() {
        #expect(Plan.teardown(of: []).isEmpty)
    }

    @Test func prefixAfterTheFirstStep() throws {
        let steps = try plan("dr-basic").steps
        #expect(Plan.teardown(of: Array(steps.prefix(1))) == [.deleteNamespace(name: drSwitch)])
    }

    @Test func prefixEndingInTheClientsSetup() throws {
        let steps = try plan("dr-basic").steps
        // Failed right after the client's veth: only the switch and the client exist.
        let veth = steps.position(of: .createVeth(namespace: drSwitch, name: "client", peerNamespace: drClient, peerName: "eth0"))
        #expect(Plan.teardown(of: Array(steps.prefix(veth + 1))) == [.deleteNamespace(name: drClient), .deleteNamespace(name: drSwitch)])
    }

    @Test func prefixEndingAfterTheFirstAgent() throws {
        let steps = try plan("dr-basic").steps
        let agent = steps.position(of: .startAgent(namespace: drRS1, node: "rs1", port: 80))
        #expect(Plan.teardown(of: Array(steps.prefix(agent + 1))) == [
            .stopAgent(namespace: drRS1, node: "rs1"),
            .deleteNamespace(name: drRS2),
            .deleteNamespace(name: drRS1),
            .deleteNamespace(name: drDispatcher),
            .deleteNamespace(name: drClient),
            .deleteNamespace(name: drSwitch),
        ])
    }

    @Test func everyPrefixUndoesExactlyWhatItCreated() throws {
        let steps = try plan("dr-basic").steps
        for n in 0...steps.count {
            let done = Array(steps.prefix(n))
            let down = Plan.teardown(of: done)
            let created = Set(done.createdNamespaces)
            let deleted = down.deletedNamespaces
            #expect(Set(deleted) == created, "prefix \(n)")
            #expect(deleted.count == created.count, "prefix \(n): each namespace once")
            for s in down {
                switch s {
                case .deleteNamespace: break
                case .stopAgent(let ns, let node):
                    #expect(done.contains { if case .startAgent(ns, node, _) = $0 { true } else { false } },
                            "prefix \(n) stops an agent it never started: \(s)")
                default: Issue.record("teardown holds \(s)")
                }
            }
        }
    }

    @Test func undoOfEachStepKind() {
        let v = IPv4Interface("10.0.0.1/32")!
        #expect(Step.createNamespace(name: "a").undo == .deleteNamespace(name: "a"))
        #expect(Step.startAgent(namespace: "a", node: "n", port: 80).undo == .stopAgent(namespace: "a", node: "n"))
        let inside: [Step] = [
            .setSysctl(namespace: "a", key: "k", value: "v"), .createBridge(namespace: "a", name: "br0"),
            .createVeth(namespace: "a", name: "x", peerNamespace: "b", peerName: "eth0"),
            .setMaster(namespace: "a", link: "x", master: "br0"), .setUp(namespace: "a", link: "x"),
            .addAddress(namespace: "a", link: "lo", address: v),
            .deleteNamespace(name: "a"), .stopAgent(namespace: "a", node: "n"),
        ]
        for s in inside { #expect(s.undo == nil, "\(s) needs no undo") }
    }

    @Test func teardownOfATeardownIsEmpty() throws {
        let down = Plan.teardown(of: try plan("dr-basic").steps)
        #expect(Plan.teardown(of: down).isEmpty)
    }

    @Test func teardownStaysInTheLab() throws {
        for s in Plan.teardown(of: try plan("dr-basic").steps) {
            #expect(drNamespaces.contains(s.namespace))
        }
    }
}
