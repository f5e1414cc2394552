import Foundation
import Testing

/// The outside tools these tests check lblab's output with, installed by ci/setup.sh into a
/// venv (`$LBLAB_CI_TOOLS`, default /opt/lblab-ci-tools): junitparser (a JUnit XML reader),
/// actionlint (a GitHub Actions linter, with shellcheck for `run:` scripts) and
/// check-jsonschema (the workflow JSON schema).
enum Tools {
    static var venv: String { ProcessInfo.processInfo.environment["LBLAB_CI_TOOLS"] ?? "/opt/lblab-ci-tools" }
    static var python: String { "\(venv)/bin/python" }
    static var actionlint: String { "\(venv)/bin/actionlint" }
    static var checkJSONSchema: String { "\(venv)/bin/check-jsonschema" }

    /// Whether every tool is there (junitparser importable, the linters executable).
    static let present: Bool = {
        let fm = FileManager.default
        guard fm.isExecutableFile(atPath: actionlint), fm.isExecutableFile(atPath: checkJSONSchema),
              fm.isExecutableFile(atPath: python),
              let r = try? run([python, "-c", "import junitparser"]), r.status == 0 else { return false }
        return true
    }()

    /// ci/test.sh sets this: there the tools must be present, and the tests must not skip.
    static var required: Bool { ProcessInfo.processInfo.environment["LBLAB_REQUIRE_CI_TOOLS"] == "1" }

    /// Enables a suite where the tools are, or where they are required (so it fails there).
    static var enabled: Bool { present || required }

    static let missing = "the CI-user tools are missing from \(venv) (junitparser, actionlint, check-jsonschema): run ci/setup.sh as root"

    struct Run: CustomStringConvertible {
        var status: Int32
        var out: String
        var err: String
        var description: String { "exit \(status)\n\(out)\(err)" }
    }

    /// `uname -r`.
    static var kernelRelease: String {
        ((try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static var repoRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// The `lblab` executable next to this test bundle (both are in .build/<config>/).
    static var lblab: String {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = [here.appendingPathComponent("lblab").path, here.deletingLastPathComponent().appendingPathComponent("lblab").path]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? "lblab"
    }

    /// Runs `argv` (absolute path, or looked up in PATH) from the repository root and waits.
    static func run(_ argv: [String], environment: [String: String] = [:]) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0].hasPrefix("/") ? argv[0] : "/usr/bin/env")
        p.arguments = argv[0].hasPrefix("/") ? Array(argv.dropFirst()) : argv
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = "\(venv)/bin:" + (env["PATH"] ?? "") + ":/usr/sbin:/sbin:/usr/bin:/bin"
        env.merge(environment) { _, n in n }
        p.environment = env
        p.currentDirectoryURL = URL(fileURLWithPath: repoRoot)
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let outPath = "\(dir)/out", errPath = "\(dir)/err"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try p.run()
        p.waitUntilExit()
        return Run(status: p.terminationStatus,
                   out: String(decoding: try Data(contentsOf: URL(fileURLWithPath: outPath)), as: UTF8.self),
                   err: String(decoding: try Data(contentsOf: URL(fileURLWithPath: errPath)), as: UTF8.self))
    }

    static func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lblab-ciusers-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// Not gated: fails where the tools are required but missing, and says loudly when the
/// suites that need them are skipped.
@Test func ciUserToolsArePresentWhereRequired() {
    if !Tools.present { print("*** lblab CI-USER CHECKS SKIPPED: \(Tools.missing) ***") }
    if Tools.required { #expect(Tools.present, "LBLAB_REQUIRE_CI_TOOLS=1 but \(Tools.missing)") }
}

/// What junitparser reads in a JUnit file.
struct ParsedJUnit: Decodable {
    struct Result: Decodable {
        var kind: String
        var message: String?
        var text: String?
    }
    struct Case: Decodable {
        var name: String
        var classname: String?
        var time: Double
        var results: [Result]
        var systemOut: String?
    }
    struct Suite: Decodable {
        var name: String
        var tests: Int
        var failures: Int
        var errors: Int
        var skipped: Int
        var time: Double
        var timestamp: String?
        var properties: [String: String]
        var cases: [Case]
    }
    var suites: [Suite]

    /// Reads `path` with junitparser (in a separate Python process) and returns what it saw.
    static func read(_ path: String) throws -> ParsedJUnit {
        let script = """
        import json, sys
        from junitparser import JUnitXml, TestSuite
        xml = JUnitXml.fromfile(sys.argv[1])
        suites = [xml] if isinstance(xml, TestSuite) else list(xml)
        out = []
        for s in suites:
            cases = []
            for c in s:
                cases.append({"name": c.name, "classname": c.classname, "time": c.time,
                              "results": [{"kind": type(r).__name__, "message": r.message, "text": r.text} for r in c.result],
                              "systemOut": c.system_out})
            out.append({"name": s.name, "tests": s.tests, "failures": s.failures, "errors": s.errors,
                        "skipped": s.skipped, "time": s.time, "timestamp": s.timestamp,
                        "properties": {p.name: p.value for p in s.properties()}, "cases": cases})
        print(json.dumps({"suites": out}))
        """
        let r = try Tools.run([Tools.python, "-c", script, path])
        guard r.status == 0 else { throw ParseFailure(description: "junitparser could not read \(path): \(r)") }
        return try JSONDecoder().decode(ParsedJUnit.self, from: Data(r.out.utf8))
    }

    struct ParseFailure: Error, CustomStringConvertible { var description: String }
}
