import Foundation
import LblabRuntime
import Testing

/// The library facade, where no root or IPVS is needed: loading labs and its errors.
/// Bringing labs up through it is tested in LblabIntegrationTests and by examples/swift-package.
@Suite struct LabFacadeTests {
    static let labs = "\(Tools.repoRoot)/labs"

    @Test func aLabLoadsByPathOrByName() throws {
        let byPath = try Lab.load("\(Self.labs)/dr-basic.yaml")
        let byName = try Lab.load("dr-basic", directories: [Self.labs])
        for lab in [byPath, byName] {
            #expect(lab.name == "dr-basic")
            #expect(lab.file == "\(Self.labs)/dr-basic.yaml")
            #expect(lab.nodes == ["client", "dispatcher", "rs1", "rs2"])
            #expect(lab.realServers == ["rs1", "rs2"])
            #expect(lab.client == "client")
        }
        let example = try Lab.load("\(Tools.repoRoot)/examples/swift-package/labs/webtier.yaml")
        #expect(example.realServers == ["web1", "web2", "web3"])
    }

    @Test func errorsNameTheFileTheKeyAndWhatIsValid() throws {
        let missing = #expect(throws: (any Error).self) { try Lab.load("no-such-lab", directories: [Self.labs]) }
        #expect("\(missing!)".contains("no lab named 'no-such-lab'") && "\(missing!)".contains("dr-basic"), "\(missing!)")

        let badSetting = #expect(throws: (any Error).self) { try Lab.load("\(Self.labs)/dr-basic.yaml", overrides: ["scheduler=rrr"]) }
        #expect("\(badSetting!)".contains("scheduler") && "\(badSetting!)".contains("rrr"), "\(badSetting!)")
    }

    @Test func aLabThatIsNotUpCannotRunCommands() throws {
        // A lab of its own name, never up anywhere.
        let dir = try Tools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = try String(contentsOfFile: "\(Self.labs)/dr-basic.yaml", encoding: .utf8)
            .replacingOccurrences(of: "name: dr-basic", with: "name: facade-never-up")
        try text.write(toFile: "\(dir)/facade-never-up.yaml", atomically: true, encoding: .utf8)
        let lab = try Lab.load("facade-never-up", directories: [dir])
        #expect(lab.name == "facade-never-up")
        #expect(!lab.isUp)
        let e = #expect(throws: (any Error).self) { try lab.run(["true"], on: "client") }
        #expect("\(e!)".contains("not up"), "\(e!)")
        let empty = #expect(throws: (any Error).self) { try lab.run([], on: "client") }
        #expect("\(empty!)".contains("command is empty"), "\(empty!)")
    }
}
