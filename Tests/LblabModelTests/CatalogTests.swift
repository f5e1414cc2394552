import Foundation
import Testing
@testable import LblabModel

@Suite struct CatalogTests {
    let alpha = """
        description: alpha lab
        service: {vip: 10.0.0.100}
        nodes:
          c: {role: client, address: 10.0.0.10/24}
          d: {role: dispatcher, address: 10.0.0.2/24}
          r1: {role: real, address: 10.0.0.21/24}
        """

    func write(_ text: String, to dir: URL, as file: String) throws {
        try text.write(to: dir.appendingPathComponent(file), atomically: true, encoding: .utf8)
    }

    @Test func findsALabByName() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try write(alpha, to: dir, as: "alpha.yaml")
        try write(alpha.replacingOccurrences(of: "alpha lab", with: "beta lab"), to: dir, as: "beta.yml")
        try write("not a lab", to: dir, as: "notes.txt")

        let catalog = LabCatalog(directories: [dir.path])
        #expect(catalog.all().map(\.name) == ["alpha", "beta"])
        #expect(try catalog.path(for: "alpha") == dir.appendingPathComponent("alpha.yaml").path)
        let spec = try catalog.load("alpha")
        #expect(spec.name == "alpha")
        #expect(spec.description == "alpha lab")
        #expect(try catalog.load("beta").description == "beta lab")
    }

    @Test func loadAppliesOverrides() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try write(alpha, to: dir, as: "alpha.yaml")
        let spec = try LabCatalog(directories: [dir.path]).load("alpha", overrides: ["scheduler=wrr", "r1.weight=4"])
        #expect(spec.services[0].scheduler == .wrr)
        #expect(spec.node(named: "r1")?.weight == 4)
    }

    @Test func aPathWorks() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("gamma.yaml")
        try write(alpha, to: dir, as: "gamma.yaml")
        // The catalog's directories do not hold it: a path is used as is.
        let catalog = LabCatalog(directories: [])
        #expect(try catalog.path(for: file.path) == file.path)
        let spec = try catalog.load(file.path)
        #expect(spec.name == "gamma")
        #expect(spec.source == file.standardizedFileURL.path)
    }

    @Test func repoLabsByPath() throws {
        let spec = try LabCatalog(directories: []).load(labPath("seed-dr"))
        #expect(spec.name == "seed-dr")
    }

    @Test func missingPath() throws {
        let path = "/nonexistent-\(UUID().uuidString)/lab.yaml"
        do {
            _ = try LabCatalog(directories: []).path(for: path)
            Issue.record("found a path that does not exist")
        } catch let e as LabFileError {
            #expect(e.file == path)
            #expect(e.problem.contains("no such"))
        }
    }

    @Test func unknownNameListsTheValidNames() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try write(alpha, to: dir, as: "alpha.yaml")
        try write(alpha, to: dir, as: "beta.yaml")
        let catalog = LabCatalog(directories: [dir.path])
        do {
            _ = try catalog.path(for: "delta")
            Issue.record("found a lab that does not exist")
        } catch let e as LabFileError {
            #expect(e.file == "delta")
            #expect(e.problem.contains("delta"))
            #expect(e.problem.contains(dir.path), "names where it looked: \(e.problem)")
            let valid = try #require(e.valid)
            #expect(valid.contains("alpha"))
            #expect(valid.contains("beta"))
            #expect(e.description.contains("alpha"))
        }
    }

    @Test func unknownNameInAnEmptyCatalog() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            _ = try LabCatalog(directories: [dir.path, dir.path + "/missing"]).path(for: "alpha")
            Issue.record("found a lab in an empty directory")
        } catch let e as LabFileError {
            #expect(e.valid?.contains("path") == true)
        }
    }

    @Test func firstDirectoryWins() throws {
        let first = try makeTempDirectory()
        let second = try makeTempDirectory()
        defer {
            try? FileManager.default.removeItem(at: first)
            try? FileManager.default.removeItem(at: second)
        }
        try write(alpha.replacingOccurrences(of: "alpha lab", with: "from first"), to: first, as: "alpha.yaml")
        try write(alpha.replacingOccurrences(of: "alpha lab", with: "from second"), to: second, as: "alpha.yaml")
        try write(alpha, to: second, as: "only-second.yaml")
        let catalog = LabCatalog(directories: [first.path, second.path])
        #expect(catalog.all().map(\.name) == ["alpha", "only-second"])
        #expect(try catalog.load("alpha").description == "from first")
        #expect(try catalog.path(for: "only-second") == second.appendingPathComponent("only-second.yaml").path)
    }

    @Test func repoLabsDirectory() throws {
        let catalog = LabCatalog(directories: [labsDirectory.path])
        let names = catalog.all().map(\.name)
        #expect(names.contains("dr-basic"))
        #expect(names.contains("seed-dr"))
        #expect(try catalog.load("dr-basic").services[0].vip.description == "198.51.100.100")
    }

    @Test func standardCatalogIncludesCurrentDirectoryLabs() {
        let catalog = LabCatalog.standard(executablePath: "/nonexistent/bin/lblab")
        #expect(catalog.directories.contains(FileManager.default.currentDirectoryPath + "/labs"))
        #expect(Set(catalog.directories).count == catalog.directories.count, "no directory twice")
    }
}
