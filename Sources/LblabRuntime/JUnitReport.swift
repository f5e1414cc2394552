import Foundation
import LblabAnalysis
import LblabModel
import LblabSystem

/// A `lblab test` run as JUnit XML, the format CI systems read test results in.
///
/// One `<testsuite>` for the lab run, one `<testcase>` per verdict rule (named after the rule).
/// A broken rule is a `<failure>` whose message is the rule's summary and whose text is its
/// evidence; a rule that holds carries its summary and evidence as `<system-out>`. A test that
/// could not run (exit status 2) is one `<testcase name="run">` with an `<error>` naming the
/// cause, so a CI report tells "a rule failed" from "lblab could not test".
///
/// Timings: the rules are judged together from one traffic run, so the suite's `time` is the
/// whole test (up, traffic, captures, judging, down) and each test case's `time` is 0; the
/// `traffic_seconds` property is the traffic run alone.
///
/// Properties: `lab`, `lab_file`, `mode`, `scheduler`, `arp_fix`, `connections`, `concurrency`,
/// `overrides` (the `--set` settings), `kernel`, and the counts `sent`, `answered`, `failed`.
public struct JUnitReport: Sendable, Equatable {
    /// One test case: a verdict rule, or the run that could not happen.
    public struct TestCase: Sendable, Equatable {
        public enum Outcome: Sendable, Equatable {
            case passed
            /// A rule that does not hold (`<failure>`).
            case failure(message: String, text: String)
            /// The test could not run (`<error>`).
            case error(message: String, text: String)
        }
        public var name: String
        public var classname: String
        public var seconds: Double
        public var outcome: Outcome
        /// Written as `<system-out>` when not empty.
        public var output: String

        public init(name: String, classname: String, seconds: Double = 0, outcome: Outcome, output: String = "") {
            self.name = name
            self.classname = classname
            self.seconds = seconds
            self.outcome = outcome
            self.output = output
        }
    }

    public var suiteName: String
    public var timestamp: Date
    public var seconds: Double
    public var hostname: String
    /// In order; names may repeat (JUnit allows it), but lblab's do not.
    public var properties: [(name: String, value: String)]
    public var testCases: [TestCase]

    public init(suiteName: String, timestamp: Date, seconds: Double, hostname: String = Self.hostname,
                properties: [(name: String, value: String)], testCases: [TestCase]) {
        self.suiteName = suiteName
        self.timestamp = timestamp
        self.seconds = seconds
        self.hostname = hostname
        self.properties = properties
        self.testCases = testCases
    }

    public static func == (l: Self, r: Self) -> Bool {
        l.suiteName == r.suiteName && l.timestamp == r.timestamp && l.seconds == r.seconds && l.hostname == r.hostname
            && l.properties.map(\.name) == r.properties.map(\.name) && l.properties.map(\.value) == r.properties.map(\.value)
            && l.testCases == r.testCases
    }

    public var failures: Int { testCases.filter { if case .failure = $0.outcome { true } else { false } }.count }
    public var errors: Int { testCases.filter { if case .error = $0.outcome { true } else { false } }.count }

    public static var hostname: String { ProcessInfo.processInfo.hostName }

    /// The suite name of a lab's run: `lblab test <lab>`.
    public static func suiteName(lab: String) -> String { "lblab test \(lab)" }

    // MARK: - From a test

    /// The report of a test that ran: one test case per verdict rule.
    /// `started` is when the test began (the suite's timestamp).
    public init(_ report: TestReport, spec: LabSpec, overrides: [String] = [], started: Date) {
        let classname = "lblab.\(report.lab)"
        let cases = report.analysis.verdicts.map { v in
            let evidence = v.evidence.joined(separator: "\n")
            return TestCase(name: v.rule, classname: classname,
                            outcome: v.passed ? .passed : .failure(message: v.summary, text: evidence),
                            output: v.passed ? ([v.summary] + v.evidence).joined(separator: "\n") : "")
        }
        let a = report.analysis
        var props = Self.labProperties(spec, overrides: overrides)
        props += [("sent", String(a.sent)), ("answered", String(a.answered)), ("failed", String(a.failed)),
                  ("traffic_seconds", String(format: "%.3f", report.trafficSeconds))]
        self.init(suiteName: Self.suiteName(lab: report.lab), timestamp: started, seconds: report.totalSeconds,
                  properties: props, testCases: cases)
    }

    /// The report of a test that could not run (lblab exits 2): one test case `run` whose
    /// error is `error`'s description. `spec` is `nil` when the lab file could not be read.
    public init(couldNotRun lab: String, error: Error, spec: LabSpec? = nil, overrides: [String] = [], started: Date) {
        let message = "\(error)"
        let first = message.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? message
        let name = spec?.name ?? lab
        var props: [(name: String, value: String)] = spec.map { Self.labProperties($0, overrides: overrides) }
            ?? [("lab", lab), ("overrides", overrides.joined(separator: " ")), ("kernel", Kernel.release)]
        props.append(("exit_status", "2"))
        self.init(suiteName: Self.suiteName(lab: name), timestamp: started, seconds: Date().timeIntervalSince(started),
                  properties: props,
                  testCases: [TestCase(name: "run", classname: "lblab.\(name)", seconds: Date().timeIntervalSince(started),
                                       outcome: .error(message: "lblab could not test \(name): \(first)", text: message))])
    }

    /// What the lab was run with. The one place the JUnit report reads the lab model.
    static func labProperties(_ spec: LabSpec, overrides: [String]) -> [(name: String, value: String)] {
        [("lab", spec.name), ("lab_file", spec.source ?? ""), ("mode", spec.mode.rawValue),
         ("service", spec.service(named: spec.traffic.service)?.label ?? ""),
         ("scheduler", spec.service(named: spec.traffic.service)?.scheduler.rawValue ?? ""), ("arp_fix", String(spec.arpFix)),
         ("connections", String(spec.traffic.connections)), ("concurrency", String(spec.traffic.concurrency)),
         ("overrides", overrides.joined(separator: " ")), ("kernel", Kernel.release)]
    }

    // MARK: - XML

    /// The report as a JUnit XML document (UTF-8, XML 1.0).
    public var xml: String {
        let t = Self.seconds(seconds)
        let counts = "tests=\"\(testCases.count)\" failures=\"\(failures)\" errors=\"\(errors)\" skipped=\"0\""
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"lblab\" \(counts) time=\"\(t)\">\n"
        out += "  <testsuite name=\(Self.attribute(suiteName)) \(counts) time=\"\(t)\""
        out += " timestamp=\"\(Self.iso8601(timestamp))\" hostname=\(Self.attribute(hostname))>\n"
        if !properties.isEmpty {
            out += "    <properties>\n"
            for p in properties { out += "      <property name=\(Self.attribute(p.name)) value=\(Self.attribute(p.value))/>\n" }
            out += "    </properties>\n"
        }
        for c in testCases {
            out += "    <testcase name=\(Self.attribute(c.name)) classname=\(Self.attribute(c.classname)) time=\"\(Self.seconds(c.seconds))\""
            var body = ""
            switch c.outcome {
            case .passed: break
            case .failure(let message, let text):
                body += "      <failure message=\(Self.attribute(message)) type=\"rule\">\(Self.text(text))</failure>\n"
            case .error(let message, let text):
                body += "      <error message=\(Self.attribute(message)) type=\"lblab\">\(Self.text(text))</error>\n"
            }
            if !c.output.isEmpty { body += "      <system-out>\(Self.text(c.output))</system-out>\n" }
            out += body.isEmpty ? "/>\n" : ">\n\(body)    </testcase>\n"
        }
        out += "  </testsuite>\n</testsuites>\n"
        return out
    }

    /// Writes the XML to `path` atomically (a reader never sees half a report).
    public func write(to path: String) throws {
        do {
            try Data(xml.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw JUnitFileError(path: path, reason: (error as NSError).localizedDescription)
        }
    }

    // MARK: - Escaping

    /// Whether XML 1.0 allows `scalar` in a document at all (even as a character reference).
    static func isXMLChar(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
        default: false
        }
    }

    /// A character XML cannot hold, written visibly instead: `\u{1B}` for ESC.
    static func replacement(_ s: Unicode.Scalar) -> String { "\\u{\(String(s.value, radix: 16, uppercase: true))}" }

    /// Character data: `&`, `<`, `>` escaped, CR kept as `&#13;` (a parser would turn it into
    /// LF), characters XML forbids written as `\u{..}`.
    static func text(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\r": out += "&#13;"
            default: if isXMLChar(u) { out.unicodeScalars.append(u) } else { out += replacement(u) }
            }
        }
        return out
    }

    /// A quoted attribute value: as `text`, plus `"`, and tab/LF/CR as references (a parser
    /// would turn them into spaces).
    static func attribute(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\t": out += "&#9;"
            case "\n": out += "&#10;"
            case "\r": out += "&#13;"
            default: if isXMLChar(u) { out.unicodeScalars.append(u) } else { out += replacement(u) }
            }
        }
        return out + "\""
    }

    static func seconds(_ s: Double) -> String { String(format: "%.3f", s.isFinite && s > 0 ? s : 0) }

    static func iso8601(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: d)
    }
}

/// The JUnit file cannot be written.
public struct JUnitFileError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String {
        "cannot write the JUnit report to \(path) (\(reason)): give --junit a path in a directory that exists and is writable"
    }

    /// Checks up front that `path` can be written, so a long test does not end in an error:
    /// creates missing parent directories, refuses a directory, creates the file, and removes
    /// it again with any old report there, so a report never outlives the run that wrote it.
    public static func prepare(_ path: String) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw JUnitFileError(path: path, reason: "it is a directory")
        }
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw JUnitFileError(path: path, reason: "cannot create \(dir): \((error as NSError).localizedDescription)")
        }
        // A real write, not access(2): root passes access() on file systems that refuse files.
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            throw JUnitFileError(path: path, reason: String(cString: strerror(errno)))
        }
        close(fd)
        unlink(path)
    }
}
