import Foundation
import Testing

/// Runs the built `lblab` binary and independent witnesses (`ip`, `ipvsadm`) as a user would.
enum Harness {
    struct Run {
        var status: Int32
        var out: String
        var err: String
        var all: String { out + err }

        /// The JSON object lblab printed (with --json).
        func json() throws -> [String: Any] {
            let data = Data(out.utf8)
            return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "not JSON: \(out.prefix(400))")
        }
    }

    /// The `lblab` executable: `$LBLAB_BINARY` (ci/vm.sh copies the build into the VM's RAM and
    /// sets it), else the one next to this test bundle (both are in .build/<config>/).
    static var lblabPath: String {
        if let p = ProcessInfo.processInfo.environment["LBLAB_BINARY"], FileManager.default.isExecutableFile(atPath: p) { return p }
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = [here.appendingPathComponent("lblab").path, here.deletingLastPathComponent().appendingPathComponent("lblab").path]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? "lblab"
    }

    static var repoRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    @discardableResult
    static func run(_ argv: [String], environment: [String: String] = [:]) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0].hasPrefix("/") ? argv[0] : "/usr/bin/env")
        p.arguments = argv[0].hasPrefix("/") ? Array(argv.dropFirst()) : argv
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = (env["PATH"] ?? "") + ":/usr/sbin:/sbin:/usr/bin:/bin"
        env.merge(environment) { _, n in n }
        p.environment = env
        p.currentDirectoryURL = URL(fileURLWithPath: repoRoot)
        // Output goes to files, so a chatty child never blocks on a full pipe.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lblab-it-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let outURL = dir.appendingPathComponent("out"), errURL = dir.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        try p.run()
        p.waitUntilExit()
        let outData = try Data(contentsOf: outURL), errData = try Data(contentsOf: errURL)
        return Run(status: p.terminationStatus, out: String(decoding: outData, as: UTF8.self), err: String(decoding: errData, as: UTF8.self))
    }

    @discardableResult
    static func lblab(_ args: String..., environment: [String: String] = [:]) throws -> Run {
        try run([lblabPath] + args, environment: environment)
    }

    /// Namespaces as `ip netns list` sees them.
    static func netns() throws -> [String] {
        try run(["ip", "netns", "list"]).out.split(separator: "\n").map { String($0.split(separator: " ")[0]) }
    }

    static func ipvsadm(_ namespace: String) throws -> Run {
        try run(["ip", "netns", "exec", namespace, "ipvsadm", "-Ln"])
    }

    /// Pids of running `lblab-agent` processes.
    static func agentPIDs() -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8),
                  comm.trimmingCharacters(in: .whitespacesAndNewlines) == "lblab-agent",
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
            return !stat.contains(") Z ")
        }
    }

    /// Asserts that nothing of `lab` is left: no namespace, no state, no agent.
    static func expectNothingLeft(of lab: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let left = try netns().filter { $0.hasPrefix("lblab-\(lab)-") }
        #expect(left.isEmpty, "namespaces left: \(left)", sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: "/run/lblab/\(lab)"), "state left in /run/lblab/\(lab)", sourceLocation: sourceLocation)
    }

    /// Whether this kernel can run labs: root and IPVS loaded or loadable.
    static let ipvsAvailable: Bool = {
        guard geteuid() == 0 else { return false }
        if FileManager.default.fileExists(atPath: "/proc/net/ip_vs") { return true }
        _ = try? run(["modprobe", "ip_vs"])
        return FileManager.default.fileExists(atPath: "/proc/net/ip_vs")
    }()

    /// CI sets this where the integration tests must run (in the kernel VM).
    static var required: Bool { ProcessInfo.processInfo.environment["LBLAB_REQUIRE_INTEGRATION"] == "1" }

    static func verdict(_ json: [String: Any], _ rule: String) -> [String: Any]? {
        let verdicts = (json["analysis"] as? [String: Any])?["verdicts"] as? [[String: Any]] ?? []
        return verdicts.first { $0["rule"] as? String == rule }
    }

    static func counts(_ json: [String: Any], _ key: String) -> [String: Int] {
        ((json["analysis"] as? [String: Any])?[key] as? [String: Any] ?? [:]).compactMapValues { $0 as? Int }
    }
}

/// Not gated: fails where the integration tests were required but could not run, and says
/// loudly when they are skipped.
@Suite struct IntegrationEnvironment {
    @Test func integrationTestsCanRunWhereRequired() {
        if !Harness.ipvsAvailable {
            print("*** lblab INTEGRATION TESTS SKIPPED: this kernel has no IPVS (or not root); they run in the kernel VM (ci/test.sh) ***")
        }
        if Harness.required {
            #expect(Harness.ipvsAvailable, "LBLAB_REQUIRE_INTEGRATION=1 but IPVS is not available: the integration tests did not run")
        }
    }
}

/// Every test that needs kernel IPVS, one at a time (they share the kernel's namespaces).
@Suite(.serialized, .enabled(if: Harness.ipvsAvailable, "needs root and kernel IPVS: runs in the kernel VM in CI"))
struct IntegrationTests {}
