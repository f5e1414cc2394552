import Foundation
import Testing
@testable import LblabModel

/// Hand-made hostile inputs: the two findings of issue 5 (an alias bomb, 100,000 nested `[`)
/// and their relatives. Each is refused quickly with `file:N: ...` naming the line. Without the
/// bounds, the nesting inputs overflow the stack in Yams' recursive composer and end this test
/// process: that they come back at all shows the bound runs before any recursion.
@Suite struct FuzzHostileInputTests {
    static let file = "hostile/lab.yaml"
    /// CPU time (see `threadCPUTime`), far more than any of these takes; the alias bomb took
    /// 28 s before the bounds.
    static let quick: Duration = .milliseconds(500)

    /// Runs the whole `lblab show FILE` pipeline on `bytes`, expecting a refusal at `line`.
    @discardableResult
    func refused(_ bytes: [UInt8], line: Int?, _ fragment: String, overrides: [String] = [],
                 sourceLocation: SourceLocation = #_sourceLocation) -> LabFileError? {
        let (outcome, elapsed) = runLabPipeline(bytes, file: Self.file, overrides: overrides)
        #expect(elapsed < Self.quick, "took \(elapsed)", sourceLocation: sourceLocation)
        guard case .error(let e) = outcome else {
            Issue.record("expected a LabFileError, got \(outcome)", sourceLocation: sourceLocation)
            return nil
        }
        #expect(e.line == line, "\(e)", sourceLocation: sourceLocation)
        if let line {
            #expect(e.description.hasPrefix("\(Self.file):\(line): "), "\(e)", sourceLocation: sourceLocation)
        }
        #expect(e.description.contains(fragment), "\(e)", sourceLocation: sourceLocation)
        return e
    }

    func refused(_ text: String, line: Int?, _ fragment: String, overrides: [String] = [],
                 sourceLocation: SourceLocation = #_sourceLocation) {
        refused(Array(text.utf8), line: line, fragment, overrides: overrides, sourceLocation: sourceLocation)
    }

    func parses(_ bytes: [UInt8], overrides: [String] = [], within bound: Duration = FuzzHostileInputTests.quick, sourceLocation: SourceLocation = #_sourceLocation) {
        let (outcome, elapsed) = runLabPipeline(bytes, file: Self.file, overrides: overrides)
        #expect(elapsed < bound, "took \(elapsed)", sourceLocation: sourceLocation)
        guard case .parsed = outcome else {
            Issue.record("expected the lab to parse, got \(outcome)", sourceLocation: sourceLocation)
            return
        }
    }

    var drBasic: String { get throws { try String(contentsOfFile: labPath("dr-basic"), encoding: .utf8) } }

    // MARK: aliases

    /// Issue 5's bomb: 8 levels of 9 aliases each, 9^8 (43 million) values once expanded.
    static let aliasBomb: String = {
        var lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        for i in 1...8 { lines.append("a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 9).joined(separator: ", ") + "]") }
        return lines.joined(separator: "\n") + "\n"
    }()

    @Test func theAliasBombIsRefusedAtItsFirstAlias() {
        #expect(Self.aliasBomb.utf8.count < 700)
        refused(Self.aliasBomb, line: 2, "alias '*a0'")
    }

    @Test func anyAliasIsRefusedAtItsLine() throws {
        // A harmless-looking one: a node that repeats another.
        let reused = try drBasic.replacingOccurrences(of: "rs1:        {", with: "rs1:        &rs {")
            .replacingOccurrences(of: "rs2:        {role: real,       address: 198.51.100.22/24, weight: 1}", with: "rs2: *rs")
        refused(reused, line: 13, "alias '*rs'")
        // A merge key.
        refused("base: &b {role: real}\nnodes:\n  rs1:\n    <<: *b\n    address: 10.0.0.1/24\n", line: 4, "alias '*b'")
        // An alias as a key.
        refused("k: &k x\n*k : y\n", line: 2, "alias '*k'")
        // An anchor alone stays legal: nothing expands.
        parses(Array(try drBasic.replacingOccurrences(of: "arp_fix: true", with: "arp_fix: &fix true").utf8))
    }

    // MARK: nesting

    @Test func aHundredThousandOpenBracketsAreRefusedAtTheirLine() {
        refused(String(repeating: "[", count: 100_000), line: 1, "nested more than 32 levels")
        refused(String(repeating: "{", count: 100_000), line: 1, "nested more than 32 levels")
        refused(String(repeating: "{a: [", count: 50_000), line: 1, "nested more than 32 levels")
        refused("name: deep\ndescription: x\nnodes: " + String(repeating: "[", count: 100_000) + "\n", line: 3, "nested more than 32 levels")
    }

    @Test func deepBlockNestingByIndentationIsRefusedAtTheLineItGoesTooDeep() {
        // Line i is indented i-1 spaces: the mapping at depth d starts on line d.
        let mappings = (0..<1_000).map { String(repeating: " ", count: $0) + "k:" }.joined(separator: "\n") + " x\n"
        refused(mappings, line: 33, "nested more than 32 levels")
        // Block sequences, one per line, and compact ones on a single line.
        let sequences = (0..<700).map { String(repeating: " ", count: $0 * 2) + "-" }.joined(separator: "\n") + " x\n"
        refused(sequences, line: 33, "nested more than 32 levels")
        refused(String(repeating: "- ", count: 10_000) + "x\n", line: 1, "nested more than 32 levels")
    }

    @Test func nestingUpToTheLimitPassesTheLimitsAndOneMoreDoesNot() throws {
        let limits = LabFileLimits.standard
        let at = "k: " + String(repeating: "[", count: 31) + String(repeating: "]", count: 31) + "\n"   // 1 mapping + 31 lists
        try limits.check(at, file: Self.file)
        let over = "k: " + String(repeating: "[", count: 32) + String(repeating: "]", count: 32) + "\n"
        #expect(throws: LabFileError.self) { try limits.check(over, file: Self.file) }
        // The shipped labs are far inside every bound.
        for name in repoLabNames() {
            try limits.check(try String(contentsOfFile: labPath(name), encoding: .utf8), file: labPath(name))
        }
    }

    // MARK: size, values, lines

    @Test func aFileOfExactlyTheLimitParsesAndOneByteMoreIsRefused() throws {
        let lab = try drBasic
        let max = LabFileLimits.standard.maxBytes
        // Pad with comment lines to exactly maxBytes.
        var padded = lab
        while padded.utf8.count + 101 <= max { padded += "#" + String(repeating: "p", count: 99) + "\n" }
        padded += "#" + String(repeating: "p", count: max - padded.utf8.count - 2) + "\n"
        #expect(padded.utf8.count == max)
        parses(Array(padded.utf8))
        let e = refused(Array((padded + "#").utf8), line: padded.split(separator: "\n", omittingEmptySubsequences: false).count, "larger than lblab reads")
        #expect(e?.valid?.contains("at most 1024 KiB") == true)
    }

    @Test func readingStopsAtTheLimit() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let big = dir.appendingPathComponent("big.yaml")
        try Data(repeating: UInt8(ascii: "#"), count: 3 << 20).write(to: big)
        #expect(throws: LabFileError.self) { try LabFile.load(big.path) }
        // A file that never ends: only maxBytes + 1 bytes are read.
        let elapsed = ContinuousClock().measure {
            do {
                _ = try LabFile.load("/dev/zero")
                Issue.record("/dev/zero parsed")
            } catch let e as LabFileError {
                #expect(e.description.hasPrefix("/dev/zero:1: "), "\(e)")
                #expect(e.problem.contains("larger than"))
            } catch {
                Issue.record("\(error)")
            }
        }
        #expect(elapsed < .seconds(5), "wall-clock time, with a loaded machine in mind")
        // A directory is no lab file.
        let e = try #require(loadError(dir.path))
        #expect(e.problem.contains("directory"))
    }

    func loadError(_ path: String) -> LabFileError? {
        do { _ = try LabFile.load(path); return nil } catch { return error as? LabFileError }
    }

    @Test func manyValuesAreBoundedAndALabAtTheBoundIsQuick() throws {
        // A valid lab with as many nodes as fit under the value bound (6 values per node).
        var lines = ["service: {vip: 10.0.0.100}", "nodes:",
                     "  client: {role: client, address: 10.0.0.10/8}", "  dispatcher: {role: dispatcher, address: 10.0.0.2/8}"]
        let nodes = (LabFileLimits.standard.maxNodes - 20) / 6
        for i in 0..<nodes { lines.append("  rs\(i): {role: real, address: 10.1.\(i / 250).\(i % 250 + 1)/8}") }
        // The validator looks nodes up by name in a list (quadratic): 1,663 nodes take about
        // 0.5 s in a debug build. The value bound keeps that finite.
        parses(Array((lines.joined(separator: "\n") + "\n").utf8), within: .seconds(3))
        // 10,001 values.
        let many = "k: [" + Array(repeating: "1", count: 10_000).joined(separator: ", ") + "]\n"
        refused(many, line: 1, "more than 10000 YAML values")
        let manyKeys = (0..<6_000).map { "k\($0): v" }.joined(separator: "\n") + "\n"
        refused(manyKeys, line: 5_000, "more than 10000 YAML values")
    }

    @Test func hugeValuesAreRefusedAtTheirLine() throws {
        let max = LabFileLimits.standard.maxScalarBytes
        let lab = try drBasic
        let fits = lab.replacingOccurrences(of: "description: Direct routing, two real servers, round robin, ARP fix on",
                                            with: "description: " + String(repeating: "d", count: max))
        parses(Array(fits.utf8))
        let over = lab.replacingOccurrences(of: "description: Direct routing, two real servers, round robin, ARP fix on",
                                            with: "description: " + String(repeating: "d", count: max + 1))
        refused(over, line: 5, "values are at most \(max) bytes")
        // A folded block scalar that unfolds past the bound.
        refused("name: x\ndescription: >\n" + String(repeating: "  word word word\n", count: 5_000), line: 2, "values are at most")
        // A long line that is a comment is no value: only the file size bounds it.
        parses(Array((lab + "# " + String(repeating: "c", count: 900_000) + "\n").utf8))
    }

    // MARK: bytes

    @Test func tabsBomNulAndControlCharactersNameTheirLine() throws {
        let lab = try drBasic
        refused(lab.replacingOccurrences(of: "\n  rs1:", with: "\n\trs1:"), line: 12, "tabs")
        // A byte-order mark at the start is allowed; anywhere else it is an error at its line.
        parses(Array("\u{FEFF}\(lab)".utf8))
        refused(lab.replacingOccurrences(of: "\nmode: dr", with: "\n\u{FEFF}mode: dr"), line: 6, "not valid YAML")
        refused(lab.replacingOccurrences(of: "arp_fix: true", with: "arp_fix: tr\u{0}ue"), line: 8, "control characters")
        refused(lab.replacingOccurrences(of: "arp_fix: true", with: "arp_fix: tr\u{1B}ue"), line: 8, "control characters")
    }

    @Test func invalidUTF8NamesItsLineAndColumn() throws {
        let lab = Array(try drBasic.utf8)
        let line8 = lab.indices.filter { lab[$0] == 0x0A }[6] + 1   // first byte of line 8
        for bad: [UInt8] in [[0xC3, 0x28], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xFF], [0x80]] {
            var bytes = lab
            bytes.replaceSubrange(line8 + 3..<line8 + 3, with: bad)
            let e = refused(bytes, line: 8, "not UTF-8")
            #expect(e?.problem.contains("column 4") == true, "\(String(describing: e))")
        }
        // Cut in the middle of a character at the very end.
        refused(lab + [0xE2, 0x82], line: lab.split(separator: 0x0A).count + 1, "not UTF-8")
    }

    @Test func lineBreaksCountAsLibyamlCountsThem() throws {
        let lab = try drBasic
        // The same error on line 15 (an unclosed flow mapping), with LF, CR LF and CR line ends.
        let broken = lab.replacingOccurrences(of: "arp: dispatcher-only}", with: "arp: dispatcher-only") + "x: y\n"
        refused(broken, line: 16, "not valid YAML")
        refused(broken.replacingOccurrences(of: "\n", with: "\r\n"), line: 16, "not valid YAML")
        refused(broken.replacingOccurrences(of: "\n", with: "\r"), line: 16, "not valid YAML")
        parses(Array(lab.replacingOccurrences(of: "\n", with: "\r\n").utf8))
        // Positions: CR LF is one break; NEL, LS and PS are breaks too; columns count characters.
        let text = Array("a\r\nb\rc\u{85}d\u{2028}é\u{2029}f".utf8)
        #expect(LabFileLimits.position(ofByte: 0, in: text) == (1, 1))
        #expect(LabFileLimits.position(ofByte: 3, in: text) == (2, 1))
        #expect(LabFileLimits.position(ofByte: 5, in: text) == (3, 1))
        #expect(LabFileLimits.position(ofByte: 8, in: text) == (4, 1))
        #expect(LabFileLimits.position(ofByte: 12, in: text) == (5, 1))
        #expect(LabFileLimits.position(ofByte: 14, in: text) == (5, 2))
        #expect(LabFileLimits.position(ofByte: 17, in: text) == (6, 1))
    }

    @Test func aSecondDocumentIsRefusedAtItsStart() throws {
        refused(try drBasic + "---\nname: other\n", line: 16, "second YAML document")
    }

    @Test func anUnclosedFlowAtTheEndPointsAtTheLastLine() {
        refused("name: x\nnodes: [\n\n\n", line: 2, "at the end of the file")
        refused("name: x\r\nnodes: [\r\n", line: 2, "at the end of the file")
    }

    // MARK: --set

    @Test func overridesAreBoundedAndNameTheirSet() throws {
        let lab = Array(try drBasic.utf8)
        let deepKey = Array(repeating: "a", count: 100).joined(separator: ".") + "=1"
        var e = refused(lab, line: nil, "100 dotted parts", overrides: [deepKey])
        #expect(e?.file.hasPrefix("--set a.a.a.") == true)
        #expect(e?.file.hasSuffix("...") == true, "a long --set is shortened in the error")
        refused(lab, line: nil, "longer than 4096 bytes", overrides: ["description=" + String(repeating: "x", count: 5_000)])
        refused(lab, line: nil, "longer than 4096 bytes", overrides: [Array(repeating: "a", count: 100_000).joined(separator: ".") + "=1"])
        e = refused(lab, line: nil, "control character U+000A", overrides: ["description=two\nlines"])
        #expect(e?.file == "--set description=two\\nlines", "the --set is shown on one line")
        refused(lab, line: nil, "control character U+0000", overrides: ["scheduler=w\u{0}rr"])
        // 32 parts pass the bound and reach the validator (which names the key; the line is the
        // validator's to give, see FuzzOverrideTests).
        let (outcome, elapsed) = runLabPipeline(lab, file: Self.file, overrides: [Array(repeating: "traffic", count: 32).joined(separator: ".") + "=1"])
        #expect(elapsed < Self.quick)
        guard case .error(let e32) = outcome else { Issue.record("\(outcome)"); return }
        #expect(e32.key.hasPrefix("traffic.traffic"))
        // Within the bounds, overrides work as before.
        parses(lab, overrides: ["description=a\ttab is fine", "rs1.weight=3"])
    }
}
