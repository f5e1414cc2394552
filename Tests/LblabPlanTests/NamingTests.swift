import Foundation
import Testing
import LblabModel
@testable import LblabPlan
import LblabTypes

@Suite struct NamingTests {
    func touched(_ p: Plan) -> Set<String> { Set(p.steps.flatMap(\.namespacesTouched)) }

    @Test func labNames() {
        #expect(LabNames.namespace(lab: "dr-basic", node: "rs1") == "lblab-dr-basic-rs1")
        #expect(LabNames.switchNamespace(lab: "dr-basic") == "lblab-dr-basic-switch")
        #expect(LabNames.bridge == "br0")
        #expect(LabNames.nodeInterface == "eth0")
        #expect(LabNames.prefix == "lblab-")
    }

    @Test func drBasicTouchesExactlyItsNamespaces() throws {
        #expect(touched(try plan("dr-basic")) == drNamespaces)
    }

    @Test func twoShippedLabsShareNoNamespace() throws {
        let a = touched(try plan("dr-basic"))
        let b = touched(try plan("seed-dr"))
        #expect(!a.isEmpty && !b.isEmpty)
        #expect(a.isDisjoint(with: b), "shared: \(a.intersection(b))")
    }

    @Test func labDrDoesNotCollideWithDrBasic() throws {
        // The same nodes, lab named `dr`.
        let dr = touched(try plan("dr-basic", ["name=dr"]))
        #expect(dr == ["lblab-dr-switch", "lblab-dr-client", "lblab-dr-dispatcher", "lblab-dr-rs1", "lblab-dr-rs2"])
        #expect(!drNamespaces.contains("lblab-dr-switch"))
        #expect(dr.isDisjoint(with: drNamespaces))
    }

    /// Lab `dr` with a node `basic-client` (a valid node name) gets the namespace
    /// `lblab-dr-basic-client`, which is dr-basic's client namespace.
    @Test func hyphenatedNodeNamesAreRejectedSoLabsCannotCollide() throws {
        // `lblab-<lab>-<node>` is unambiguous only if node names have no '-': otherwise lab `dr`
        // with node `basic-client` would map to dr-basic's client namespace.
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

    @Test func switchNamespaceNeverEqualsANodeNamespace() throws {
        // `switch` is reserved as a node name, so no node shares the switch's namespace.
        for lab in ["dr-basic", "seed-dr"] {
            let p = try plan(lab)
            let sw = "lblab-\(lab)-switch"
            #expect(p.steps.createdNamespaces.filter { $0 == sw }.count == 1)
            #expect(p.steps.createdNamespaces.count == Set(p.steps.createdNamespaces).count, "no namespace created twice")
        }
    }

    @Test func switchPortsAreNodeNamesThatFitIFNAMSIZ() throws {
        for s in try plan("dr-basic").steps {
            if case .createVeth(_, let name, _, let peer) = s {
                #expect(name.utf8.count <= 15)
                #expect(peer == "eth0")
            }
        }
    }
}
