import Foundation
// libyaml as Yams bundles it. Its parser is iterative (explicit state stacks), unlike Yams'
// composer and `LabTree`, which recurse once per nesting level and expand every alias.
internal import CYaml

/// Bounds on what a lab file or a `--set` may make lblab do, checked before anything recursive
/// sees the input. Lab files are shared (course material, a colleague's repository) and lblab
/// runs as root: a small hostile file must fail fast with `file:line: ...`, not exhaust memory
/// (an alias bomb) or the stack (deep nesting).
///
/// The structural checks run libyaml's own event parser over the text once, so they see exactly
/// what Yams will compose, and stop at the first event past a bound: the recursion that follows
/// (Yams' `compose`, `LabTree`, the validator) only ever sees a document inside the bounds.
public struct LabFileLimits: Sendable, Equatable {
    /// Largest lab file, in bytes. The shipped labs are about 1 KB.
    public var maxBytes: Int
    /// Deepest nesting of mappings and sequences (flow `[`/`{` or block indentation alike).
    /// A lab file needs 3 or 4 levels.
    public var maxDepth: Int
    /// Most YAML nodes (scalars, mappings, sequences, keys included) in one file.
    public var maxNodes: Int
    /// Longest single value (a scalar, after YAML unescaping), in bytes.
    public var maxScalarBytes: Int
    /// Longest `--set KEY=VALUE`, in bytes.
    public var maxOverrideBytes: Int

    public init(maxBytes: Int, maxDepth: Int, maxNodes: Int, maxScalarBytes: Int, maxOverrideBytes: Int) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
        self.maxNodes = maxNodes
        self.maxScalarBytes = maxScalarBytes
        self.maxOverrideBytes = maxOverrideBytes
    }

    /// The bounds `lblab` applies.
    public static let standard = LabFileLimits(
        maxBytes: 1 << 20, maxDepth: 32, maxNodes: 10_000, maxScalarBytes: 64 << 10, maxOverrideBytes: 4096)

    // MARK: reading a file

    /// Reads the lab file at `path`: at most `maxBytes` (a larger file, `/dev/zero` or a pipe that
    /// never ends is refused after `maxBytes + 1` bytes), and only UTF-8 text.
    public func read(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw LabFileError(file: path, key: "", problem: "is a directory, not a lab file", valid: "a lab name from `lblab list` or a path to a .yaml file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw LabFileError(file: path, key: "", problem: "cannot read the file", valid: "a lab name from `lblab list` or a path to a .yaml file")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maxBytes + 1) ?? Data()
        } catch {
            throw LabFileError(file: path, key: "", problem: "cannot read the file: \(error.localizedDescription)",
                               valid: "a lab name from `lblab list` or a path to a .yaml file")
        }
        return try text(from: data, file: path)
    }

    /// The text of a lab file's bytes: refused if longer than `maxBytes` or not UTF-8.
    public func text(from bytes: some Collection<UInt8>, file: String) throws -> String {
        try checkSize(bytes, file: file)
        var offset = 0
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        decoding: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let s): offset += UTF8.width(s)
            case .emptyInput: break decoding
            case .error:
                let bad = bytes.dropFirst(offset).first.map { String(format: "0x%02X", $0) } ?? "end of file"
                let (line, column) = Self.position(ofByte: offset, in: bytes)
                throw LabFileError(file: file, key: "", line: line,
                                   problem: "not UTF-8 text: byte \(bad) at column \(column) starts no valid UTF-8 character",
                                   valid: "a text file saved as UTF-8")
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: checking text

    /// Checks `text` against every bound before it is composed. Throws a `LabFileError` with the
    /// file and the line of the first thing past a bound, or of the first YAML syntax error.
    public func check(_ text: String, file: String) throws {
        var bytes = Array(text.utf8)
        try checkSize(bytes, file: file)
        let count = bytes.count
        bytes.append(0)   // never an empty buffer: libyaml asserts a non-NULL input
        try bytes.withUnsafeBufferPointer { buffer in
            try checkEvents(buffer.baseAddress!, count: count, file: file)
        }
    }

    /// Checks one `--set KEY=VALUE` before it touches the lab tree.
    public func check(override: String) throws {
        let source = Self.source(ofOverride: override)
        func refuse(_ problem: String) -> LabFileError {
            LabFileError(file: source, key: "", problem: problem, valid: "e.g. scheduler=wrr, arp_fix=false, rs1.weight=3")
        }
        if override.utf8.count > maxOverrideBytes {
            throw refuse("longer than \(maxOverrideBytes) bytes (\(override.utf8.count))")
        }
        if let c = override.unicodeScalars.first(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }) {
            throw refuse("contains the control character U+\(String(format: "%04X", c.value))")
        }
        let key = override.prefix { $0 != "=" }
        let parts = key.split(separator: ".", omittingEmptySubsequences: false).count
        if parts > maxDepth {
            throw refuse("the key has \(parts) dotted parts; at most \(maxDepth)")
        }
    }

    /// How errors from `check(override:)` name a `--set`: its first 80 characters, with control
    /// characters escaped, so the error stays on one line.
    public static func source(ofOverride override: String) -> String {
        let shown = override.count > 80 ? override.prefix(80) + "..." : Substring(override)
        return "--set " + shown.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? $0.escaped(asASCII: false) : String($0) }.joined()
    }

    // MARK: internals

    private func checkSize(_ bytes: some Collection<UInt8>, file: String) throws {
        guard bytes.count > maxBytes else { return }
        let (line, _) = Self.position(ofByte: maxBytes, in: bytes)
        throw LabFileError(file: file, key: "", line: line,
                           problem: "the file is larger than lblab reads (\(maxBytes) bytes; the limit falls on this line)",
                           valid: "a lab file of at most \(maxBytes / 1024) KiB")
    }

    /// One pass of libyaml's event parser: depth, node count, value size, aliases, documents.
    private func checkEvents(_ input: UnsafePointer<UInt8>, count: Int, file: String) throws {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw LabFileError(file: file, key: "", line: 1, problem: "out of memory while reading the file")
        }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_input_string(&parser, input, count)

        var depth = 0, nodes = 0, documents = 0
        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else {
                throw syntaxError(parser, input: UnsafeBufferPointer(start: input, count: count), file: file)
            }
            defer { yaml_event_delete(&event) }
            let line = Int(event.start_mark.line) + 1
            func refuse(_ problem: String, valid: String? = nil) -> LabFileError {
                LabFileError(file: file, key: "", line: line, problem: problem, valid: valid)
            }
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 {
                    throw refuse("a second YAML document starts here; a lab file holds one", valid: "remove the `---` line and what follows, or split the file")
                }
            case YAML_ALIAS_EVENT:
                let name = event.data.alias.anchor.map { String(cString: $0) } ?? ""
                throw refuse("the YAML alias '*\(name)' is not allowed in lab files (an alias can expand a small file without bound)",
                             valid: "write the value out where the alias stands")
            case YAML_MAPPING_START_EVENT, YAML_SEQUENCE_START_EVENT:
                depth += 1
                nodes += 1
                if depth > maxDepth {
                    throw refuse("nested more than \(maxDepth) levels deep (a lab file needs about 4)", valid: "at most \(maxDepth) levels of mappings and lists")
                }
            case YAML_MAPPING_END_EVENT, YAML_SEQUENCE_END_EVENT:
                depth -= 1
            case YAML_SCALAR_EVENT:
                nodes += 1
                if event.data.scalar.length > maxScalarBytes {
                    throw refuse("a value of \(event.data.scalar.length) bytes starts here; values are at most \(maxScalarBytes) bytes")
                }
            default:
                break
            }
            if nodes > maxNodes {
                throw refuse("more than \(maxNodes) YAML values (keys, values and lists) by this line", valid: "a lab file under \(maxNodes) values")
            }
        }
    }

    /// libyaml's error as a `LabFileError` at the line it names.
    private func syntaxError(_ parser: yaml_parser_t, input: UnsafeBufferPointer<UInt8>, file: String) -> LabFileError {
        // At the end of the input libyaml's marks are past the last line (it forces a new line at
        // the end of the stream): such errors point at the last line with content instead.
        var end = input.count
        while end > 0, input[end - 1] == 0x0A || input[end - 1] == 0x0D { end -= 1 }
        let lastLine = end == 0 ? 1 : Self.position(ofByte: end - 1, in: input).line
        var atEnd = false
        func clamp(_ line: Int) -> Int {
            if line > lastLine { atEnd = true; return lastLine }
            return line
        }
        let problem = parser.problem.map { String(cString: $0) } ?? "unreadable input"
        var line: Int, column: Int
        var text: String
        switch parser.error {
        case YAML_READER_ERROR:
            (line, column) = Self.position(ofByte: parser.problem_offset, in: input)
            text = problem
            if parser.problem_value >= 0 { text += String(format: " (0x%02X)", parser.problem_value) }
        case YAML_MEMORY_ERROR:
            (line, column) = (Int(parser.mark.line) + 1, Int(parser.mark.column) + 1)
            text = "out of memory"
        default:
            (line, column) = (Int(parser.problem_mark.line) + 1, Int(parser.problem_mark.column) + 1)
            text = problem
            if let context = parser.context.map({ String(cString: $0) }) {
                text = "\(context) (from line \(clamp(Int(parser.context_mark.line) + 1))): \(problem)"
            }
        }
        line = clamp(line)
        var valid: String? = nil
        if problem.contains("cannot start any token"), Self.byte(at: line, column: column, in: input) == UInt8(ascii: "\t") {
            valid = "spaces for indentation; YAML does not allow tabs there"
        }
        text += atEnd ? " at the end of the file" : " at column \(column)"
        return LabFileError(file: file, key: "", line: line, problem: "not valid YAML: \(text)", valid: valid)
    }

    /// Line and column (1-based) of byte `offset`, counting line breaks as libyaml does:
    /// LF, CR LF, a lone CR, and U+0085, U+2028, U+2029.
    static func position(ofByte offset: Int, in bytes: some Collection<UInt8>) -> (line: Int, column: Int) {
        var line = 1, column = 1, previous: UInt8 = 0, before: UInt8 = 0, i = 0
        for b in bytes {
            if i >= offset { break }
            switch b {
            case 0x0A where previous == 0x0D: column = 1                  // the LF of CR LF
            case 0x0A, 0x0D: line += 1; column = 1
            case 0x85 where previous == 0xC2: line += 1; column = 1       // NEL
            case 0xA8 where previous == 0x80 && before == 0xE2,
                 0xA9 where previous == 0x80 && before == 0xE2: line += 1; column = 1   // LS, PS
            default: if b & 0xC0 != 0x80 { column += 1 }               // count characters, not bytes
            }
            before = previous
            previous = b
            i += 1
        }
        return (line, column)
    }

    private static func byte(at line: Int, column: Int, in input: UnsafeBufferPointer<UInt8>) -> UInt8? {
        var l = 1, c = 1
        for b in input {
            if l == line && c == column { return b }
            if b == 0x0A { l += 1; c = 1 } else if b & 0xC0 != 0x80 { c += 1 }
            if l > line { return nil }
        }
        return nil
    }
}
