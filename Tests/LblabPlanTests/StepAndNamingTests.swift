import Foundation
import Testing
import LblabModel
@testable import LblabPlan
import LblabTypes

@Suite struct StepUndoTests {
    let svc = PlannedService(proto: .tcp, address: ip("198.51.100.100"), port: 80, scheduler: .rr)

    /// The two steps that own something outside a network stack undo with a step; everything else
    /// goes with its namespace; the teardown steps need no undo.
    @Test func undoOfEveryStepKind() {
        #expect(Step.createNamespace(name: "a").undo == .step(.deleteNamespace(name: "a")))
        #expect(Step.startAgent(namespace: "a", node: "n", port: 80, proto: .tcp).undo == .step(.stopAgent(namespace: "a", node: "n", port: 80)))
        let inside: [Step] = [
            .setSysctl(namespace: "a", key: "k", value: "v"), .createBridge(namespace: "a", name: "br-lan"),
            .createVeth(namespace: "a", name: "x", peerNamespace: "b", peerName: "eth0"),
            .setMaster(namespace: "a", link: "x", master: "br-lan"), .setUp(namespace: "a", link: "x"),
            .addAddress(namespace: "a", link: "lo", address: prefix("10.0.0.1/32")),
            .addRoute(namespace: "a", route: PlannedRoute(destination: prefix("0.0.0.0/0"), gateway: ip("10.0.0.1"), link: nil)),
            .createTunnel(namespace: "a", name: "ipip0", local: ip("10.0.0.2")),
            .addService(namespace: "a", service: svc),
            .addDestination(namespace: "a", service: svc, destination: PlannedDestination(address: ip("10.0.0.3"), port: 80, forward: .route, weight: 1)),
        ]
        for s in inside {
            #expect(s.undo == .withNamespace("a"), "\(s)")
            #expect(s.namespace == "a")
        }
        #expect(Step.deleteNamespace(name: "a").undo == .nothing)
        #expect(Step.stopAgent(namespace: "a", node: "n", port: 80).undo == .nothing)
        #expect(Step.deleteNamespace(name: "a").namespace == "a" && Step.stopAgent(namespace: "a", node: "n", port: 80).namespace == "a")
    }

    /// A veth lives in the switch namespace: its peer dies with the pair, so it is not undone twice.
    @Test func vethUndoesWithTheSwitch() {
        #expect(Step.createVeth(namespace: "sw", name: "rs1", peerNamespace: "rs", peerName: "eth0").undo == .withNamespace("sw"))
    }

    @Test func teardownOfHandMadeSteps() {
        let steps: [Step] = [
            .createNamespace(name: "sw"), .createBridge(namespace: "sw", name: "br-lan"),
            .createNamespace(name: "r"), .startAgent(namespace: "r", node: "r", port: 80, proto: .tcp),
            .createNamespace(name: "s"), .setUp(namespace: "s", link: "lo"),
        ]
        #expect(Plan.teardown(of: steps) == [
            .deleteNamespace(name: "s"), .stopAgent(namespace: "r", node: "r", port: 80), .deleteNamespace(name: "r"), .deleteNamespace(name: "sw"),
        ])
    }
}

@Suite struct NamingTests {
    @Test func labNames() throws {
        #expect(LabNames.namespace(lab: "dr-basic", node: "rs1") == "lblab-dr-basic-rs1")
        #expect(LabNames.switchNamespace(lab: "dr-basic") == "lblab-dr-basic-switch")
        #expect(LabNames.bridge(segment: "back") == "br-back")
        #expect(LabNames.tunnel == "ipip0")
        #expect(LabNames.prefix == "lblab-")
        let spec = try loadLab("nat-basic")
        let d = try #require(spec.node(named: "dispatcher"))
        let rs1 = try #require(spec.node(named: "rs1"))
        #expect(LabNames.switchPort(node: d, interface: d.interfaces[1]) == "dispatcher-eth1")
        #expect(LabNames.switchPort(node: rs1, interface: rs1.interfaces[0]) == "rs1")
        #expect(LabNames.namespaces(of: spec) == ["lblab-nat-basic-switch", "lblab-nat-basic-client", "lblab-nat-basic-dispatcher",
                                                  "lblab-nat-basic-rs1", "lblab-nat-basic-rs2"])
    }

    @Test func shippedLabsShareNoNamespace() throws {
        var seen: [String: String] = [:]
        for lab in shippedLabs {
            for ns in try plan(lab).steps.createdNamespaces {
                #expect(seen[ns] == nil, "\(ns) is in \(lab) and \(seen[ns] ?? "")")
                seen[ns] = lab
            }
        }
    }

    @Test func labDrDoesNotCollideWithDrBasic() throws {
        let dr = Set(try plan("dr-basic", ["name=dr"]).steps.createdNamespaces)
        #expect(dr == ["lblab-dr-switch", "lblab-dr-client", "lblab-dr-dispatcher", "lblab-dr-rs1", "lblab-dr-rs2"])
        #expect(dr.isDisjoint(with: try plan("dr-basic").steps.createdNamespaces))
    }

    /// `lblab-<lab>-<node>` is unambiguous only if node names have no '-': otherwise lab `dr` with
    /// node `basic-client` would map to dr-basic's client namespace.
    @Test func hyphenatedNodeNamesAreRejectedSoLabsCannotCollide() throws {
        #expect(throws: LabFileError.self) {
            try LabFile.parse("""
                name: dr
                service: {vip: 198.51.100.100}
                nodes:
                  basic-client: {role: client, address: 198.51.100.10/24}
                  dispatcher: {role: dispatcher, address: 198.51.100.2/24}
                  rs1: {role: real, address: 198.51.100.21/24}
                """, file: "dr.yaml")
        }
    }

    /// A switch port `node-interface` of a node with several interfaces cannot equal another
    /// node's port: node names have no '-'.
    @Test func switchPortsAreUniqueInEveryLab() throws {
        for lab in shippedLabs {
            var ports = Set<String>()
            for s in try plan(lab).steps {
                if case .createVeth(_, let name, _, _) = s { #expect(ports.insert(name).inserted, "\(lab): port \(name) twice") }
            }
        }
    }
}
