import Foundation
import Testing
import Yams

/// The command line as a user meets it: errors name their cause and exit 2; no kernel needed.
@Suite struct CLITests {
    @Test func aBadLabFileNamesFileLineKeyAndWhatIsValid() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lblab-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("bad.yaml").path
        try """
            service: {vip: 198.51.100.100, scheduler: rrr}
            nodes:
              client: {role: client, address: 198.51.100.10/24}
              dispatcher: {role: dispatcher, address: 198.51.100.2/24}
              rs1: {role: real, address: 198.51.100.21/24}
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let r = try Harness.lblab("up", file, "--dry-run")
        #expect(r.status == 2)
        #expect(r.err.contains("\(file):1: service.scheduler: unknown scheduler 'rrr'"), "\(r.err)")
        #expect(r.err.contains("wrr"), "valid schedulers listed: \(r.err)")
    }

    @Test func dryRunPrintsTheArticlesCommandsWithoutRootOrIPVS() throws {
        let r = try Harness.lblab("up", "dr-basic", "--dry-run")
        #expect(r.status == 0, "\(r.all)")
        #expect(r.out.contains("ipvsadm -A -t 198.51.100.100:80 -s rr"))
        #expect(r.out.contains("ipvsadm -a -t 198.51.100.100:80 -r 198.51.100.21:80 -g -w 1"))
    }

    @Test func aLabNameThatIsNoNameIsRefused() throws {
        let r = try Harness.lblab("down", "Not_A_Lab")
        #expect(r.status == 2)
        #expect(r.err.contains("neither a lab file nor a lab name"), "\(r.err)")
        let unknown = try Harness.lblab("show", "nosuchlab")
        #expect(unknown.status == 2 && unknown.err.contains("dr-basic"), "valid labs listed: \(unknown.err)")
    }

    /// `lblab show LAB` prints the lab as a lab file would: its top part (up to the plan) is YAML
    /// for every shipped lab (descriptions and claims with `: ` in them quoted, a `count:` group's
    /// comment outside the flow mapping it annotates, `faults:` as one list).
    @Test func showPrintsYAMLForEveryShippedLab() throws {
        let labs = try FileManager.default.contentsOfDirectory(atPath: "\(Harness.repoRoot)/labs").filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(labs.count > 20)
        for file in labs {
            let lab = String(file.dropLast(".yaml".count))
            let r = try Harness.lblab("show", lab)
            #expect(r.status == 0, "\(lab): \(r.all)")
            let top = r.out.components(separatedBy: "\nplan ").first ?? ""
            let tree = try Yams.load(yaml: top) as? [String: Any]
            #expect(tree?["name"] as? String == lab, "\(lab): lblab show's top part is not the lab as YAML")
            #expect(tree?["nodes"] is [String: Any], "\(lab): no nodes mapping in \(top)")
        }
    }
}
