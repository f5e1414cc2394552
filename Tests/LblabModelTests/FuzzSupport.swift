import Foundation
import Testing
@testable import LblabModel

/// SplitMix64: a tiny deterministic generator, so every run fuzzes the same cases and a
/// failure names a seed and case number that reproduce it.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The shipped lab files (`labs/*.yaml`, read at test time: a new lab file joins the corpus).
struct LabCorpus {
    var files: [(name: String, bytes: [UInt8])]

    static func shipped() throws -> LabCorpus {
        let names = repoLabNames()
        let files = try names.map { (name: $0, bytes: Array(try Data(contentsOf: URL(fileURLWithPath: labPath($0))))) }
        return LabCorpus(files: files)
    }

    /// Every line of every file, for splicing.
    var lines: [[UInt8]] { files.flatMap { $0.bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init) } }

    /// The dotted keys of the corpus' flow-style entries (`service.vip`, `nodes.rs1.weight`) and
    /// their short forms (`rs1.weight`), as `--set` takes them.
    var dottedKeys: [String] {
        var out = Set<String>()
        for f in files {
            var parent: String? = nil
            for line in String(decoding: f.bytes, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
                let indented = line.hasPrefix(" ")
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                guard let colon = trimmed.firstIndex(of: ":") else { continue }
                let key = String(trimmed[..<colon])
                if !indented { parent = key; out.insert(key) }
                guard let open = trimmed.firstIndex(of: "{"), let close = trimmed.lastIndex(of: "}"), open < close else { continue }
                let inner = trimmed[trimmed.index(after: open)..<close].split(separator: ",")
                    .compactMap { $0.split(separator: ":").first?.trimmingCharacters(in: .whitespaces) }
                for k in inner {
                    if indented, let parent {
                        out.insert("\(parent).\(key).\(k)")
                        out.insert("\(key).\(k)")
                    } else if !indented {
                        out.insert("\(key).\(k)")
                    }
                }
            }
        }
        return out.sorted()
    }

    /// Words that stand before a `:` (keys) and after one (values) anywhere in the corpus.
    var keysAndValues: (keys: [String], values: [String]) {
        var keys = Set<String>(), values = Set<String>()
        for f in files {
            let text = String(decoding: f.bytes, as: UTF8.self)
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                let parts = line.split(whereSeparator: { "{},".contains($0) })
                for p in parts {
                    let kv = p.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                    if let k = kv.first, !k.isEmpty, !k.contains(" ") { keys.insert(k) }
                    if kv.count == 2, !kv[1].isEmpty { values.insert(kv[1]) }
                }
            }
        }
        return (keys.sorted(), values.sorted())
    }
}

/// Fragments that mean something to YAML, to libyaml's reader or to the validator.
let yamlTokens: [String] = [
    "[", "]", "{", "}", ",", ":", ": ", "- ", "? ", "&a ", "*a", "&b [", "*b, ", "!!str ", "!!int ", "!!binary ", "!x ", "!<tag:x> ",
    "|", "|-\n  ", ">", ">+\n", "#", " # c", "'", "\"", "\"\\u0000\"", "\"\\x\"", "\t", "\r", "\r\n", "\n", "\n  ", "\n    ", "\n- ",
    "\u{FEFF}", "\0", "\u{85}", "\u{2028}", "\u{2029}", "\u{7F}", "\u{1B}", "---\n", "--- ", "...\n", "%YAML 1.1\n", "%TAG ! x\n", "<<: ", "<<: *a",
    "~", "null", "true", "no", "0x1F", "0o17", "1e9", ".inf", "-1", "0", "65536", "99999999999999999999999", "3.5",
    "198.51.100.300/24", "198.51.100.100", "198.51.100.0/24", "10.0.0.1/31", "::1", "::ffff:1.2.3.4/64", "1.2.3.4/33", "1.2.3",
    "weight", "role", "real", "client", "dispatcher", "address", "forward", "masq", "tunnel", "route", "service", "nodes",
    "traffic", "expect", "scheduler", "wrr", "sh", "lc", "connections", "mode", "nat", "tun", "name", "arp_fix",
    "switch", "br0", "é", "\u{1F600}", "\\", "%", "@", "`", "=", "..",
]

/// Values for `--set` (besides the corpus' own values).
let overrideValues: [String] = [
    "", " ", "0", "-1", "1", "3", "65535", "65536", "60000", "60001", "99999999999999999999", "1e3", "0.5", "0", "nan", "inf", "-0",
    "true", "false", "yes", "off", "TRUE", "rr", "wrr", "sh", "dh", "lc", "sed", "x", "route", "masq", "tunnel", "client", "real",
    "dispatcher", "dr", "nat", "tun", "tcp", "udp", "198.51.100.100", "198.51.100.2", "198.51.100.21/24", "198.51.100.0/24",
    "198.51.100.255/24", "10.0.0.1/24", "1.2.3.4/7", "1.2.3.4/31", "::1", "fe80::1/64", "[a, b]", "{a: b}", "*a", "&a x", "- x",
    "a: b", "#", "é", "\u{1F600}", "\t", "x=y", "equal", "weights", "none", "mode", "dispatcher-only", "scheduler",
]

/// Deterministic mutations of lab files.
struct Mutator {
    var rng: SplitMix64
    let lines: [[UInt8]]

    init(seed: UInt64, corpus: LabCorpus) {
        rng = SplitMix64(seed: seed)
        lines = corpus.lines
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
    mutating func pick<T>(_ xs: [T]) -> T { xs[int(0...xs.count - 1)] }

    /// One to four mutations of `input`.
    mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var b = input
        for _ in 0..<int(1...4) { b = mutateOnce(b) }
        return b
    }

    mutating func mutateOnce(_ b: [UInt8]) -> [UInt8] {
        var b = b
        let at = b.isEmpty ? 0 : int(0...b.count)
        switch int(0...11) {
        case 0:   // one byte becomes any byte (invalid UTF-8, control characters, indicators)
            if !b.isEmpty { b[min(at, b.count - 1)] = UInt8(int(0...255)) }
        case 1, 2:   // a YAML token
            b.insert(contentsOf: Array(pick(yamlTokens).utf8), at: at)
        case 3:   // a deletion
            if !b.isEmpty { let from = min(at, b.count - 1); b.removeSubrange(from..<min(b.count, from + int(1...16))) }
        case 4:   // a range copied elsewhere
            if !b.isEmpty {
                let from = int(0...b.count - 1), to = min(b.count, from + int(1...64))
                b.insert(contentsOf: Array(b[from..<to]), at: int(0...b.count))
            }
        case 5:   // two lines swapped
            var ls = b.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
            if ls.count > 1 { ls.swapAt(int(0...ls.count - 1), int(0...ls.count - 1)) }
            b = Array(ls.joined(separator: [0x0A]))
        case 6:   // a line indented more or less, with spaces or a tab
            var ls = b.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
            if !ls.isEmpty {
                let i = int(0...ls.count - 1)
                switch int(0...2) {
                case 0: ls[i].insert(contentsOf: [UInt8](repeating: 0x20, count: int(1...6)), at: 0)
                case 1: ls[i] = Array(ls[i].drop { $0 == 0x20 })
                default: ls[i].insert(0x09, at: 0)
                }
            }
            b = Array(ls.joined(separator: [0x0A]))
        case 7:   // truncated
            b = Array(b.prefix(at))
        case 8:   // a line of another lab file
            var ls = b.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
            let line = pick(lines)
            if ls.isEmpty || int(0...1) == 0 { ls.insert(line, at: int(0...ls.count)) } else { ls[int(0...ls.count - 1)] = line }
            b = Array(ls.joined(separator: [0x0A]))
        case 9:   // a token repeated: nesting, many entries, long values
            let unit = pick(["[", "{", "{a: ", "- ", "a: ", "x", "*a, ", "&a [", "\n ", "9", "é"])
            b.insert(contentsOf: Array(String(repeating: unit, count: int(1...2_000)).utf8), at: at)
        case 10:   // one word replaced by a token
            let isWord: (UInt8) -> Bool = { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2E || $0 == 0x2F || $0 == 0x5F || $0 == 0x2D }
            var s = min(at, b.count), e = s
            while s > 0, isWord(b[s - 1]) { s -= 1 }
            while e < b.count, isWord(b[e]) { e += 1 }
            b.replaceSubrange(s..<e, with: Array(pick(yamlTokens).utf8))
        default:   // a byte flipped
            if !b.isEmpty { let i = min(at, b.count - 1); b[i] ^= UInt8(1) << UInt8(int(0...7)) }
        }
        return b
    }

    /// A `--set KEY=VALUE`: mostly a real key of the lab (so validation is reached) with a
    /// plausible, corpus or mutated value; sometimes a combined, mutated or malformed one.
    mutating func override(dotted: [String], keys: [String], values: [String]) -> String {
        var key: String
        switch int(0...9) {
        case 0, 1: key = pick(Array(LabFile.overrideAliases.keys).sorted())
        case 2, 3, 4, 5: key = pick(dotted)
        case 6: key = "\(pick(keys)).\(pick(keys))"
        case 7: key = "nodes.\(pick(keys)).\(pick(keys))"
        case 8: key = (0..<int(1...40)).map { _ in pick(keys) }.joined(separator: ".")
        default: key = String(decoding: mutate(Array(pick(keys).utf8)), as: UTF8.self)
        }
        if int(0...7) == 0 { key = String(decoding: mutateOnce(Array(key.utf8)), as: UTF8.self) }
        var value: String
        switch int(0...2) {
        case 0: value = pick(overrideValues)
        case 1: value = pick(values)
        default: value = plausibleValue(for: key, values: values)
        }
        if int(0...4) == 0 { value = String(decoding: mutateOnce(Array(value.utf8)), as: UTF8.self) }
        switch int(0...19) {
        case 0: return value                   // no '='
        case 1: return "=\(value)"             // no key
        case 2: return "\(key)=\(value)=\(value)"
        default: return "\(key)=\(value)"
        }
    }
}

extension Mutator {
    /// A value of the kind `key` takes (its last part decides), so some overrides are accepted.
    mutating func plausibleValue(for key: String, values: [String]) -> String {
        let last = String(key.split(separator: ".").last ?? "")
        let addresses = values.filter { $0.contains("/") }
        let vips = values.filter { !$0.contains("/") && $0.split(separator: ".").count == 4 }
        let table: [String: [String]] = [
            "weight": ["0", "1", "2", "5", "65535"], "address": addresses, "vip": vips,
            "scheduler": ["rr", "wrr", "lc", "sh"], "port": ["80", "8080", "1", "65535"],
            "connections": ["1", "50", "60000"], "concurrency": ["1", "8", "512"], "timeout": ["0.5", "5", "300"],
            "distribution": ["scheduler", "equal", "weights", "none"], "path": ["mode", "none"], "arp": ["dispatcher-only", "none"],
            "arp_fix": ["true", "false"], "forward": ["route", "masq"], "role": ["client", "real", "dispatcher"],
            "mode": ["dr"], "protocol": ["tcp"], "name": ["lab2", "x"], "description": ["a lab", ""],
        ]
        guard let choices = table[last], !choices.isEmpty else { return pick(values) }
        return pick(choices)
    }
}

/// What one fuzz case did.
enum FuzzOutcome {
    case parsed
    case error(LabFileError)
    case otherError(any Error)
}

/// CPU time of the calling thread. Bounds are on CPU time, not wall-clock time: several people
/// share this machine's two cores, and a loaded machine must not fail a bound that a hang or
/// a blow-up would (both burn CPU; the pipeline never sleeps or waits).
func threadCPUTime() -> Duration {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return .seconds(ts.tv_sec) + .nanoseconds(ts.tv_nsec)
}

/// Runs the `lblab show FILE` pipeline in-process: bytes → text (size, UTF-8) → parse (limits,
/// YAML, overrides, validation). Returns the outcome and the CPU time it took.
func runLabPipeline(_ bytes: [UInt8], file: String, overrides: [String] = []) -> (FuzzOutcome, Duration) {
    let start = threadCPUTime()
    var outcome = FuzzOutcome.parsed
    do {
        let text = try LabFileLimits.standard.text(from: bytes, file: file)
        _ = try LabFile.parse(text, file: file, overrides: overrides)
    } catch let e as LabFileError {
        outcome = .error(e)
    } catch {
        outcome = .otherError(error)
    }
    return (outcome, threadCPUTime() - start)
}

/// An error's shape with the quoted values masked: one entry per kind of error.
func errorKind(_ e: LabFileError) -> String {
    var masked = "", quoted = false
    for c in e.problem {
        if c == "'" { quoted.toggle(); masked.append(quoted ? "'…" : "'"); continue }
        if !quoted { masked.append(c) }
    }
    let key = e.key.split(separator: ".").map { $0 == "nodes" || LabValidatorKeys.all.contains(String($0)) ? String($0) : "<name>" }.joined(separator: ".")
    return "\(key.isEmpty ? "(top level)" : key): \(masked)"
}

/// Key names the lab format uses (so node names can be masked in error kinds).
enum LabValidatorKeys {
    static let all: Set<String> = Set(LabFile.overrideAliases.keys).union(LabFile.overrideAliases.values.flatMap { $0.split(separator: ".").map(String.init) })
        .union(["name", "description", "mode", "service", "arp_fix", "nodes", "traffic", "expect", "role", "address", "weight", "forward", "protocol"])
}

/// `s` with control characters escaped (`\r`, `\0`, `\u{1B}`), so a report stays on its lines.
func printable(_ s: String) -> String {
    s.split(separator: "\n", omittingEmptySubsequences: false)
        .map { $0.unicodeScalars.map { $0.escaped(asASCII: false) }.joined() }
        .joined(separator: "\n")
}
