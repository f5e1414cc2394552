import Foundation
import Testing

/// Issue 5's two hostile lab files through the real binary: `lblab show` exits 2 quickly with
/// `file:line: ...` instead of taking gigabytes (the alias bomb) or dying of SIGSEGV (deep nesting).
@Suite struct FuzzCLITests {
    /// Quick means no slower than three times what `lblab show dr-basic` takes in the same place
    /// (a debug binary read over the kernel VM's uncached 9p share starts in seconds), plus one
    /// second. Before the bounds the bomb ran 28 s and took 4.7 GB; the deep file crashed.
    static let quick: Duration = {
        let clock = ContinuousClock()
        let start = clock.now
        _ = try? Harness.lblab("show", "dr-basic")
        return (clock.now - start) * 3 + .seconds(1)
    }()

    func withHostileFiles(_ body: (URL) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lblab-fuzz-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var bomb = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        for i in 1...8 { bomb.append("a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 9).joined(separator: ", ") + "]") }
        try (bomb.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("bomb.yaml"), atomically: true, encoding: .utf8)
        try (String(repeating: "[", count: 100_000) + "\n").write(to: dir.appendingPathComponent("deep.yaml"), atomically: true, encoding: .utf8)
        try body(dir)
    }

    /// Runs lblab, killing it after `limit`: a regression shows as a failure, not a hung run
    /// that eats the machine's memory. `status` is nil when it had to be killed.
    func timed(_ args: String..., environment: [String: String] = [:], limit: Duration = .seconds(20)) throws -> (Harness.Run, Duration) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Harness.lblabPath)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, n in n }
        p.currentDirectoryURL = URL(fileURLWithPath: Harness.repoRoot)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lblab-fuzz-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let outURL = dir.appendingPathComponent("out"), errURL = dir.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        let clock = ContinuousClock()
        let start = clock.now
        try p.run()
        while p.isRunning, clock.now - start < limit { Thread.sleep(forTimeInterval: 0.01) }
        let killed = p.isRunning
        if killed { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        let elapsed = clock.now - start
        let out = String(decoding: try Data(contentsOf: outURL), as: UTF8.self)
        var err = String(decoding: try Data(contentsOf: errURL), as: UTF8.self)
        if killed { err = "(killed after \(limit)) " + err }
        let status: Int32 = killed ? -1 : (p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus)
        return (Harness.Run(status: status, out: out, err: err), elapsed)
    }

    @Test func showRefusesTheAliasBombAndTheDeepFileQuicklyWithFileAndLine() throws {
        try withHostileFiles { dir in
            for (name, line, problem) in [("bomb.yaml", 2, "alias '*a0'"), ("deep.yaml", 1, "nested more than 32 levels")] {
                let path = dir.appendingPathComponent(name).path
                let (r, elapsed) = try timed("show", path)
                #expect(r.status == 2, "\(name): exit \(r.status) (128+N: signal N; -1: killed): \(r.err.prefix(500))")
                #expect(r.err.hasPrefix("lblab: \(path):\(line): "), "\(name): \(r.err.prefix(500))")
                #expect(r.err.contains(problem), "\(name): \(r.err.prefix(500))")
                #expect(elapsed < Self.quick, "\(name) took \(elapsed)")
            }
        }
    }

    /// `lblab list` reads every lab file it finds: one hostile file there must not take it down.
    @Test func listShowsHostileFilesAsInvalidAndCarriesOn() throws {
        try withHostileFiles { dir in
            let (r, elapsed) = try timed("list", environment: ["LBLAB_LABS": dir.path])
            #expect(r.status == 0, "\(r.all.prefix(500))")
            #expect(r.out.contains("bomb.yaml:2: "), "\(r.out)")
            #expect(r.out.contains("deep.yaml:1: "), "\(r.out)")
            #expect(r.out.contains("dr-basic"), "the other labs are still listed: \(r.out)")
            #expect(elapsed < Self.quick, "took \(elapsed)")
        }
    }

    @Test func showRefusesAFileThatNeverEndsAndAHostileSet() throws {
        let (zero, zeroTime) = try timed("show", "/dev/zero")
        #expect(zero.status == 2)
        #expect(zero.err.hasPrefix("lblab: /dev/zero:1: "), "\(zero.err)")
        #expect(zeroTime < Self.quick, "took \(zeroTime)")

        let key = Array(repeating: "a", count: 1_000).joined(separator: ".")
        let (set, setTime) = try timed("show", "dr-basic", "--set", "\(key)=1")
        #expect(set.status == 2)
        #expect(set.err.hasPrefix("lblab: --set a.a.a."), "\(set.err)")
        #expect(setTime < Self.quick, "took \(setTime)")
    }
}
