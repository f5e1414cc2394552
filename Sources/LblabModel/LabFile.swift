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
            throw LabFileError(file: file, key: "", problem: "not valid YAML: \(error)")
        }
        guard let node, case .mapping = node else {
            throw LabFileError(file: file, key: "", problem: "a lab file is a YAML mapping", valid: "keys \(LabValidator.topKeys.joined(separator: ", "))")
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

    /// Short keys accepted by `--set` and where they live in the file.
    public static let overrideAliases: [String: String] = [
        "scheduler": "service.scheduler", "vip": "service.vip", "port": "service.port",
        "connections": "traffic.connections", "concurrency": "traffic.concurrency", "timeout": "traffic.timeout",
        "distribution": "expect.distribution", "path": "expect.path", "arp": "expect.arp",
    ]

    static func apply(override: String, to tree: inout LabTree, file: String) throws {
        try LabFileLimits.standard.check(override: override)
        guard let eq = override.firstIndex(of: "="), eq != override.startIndex else {
            throw LabFileError(file: "--set \(override)", key: override, problem: "expected KEY=VALUE",
                               valid: "e.g. scheduler=wrr, arp_fix=false, rs1.weight=3")
        }
        var key = String(override[..<eq])
        let value = String(override[override.index(after: eq)...])
        if let full = overrideAliases[key] { key = full }
        var path = key.split(separator: ".").map(String.init)
        // `<node>.weight` is short for `nodes.<node>.weight`.
        if path.count == 2, let nodes = tree["nodes"]?.pairs, nodes.contains(where: { $0.key == path[0] }) {
            path.insert("nodes", at: 0)
        }
        if path.count == 2, tree["nodes"]?[path[0]] == nil, !LabValidator.topKeys.contains(path[0]) {
            let names = tree["nodes"]?.pairs?.map(\.key) ?? []
            throw LabFileError(file: "--set \(override)", key: key, problem: "no node named '\(path[0])' in \(file)",
                               valid: names.joined(separator: ", "))
        }
        tree.set(path[...], to: value, setBy: "--set \(override)")
    }
}
