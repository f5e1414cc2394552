import Foundation
import LblabAnalysis
import LblabModel
import LblabPlan
import LblabSystem

/// A lab for another project's own tests: load a lab file, bring it up, send traffic through
/// kernel IPVS and read the verdicts.
///
/// This is the small, stable face of ``LblabRuntime`` for library users; it does what
/// `lblab up`, `lblab exec`, `lblab test` and `lblab down` do, in-process. It needs root and a
/// kernel with IPVS (see ``Lab/checkHost()``).
///
/// ```swift
/// import LblabRuntime
/// import Testing
///
/// @Test func webTierSpreadsByWeight() throws {
///     let lab = try Lab.load("labs/web.yaml", overrides: ["connections=200"])
///     let result = try lab.test()
///     #expect(result.passed, "\(result)")
///     #expect(result.answeredBy == ["web1": 100, "web2": 50, "web3": 50])
/// }
/// ```
public struct Lab: Sendable {
    let spec: LabSpec
    let overrides: [String]
    let runtime: LabRuntime

    /// The lab's name (the `name:` of its file).
    public var name: String { spec.name }
    /// The lab file it was loaded from.
    public var file: String? { spec.source }
    /// Node names, in file order.
    public var nodes: [String] { spec.nodes.map(\.name) }
    /// The real servers' node names, in file order.
    public var realServers: [String] { spec.realServers.map(\.name) }
    /// The client node's name (where ``test(keepUp:captureDirectory:)`` sends traffic from).
    public var client: String { spec.traffic.client }

    /// Loads a lab.
    ///
    /// - Parameters:
    ///   - lab: a path to a lab file (anything with a `/` or ending in `.yaml`/`.yml`), or a lab
    ///     name looked up in `directories`.
    ///   - overrides: `KEY=VALUE` settings, as `--set` takes them (`connections=100`,
    ///     `scheduler=wrr`, `rs1.weight=3`, ...).
    ///   - directories: where lab names are looked up; by default `$LBLAB_LABS` and `./labs`.
    /// - Throws: an error naming the file, the line, the key and what would be valid.
    public static func load(_ lab: String, overrides: [String] = [], directories: [String]? = nil) throws -> Lab {
        let catalog = directories.map(LabCatalog.init(directories:)) ?? LabCatalog.standard()
        return Lab(spec: try catalog.load(lab, overrides: overrides), overrides: overrides, runtime: LabRuntime())
    }

    /// Throws, naming the cause and the fix, unless this process can run labs: root, and IPVS
    /// loaded in the kernel (it loads `ip_vs` when it can). Call it first to fail early.
    public static func checkHost() throws {
        try LabRuntime.requireRoot()
        try LabRuntime.requireIPVS()
    }

    /// Whether the lab is up (by this or another process).
    public var isUp: Bool { (try? runtime.runningState(name)) != nil }

    /// Builds the lab: namespaces, links, addresses, the IPVS service, the real servers' HTTP
    /// agents. Throws when it is up already; a failure part-way removes what it created.
    /// - Returns: the seconds it took.
    @discardableResult
    public func up() throws -> Double {
        try runtime.up(spec).seconds
    }

    /// Removes the lab: its processes, namespaces (with every link, address and IPVS rule)
    /// and state. Throws when it is not up.
    public func down() throws {
        _ = try runtime.down(name, spec: spec)
    }

    /// Sends the lab's traffic from its client, captures every lab interface and judges the
    /// lab's rules. Brings the lab up first when it is not, and down afterwards unless `keepUp`;
    /// a lab that is up is tested as it is.
    ///
    /// A rule that fails is not an error: read ``LabResult/passed`` and the verdicts. It throws
    /// only when the test could not run.
    /// - Parameter captureDirectory: where the run's pcaps and `run.json` go (default
    ///   `/tmp/lblab-captures/<lab>`).
    public func test(keepUp: Bool = false, captureDirectory: String? = nil) throws -> LabResult {
        let started = Date()
        let report = try runtime.test(spec, keepUp: keepUp, captureDirectory: captureDirectory)
        return LabResult(report: report, junit: JUnitReport(report, spec: spec, overrides: overrides, started: started))
    }

    /// Runs `command` (looked up in PATH) inside `node` of the lab, which must be up, waits at
    /// most `timeout` seconds, and returns its exit status and output.
    public func run(_ command: [String], on node: String, timeout: Double = 30) throws -> CommandResult {
        guard !command.isEmpty else { throw LabUsageError("run: the command is empty: give the program and its arguments, e.g. [\"ip\", \"-brief\", \"address\"]") }
        _ = try runtime.runningState(name)
        guard spec.node(named: node) != nil else {
            throw RuntimeError.unknownNode(lab: name, node: node, valid: nodes)
        }
        let ns = try NetworkNamespace(opening: LabNames.namespace(lab: name, node: node))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lblab-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // Output goes to files, so a chatty command never blocks on a full pipe.
        let outURL = dir.appendingPathComponent("out"), errURL = dir.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = command
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        // The child inherits the network namespace of the thread that starts it.
        try NamespaceThread.shared.run(in: ns) { try p.run() }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(2000) }
        let timedOut = p.isRunning
        if timedOut {
            p.terminate()
            p.waitUntilExit()
        }
        return CommandResult(status: timedOut ? -1 : p.terminationStatus, timedOut: timedOut,
                             output: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                             errorOutput: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }
}

/// What a command run in a lab node did.
public struct CommandResult: Sendable, Equatable {
    /// Its exit status (128 + the signal when a signal ended it; -1 when it timed out).
    public var status: Int32
    public var timedOut: Bool
    /// What it wrote to standard output.
    public var output: String
    /// What it wrote to standard error.
    public var errorOutput: String
}

/// One rule's verdict: whether it held, and the counts it was decided on.
public struct Verdict: Sendable, Equatable, CustomStringConvertible {
    /// The rule: `answered`, `distribution`, `dr-path`, `arp`, ...
    public var rule: String
    public var passed: Bool
    /// One line: what was counted and what was expected.
    public var summary: String
    /// Further lines of evidence (e.g. which nodes answered ARP).
    public var evidence: [String]

    public var description: String {
        ([(passed ? "PASS " : "FAIL ") + rule + ": " + summary] + evidence.map { "    " + $0 }).joined(separator: "\n")
    }
}

/// The outcome of ``Lab/test(keepUp:captureDirectory:)``.
public struct LabResult: Sendable, CustomStringConvertible {
    /// Every report field, for what this summary leaves out.
    public let report: TestReport
    /// The same result as JUnit XML (``JUnitReport/xml``).
    public let junit: JUnitReport

    init(report: TestReport, junit: JUnitReport) {
        self.report = report
        self.junit = junit
    }

    /// Whether every rule held.
    public var passed: Bool { report.passed }
    /// One verdict per rule, in the order they were judged.
    public var verdicts: [Verdict] {
        report.analysis.verdicts.map { Verdict(rule: $0.rule, passed: $0.passed, summary: $0.summary, evidence: $0.evidence) }
    }
    /// The verdict of `rule`, if it was judged.
    public func verdict(_ rule: String) -> Verdict? { verdicts.first { $0.rule == rule } }
    /// Connections sent, answered, and failed.
    public var sent: Int { report.analysis.sent }
    public var answered: Int { report.analysis.answered }
    public var failed: Int { report.analysis.failed }
    /// Answered connections per real server, from what the client received.
    public var answeredBy: [String: Int] { report.analysis.fromClient }
    /// Client flows per real server, from the captures (the server whose wire carried each SYN).
    public var capturedAt: [String: Int] { report.analysis.fromCapture }
    /// Seconds the whole test took.
    public var seconds: Double { report.totalSeconds }
    /// The pcap file of each capture point (node name).
    public var captureFiles: [String: String] { report.captureFiles }

    /// The verdicts, one block per rule.
    public var description: String {
        verdicts.map(\.description).joined(separator: "\n")
    }
}

/// A call the facade cannot make sense of.
public struct LabUsageError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
