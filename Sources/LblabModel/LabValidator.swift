import LblabTypes

/// Turns a lab tree into a `LabSpec`, or the first error with its file, line, key and what is
/// valid. The stages live in extensions: nodes (`NodeParsing.swift`), services, traffic and
/// expectations (`ServiceParsing.swift`), and the checks across them (`TopologyChecks.swift`).
struct LabValidator {
    let file: String
    let defaultName: String

    static let topKeys = ["name", "description", "mode", "segments", "service", "services", "arp_fix", "nodes", "traffic", "expect", "dns", "faults", "sync"]
    /// The segment a lab file without `segments:` has.
    static let defaultSegment = "lan"

    // MARK: - Errors

    /// An error about a value (`node`), at its line; a value set by `--set` names the override instead.
    func fail(_ key: String, _ node: LabTree?, _ problem: String, valid: String? = nil) -> LabFileError {
        LabFileError(file: node?.setBy ?? file, key: key, line: node?.setBy == nil ? (node?.line ?? 1) : nil, problem: problem, valid: valid)
    }

    /// An error about a key itself (its name, or what is under it as a whole), at the key's line.
    func fail(key: String, line: Int?, _ problem: String, valid: String? = nil) -> LabFileError {
        LabFileError(file: file, key: key, line: line ?? 1, problem: problem, valid: valid)
    }

    // MARK: - Typed reads

    func mapping(_ key: String, _ node: LabTree?, allowed: [String]) throws -> LabTree? {
        guard let node else { return nil }
        guard let pairs = node.pairs else {
            throw fail(key, node, "must be a mapping", valid: "keys \(allowed.joined(separator: ", "))")
        }
        var seen = Set<String>()
        for (k, line, v) in pairs {
            let full = key.isEmpty ? k : "\(key).\(k)"
            if !allowed.contains(k) {
                throw v.setBy.map { _ in fail(full, v, "unknown key '\(k)'", valid: allowed.joined(separator: ", ")) }
                    ?? fail(key: full, line: line, "unknown key '\(k)'", valid: allowed.joined(separator: ", "))
            }
            if !seen.insert(k).inserted { throw fail(key: full, line: line, "given twice") }
        }
        return node
    }

    func string(_ key: String, _ node: LabTree?) throws -> String? {
        guard let node else { return nil }
        guard let s = node.scalar else { throw fail(key, node, "must be a single value") }
        return s
    }

    func required(_ key: String, _ parent: LabTree, _ child: String, valid: String) throws -> LabTree {
        guard let v = parent[child] else {
            throw fail(key.isEmpty ? child : "\(key).\(child)", parent, "missing", valid: valid)
        }
        return v
    }

    func int(_ key: String, _ node: LabTree?, _ range: ClosedRange<Int>, default def: Int) throws -> Int {
        guard let s = try string(key, node) else { return def }
        guard let v = Int(s), range.contains(v) else {
            throw fail(key, node, "'\(s)' is not a whole number in \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    func choice<T: RawRepresentable & CaseIterable>(_ key: String, _ node: LabTree?, default def: T) throws -> T where T.RawValue == String {
        guard let s = try string(key, node) else { return def }
        guard let v = T(rawValue: s) else {
            // "unknown scheduler 'rrr'": the key's last part names what it is.
            let noun = key.split(separator: ".").last.map { String($0).replacingOccurrences(of: "_", with: " ") } ?? "value"
            throw fail(key, node, "unknown \(noun) '\(s)'", valid: T.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return v
    }

    func bool(_ key: String, _ node: LabTree?, default def: Bool) throws -> Bool {
        guard let s = try string(key, node) else { return def }
        switch s.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw fail(key, node, "'\(s)' is not a boolean", valid: "true, false")
        }
    }

    /// An IPv4 or IPv6 address.
    func address(_ key: String, _ node: LabTree, example: String) throws -> IPAddress {
        guard let text = try string(key, node), let a = IPAddress(text) else {
            throw fail(key, node, "'\(node.scalar ?? "")' is not an IP address", valid: "e.g. \(example) or 2001:db8::100")
        }
        return a
    }

    /// A list of scalars: a sequence, or one scalar.
    func list(_ key: String, _ node: LabTree?) throws -> [(text: String, node: LabTree)]? {
        guard let node else { return nil }
        if let s = node.scalar { return [(s, node)] }
        guard let items = node.items else { throw fail(key, node, "must be a list") }
        return try items.enumerated().map { i, item in
            guard let s = item.scalar else { throw fail("\(key)[\(i)]", item, "must be a single value") }
            return (s, item)
        }
    }

    // MARK: - The lab

    func validate(_ tree: LabTree) throws -> LabSpec {
        let top = try mapping("", tree, allowed: Self.topKeys)!

        let name = try string("name", top["name"]) ?? defaultName
        if !isValidName(name, maxLength: 24) {
            throw fail("name", top["name"], "'\(name)' cannot name a lab", valid: "1-24 of a-z, 0-9 and '-', starting with a letter")
        }
        let mode: LabMode = try choice("mode", top["mode"], default: .dr)
        let segments = try parseSegments(top)
        let arpFix = try bool("arp_fix", top["arp_fix"], default: true)

        let parsed = try parseNodes(top, segments: segments, mode: mode)
        if !mode.usesIPVS {
            return try validateDNSLab(top, name: name, mode: mode, segments: segments, arpFix: arpFix, parsed: parsed)
        }
        try rejectDNSKeys(top)
        let services = try parseServices(top, nodes: parsed)
        let nodes = applyModeDefaults(parsed, services: services)
        let traffic = try parseTraffic(top, nodes: nodes, services: services)
        let expect = try parseExpect(top, services: services, traffic: traffic)

        var spec = LabSpec(name: name, description: try string("description", top["description"]) ?? "", mode: mode,
                           segments: segments, nodes: nodes, services: services, arpFix: arpFix, traffic: traffic,
                           expect: expect, source: nil)
        try checkTopology(spec, top: top)
        try checkVRRP(&spec, top: top, explicitInterfaces: Set(parsed.filter(\.vrrpInterfaceGiven).map(\.spec.name)))
        if spec.usesVRRP {
            // A VRRP lab's test applies them on a thread of their own, at their times (VRRPTest.swift):
            // `down` stops a dispatcher's keepalived, `unplug` pulls its cables. No pacing needed.
            spec.faults = try parseFaults(top, nodes: nodes, serverRole: .dispatcher)
            return spec
        }
        spec.faults = try parseFaults(top, nodes: nodes, serverRole: .real)
        if spec.faults != nil, let unpaced = traffic.phases.first(where: { $0.intervalMillis == nil }) {
            // The faults act between paced connections: a phase sent as fast as it can would be over before them.
            throw fail(key: "faults", line: top.keyLine("faults"),
                       "faults act during paced traffic; traffic phase \(unpaced.name) is not paced",
                       valid: "traffic.interval_ms (e.g. 20: one connection every 20 ms), on every phase")
        }
        return spec
    }

    /// `segments:` a mapping of names (values empty or `{}`), or a list of names; default one segment.
    func parseSegments(_ top: LabTree) throws -> [SegmentSpec] {
        guard let tree = top["segments"] else { return [SegmentSpec(name: Self.defaultSegment)] }
        var names: [(String, Int?)] = []
        if let pairs = tree.pairs {
            for (k, line, v) in pairs {
                _ = try mapping("segments.\(k)", v.scalar == nil ? v : nil, allowed: [])
                if let s = v.scalar, !s.isEmpty, s != "null", s != "~" {
                    throw fail("segments.\(k)", v, "a segment takes no settings (yet)", valid: "{} or nothing")
                }
                names.append((k, line))
            }
        } else if let items = try list("segments", tree) {
            names = items.map { ($0.text, $0.node.line) }
        }
        guard !names.isEmpty else { throw fail("segments", tree, "must name at least one segment", valid: "e.g. segments: [front, back]") }
        var seen = Set<String>()
        return try names.map { name, line in
            if !isValidName(name, maxLength: 12) || name.contains("-") {
                throw fail(key: "segments.\(name)", line: line, "'\(name)' cannot name a segment", valid: "1-12 of a-z and 0-9, starting with a letter")
            }
            if !seen.insert(name).inserted { throw fail(key: "segments.\(name)", line: line, "segment given twice") }
            return SegmentSpec(name: name)
        }
    }

    func isValidName(_ s: String, maxLength: Int) -> Bool {
        guard let f = s.first, f.isLetter, f.isASCII, s.count <= maxLength else { return false }
        return s.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" } && !s.hasSuffix("-")
    }
}
