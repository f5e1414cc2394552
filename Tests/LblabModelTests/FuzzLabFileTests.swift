import Foundation
import Testing
@testable import LblabModel

/// What a fuzz run saw, kept as plain values so two tests can share one run.
struct FuzzReport: Sendable {
    var cases = 0
    var parsed = 0
    var errors = 0
    /// CPU time of all cases, and wall-clock time of the whole run.
    var total: Duration = .zero
    var wall: Duration = .zero
    var slowest: Duration = .zero
    var slowestCase = -1
    /// Problems that would fail the run: crashes never get here, so these are errors of the
    /// wrong type, errors naming the wrong source, lines out of range, cases past the time bound.
    var violations: [String] = []
    /// Errors that name the file but no line, by kind (values masked), with a sample case and
    /// how often they came up.
    var unlined: [String: (sample: String, count: Int)] = [:]
    /// Every error by kind, to see which checks the mutations reach.
    var kinds: [String: Int] = [:]

    var topKinds: String {
        kinds.sorted { $0.value > $1.value }.prefix(12).map { "  \($0.value)x \(printable(String($0.key.prefix(100))))" }.joined(separator: "\n")
    }

    var summary: String {
        let ms = { (d: Duration) in String(format: "%.1f ms", Double(d.components.attoseconds) / 1e15 + Double(d.components.seconds) * 1000) }
        return "\(cases) cases (\(parsed) parsed, \(errors) errors) in \(ms(total)) CPU (\(ms(wall)) wall), slowest \(ms(slowest)) (case \(slowestCase)), \(unlined.values.reduce(0) { $0 + $1.count }) errors without a line in \(unlined.count) kinds"
    }

    mutating func record(_ duration: Duration, case i: Int) {
        cases += 1
        total += duration
        if duration > slowest { slowest = duration; slowestCase = i }
        if duration > FuzzBounds.perCase { violations.append("case \(i) took \(duration) of CPU, more than \(FuzzBounds.perCase)") }
    }

    mutating func unlined(_ e: LabFileError, sample: String) {
        let kind = errorKind(e)
        unlined[kind, default: (sample: "\(sample): \(e)", count: 0)].count += 1
    }

    var unlinedListing: String {
        unlined.sorted { $0.key < $1.key }.map { "  \($0.key)  [\($0.value.count)x, e.g. \($0.value.sample)]" }.joined(separator: "\n")
    }
}

enum FuzzBounds {
    /// No single case may take more CPU time (a debug build; a case normally takes under a
    /// millisecond, the largest valid inputs a few hundred).
    static let perCase: Duration = .seconds(1)
    static let fileCases = 10_000
    static let overrideCases = 5_000
    static let fileSeed: UInt64 = 0x1B1A_B0F1_1E5E_ED01
    static let overrideSeed: UInt64 = 0x1B1A_B05E_75EE_D002
}

/// Lines of the input as an editor shows them, counting breaks as libyaml does, for checking
/// that an error's line is inside the input.
func lineCount(_ bytes: [UInt8]) -> Int {
    let afterLast = LabFileLimits.position(ofByte: bytes.count, in: bytes).line
    return bytes.last == 0x0A || bytes.last == 0x0D ? max(1, afterLast - 1) : afterLast
}

/// Checks one error against the contract: a `LabFileError` naming `file` and, when it has a
/// line, printed as `file:N: ` with N inside the input. Returns false for an error without a line.
func checkFileError(_ outcome: FuzzOutcome, file: String, input: [UInt8], case i: Int, report: inout FuzzReport) {
    switch outcome {
    case .parsed:
        report.parsed += 1
    case .otherError(let error):
        report.errors += 1
        report.violations.append("case \(i): \(type(of: error)) instead of a LabFileError: \(error)")
    case .error(let e):
        report.errors += 1
        report.kinds[errorKind(e), default: 0] += 1
        guard e.file == file else {
            report.violations.append("case \(i): the error names \(e.file), not \(file): \(e)")
            return
        }
        guard let line = e.line else {
            report.unlined(e, sample: "case \(i)")
            return
        }
        if !e.description.hasPrefix("\(file):\(line): ") {
            report.violations.append("case \(i): the error does not start with \(file):\(line): \(e)")
        }
        if !(1...lineCount(input)).contains(line) {
            report.violations.append("case \(i): line \(line) is outside the input's \(lineCount(input)) lines: \(e)")
        }
    }
}

/// 10,000 deterministic mutations of the shipped lab files through the `lblab show FILE`
/// pipeline (bytes, limits, YAML, validation). A crash (trap, stack overflow) ends the test
/// process, so getting to the assertions at all means no input crashed.
@Suite struct FuzzLabFileTests {
    static let run: FuzzReport = {
        var report = FuzzReport()
        guard let corpus = try? LabCorpus.shipped(), !corpus.files.isEmpty else {
            report.violations.append("no lab files in \(labsDirectory.path)")
            return report
        }
        var mutator = Mutator(seed: FuzzBounds.fileSeed, corpus: corpus)
        let started = ContinuousClock.now
        for i in 0..<FuzzBounds.fileCases {
            let source = corpus.files[i % corpus.files.count]
            let input = mutator.mutate(source.bytes)
            let file = "fuzz/\(source.name)-\(i).yaml"
            let (outcome, duration) = runLabPipeline(input, file: file)
            report.record(duration, case: i)
            checkFileError(outcome, file: file, input: input, case: i, report: &report)
        }
        report.wall = ContinuousClock.now - started
        print("lab file fuzz: \(report.summary); most frequent errors:\n\(report.topKinds)")
        return report
    }()

    @Test func theCorpusIsTheShippedLabsAndEachParses() throws {
        let corpus = try LabCorpus.shipped()
        #expect(corpus.files.map(\.name) == repoLabNames())
        #expect(corpus.files.count >= 2)
        for f in corpus.files {
            let (outcome, _) = runLabPipeline(f.bytes, file: labPath(f.name))
            guard case .parsed = outcome else { Issue.record("\(f.name) does not parse: \(outcome)"); continue }
        }
    }

    @Test func mutatedLabFilesNeverCrashHangOrMisnameTheFile() {
        let report = Self.run
        #expect(report.cases == FuzzBounds.fileCases)
        // The mutations reach both sides: some still parse, most are refused.
        #expect(report.parsed > 0, "no mutated file parsed: the mutations are too blunt to reach the validator's accept path")
        #expect(report.errors > report.cases / 2)
        #expect(report.violations.isEmpty, "\(report.violations.count) violations, first: \(printable(report.violations.prefix(10).joined(separator: "\n")))")
    }

    /// Every error names a line. Errors without one are the validator's (a missing key, a
    /// top level that is not a mapping); they are listed, by kind, in the failure.
    @Test func everyErrorFromAMutatedFileNamesALine() {
        let report = Self.run
        #expect(report.unlined.isEmpty, "errors without a line (file:N:), by kind:\n\(printable(report.unlinedListing))")
    }
}

/// `--set KEY=VALUE` fuzzing against the shipped labs: known, combined and mutated keys with
/// known, corpus and mutated values, one to three at a time.
@Suite struct FuzzOverrideTests {
    static let run: FuzzReport = {
        var report = FuzzReport()
        guard let corpus = try? LabCorpus.shipped(), !corpus.files.isEmpty else {
            report.violations.append("no lab files in \(labsDirectory.path)")
            return report
        }
        let (keys, values) = corpus.keysAndValues
        let dotted = corpus.dottedKeys
        var mutator = Mutator(seed: FuzzBounds.overrideSeed, corpus: corpus)
        let started = ContinuousClock.now
        for i in 0..<FuzzBounds.overrideCases {
            let source = corpus.files[i % corpus.files.count]
            let overrides = (0..<[1, 1, 1, 1, 1, 1, 2, 2, 2, 3][mutator.int(0...9)]).map { _ in mutator.override(dotted: dotted, keys: keys, values: values) }
            let file = labPath(source.name)
            let (outcome, duration) = runLabPipeline(source.bytes, file: file, overrides: overrides)
            report.record(duration, case: i)
            let sample = "case \(i) --set \(overrides.joined(separator: " --set "))"
            // An error about a --set names that --set (its one line); any other names the file and a line.
            if case .error(let e) = outcome, e.file.hasPrefix("--set ") {
                report.errors += 1
                report.kinds["--set " + errorKind(e), default: 0] += 1
                let named = overrides.contains { e.file == "--set \($0)" || e.file == LabFileLimits.source(ofOverride: $0) }
                if !named { report.violations.append("\(sample): the error names \(e.file), which is none of the overrides: \(e)") }
                if !e.description.hasPrefix("\(e.file): ") { report.violations.append("\(sample): the error does not start with its --set: \(e)") }
            } else {
                checkFileError(outcome, file: file, input: source.bytes, case: i, report: &report)
                if case .error(let e) = outcome, e.line == nil, let last = report.unlined[errorKind(e)], last.count == 1 {
                    report.unlined[errorKind(e)] = (sample: "\(sample): \(e)", count: 1)
                }
            }
        }
        report.wall = ContinuousClock.now - started
        print("--set fuzz: \(report.summary); most frequent errors:\n\(report.topKinds)")
        return report
    }()

    @Test func mutatedOverridesNeverCrashHangOrMisnameTheirSource() {
        let report = Self.run
        #expect(report.cases == FuzzBounds.overrideCases)
        #expect(report.parsed > 0, "no override was accepted: the generator never reaches the accept path")
        #expect(report.errors > 0)
        #expect(report.violations.isEmpty, "\(report.violations.count) violations, first: \(printable(report.violations.prefix(10).joined(separator: "\n")))")
    }

    @Test func everyFileErrorAfterAnOverrideNamesALine() {
        let report = Self.run
        #expect(report.unlined.isEmpty, "errors without a line (file:N:), by kind:\n\(printable(report.unlinedListing))")
    }
}
