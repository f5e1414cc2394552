import Foundation
import LblabTypes
import Yams

/// Reads lab files (YAML) into validated `LabSpec`s.
public enum LabFile {
    /// Parses and validates `text`; `file` names the source in errors. `overrides` are
    /// `KEY=VALUE` settings (`scheduler=wrr`, `arp_fix=false`, `rs1.weight=3`, or any dotted
    /// key of the file) applied before validation.
    public static func parse(_ text: String, file: String, overrides: [String] = []) throws -> LabSpec {
        try LabFileLimits.standard.check(text, file: file)
        let node: Node?
        do {
            // The basic resolver: every scalar stays a string (the validator types them), and
            // the default resolver's regular expressions are never compiled (a tenth of a
            // command's start-up time).
            node = try Yams.compose(yaml: text, .basic)
        } catch let error as YamlError {
            throw LabFileError(file: file, key: "", line: 1, problem: "not valid YAML: \(error)")
        }
        guard let node, case .mapping = node else {
            // An empty file has no node: point at its first line; anything else at where it starts.
            throw LabFileError(file: file, key: "", line: node?.mark?.line ?? 1, problem: "a lab file is a YAML mapping",
                               valid: "keys \(LabValidator.topKeys.joined(separator: ", "))")
        }
        var tree = LabTree(node)
        for o in overrides { try apply(override: o, to: &tree, file: file) }
        let stem = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        return try LabValidator(file: file, defaultName: stem).validate(tree)
    }

    /// Reads and validates the lab file at `path`.
    public static func load(_ path: String, overrides: [String] = []) throws -> LabSpec {
        var spec = try parse(try LabFileLimits.standard.read(path), file: path, overrides: overrides)
        spec.source = URL(fileURLWithPath: path).standardizedFileURL.path
        return spec
    }

    /// Short keys accepted by `--set` and where they live in the file. Service keys set every
    /// service of a file with a `services:` list.
    public static let overrideAliases: [String: String] = [
        "scheduler": "service.scheduler", "vip": "service.vip", "port": "service.port", "protocol": "service.protocol",
        "connections": "traffic.connections", "concurrency": "traffic.concurrency", "timeout": "traffic.timeout",
        "client": "traffic.client", "distribution": "expect.distribution", "path": "expect.path", "arp": "expect.arp",
    ]

    static func apply(override: String, to tree: inout LabTree, file: String) throws {
        try LabFileLimits.standard.check(override: override)
        let origin = "--set \(override)"
        guard let eq = override.firstIndex(of: "="), eq != override.startIndex else {
            throw LabFileError(file: origin, key: override, problem: "expected KEY=VALUE",
                               valid: "e.g. scheduler=wrr, arp_fix=false, rs1.weight=3")
        }
        var key = String(override[..<eq])
        let value = String(override[override.index(after: eq)...])
        if let full = overrideAliases[key] { key = full }
        var path = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !path.contains(where: \.isEmpty) else {
            throw LabFileError(file: origin, key: key, problem: "'\(key)' is not a dotted key", valid: "e.g. rs1.weight, service.scheduler, traffic.connections")
        }
        if path[0] == "service", tree["service"] == nil, tree["services"]?.items != nil {
            path = ["services", "*"] + path.dropFirst()
        }
        // `<node>.weight` is short for `nodes.<node>.weight`, members of a `count:` group included.
        let nodeNames = (tree["nodes"]?.pairs?.map(\.key) ?? []) + Array(memberNames(tree).keys)
        if path.count >= 3, path[0] == "nodes", !nodeNames.contains(path[1]) {
            throw LabFileError(file: origin, key: key, problem: "no node named '\(path[1])' in \(file)",
                               valid: (tree["nodes"]?.pairs?.map(\.key) ?? []).joined(separator: ", "))
        }
        if path.count >= 2, !LabValidator.topKeys.contains(path[0]) {
            guard nodeNames.contains(path[0]) else {
                throw LabFileError(file: origin, key: key, problem: "no node named '\(path[0])' in \(file)",
                                   valid: (tree["nodes"]?.pairs?.map(\.key) ?? []).joined(separator: ", "))
            }
            path.insert("nodes", at: 0)
        }
        guard tree.set(path[...], to: value, setBy: origin) else {
            throw LabFileError(file: origin, key: key, problem: "\(key) names an item the lab file does not have",
                               valid: "an index of the list, or * for every item")
        }
    }

    /// Member name -> group name for the `count:` groups of a (not yet validated) tree.
    static func memberNames(_ tree: LabTree) -> [String: String] {
        guard let nodes = tree["nodes"] else { return [:] }
        return LabValidator(file: "", defaultName: "").groupMembers(nodes)
    }
}
