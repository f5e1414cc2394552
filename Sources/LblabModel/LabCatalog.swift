import Foundation

/// Finds lab files: a LAB argument is a path to a file or a name in a labs directory.
public struct LabCatalog {
    public var directories: [String]

    public init(directories: [String]) { self.directories = directories }

    /// `$LBLAB_LABS`, `./labs`, and the `labs/` of the checkout or install the binary came from.
    public static func standard(executablePath: String = CommandLine.arguments[0]) -> LabCatalog {
        var dirs: [String] = []
        if let env = ProcessInfo.processInfo.environment["LBLAB_LABS"] { dirs.append(env) }
        dirs.append(FileManager.default.currentDirectoryPath + "/labs")
        let exe = URL(fileURLWithPath: executablePath).resolvingSymlinksInPath().deletingLastPathComponent()
        dirs.append(exe.appendingPathComponent("../../labs").standardizedFileURL.path)   // .build/debug/lblab
        dirs.append(exe.appendingPathComponent("../../../labs").standardizedFileURL.path) // .build/x86_64.../debug/lblab
        dirs.append(exe.appendingPathComponent("../share/lblab/labs").standardizedFileURL.path)
        var seen = Set<String>()
        return LabCatalog(directories: dirs.filter { seen.insert($0).inserted })
    }

    /// Lab files by name (file stem), first directory wins.
    public func all() -> [(name: String, path: String)] {
        var out: [String: String] = [:]
        for d in directories {
            for f in (try? FileManager.default.contentsOfDirectory(atPath: d)) ?? [] where f.hasSuffix(".yaml") || f.hasSuffix(".yml") {
                let name = URL(fileURLWithPath: f).deletingPathExtension().lastPathComponent
                if out[name] == nil { out[name] = "\(d)/\(f)" }
            }
        }
        return out.sorted { $0.key < $1.key }.map { (name: $0.key, path: $0.value) }
    }

    /// Whether LAB names a file (a path or a .yaml/.yml name) rather than a lab by name.
    public static func isPath(_ lab: String) -> Bool {
        lab.contains("/") || lab.hasSuffix(".yaml") || lab.hasSuffix(".yml")
    }

    /// The file for LAB: an existing path, or a name found in the directories.
    public func path(for lab: String) throws -> String {
        if Self.isPath(lab) {
            guard FileManager.default.fileExists(atPath: lab) else {
                throw LabFileError(file: lab, key: "", problem: "no such lab file")
            }
            return lab
        }
        if let hit = all().first(where: { $0.name == lab }) { return hit.path }
        let names = all().map(\.name)
        throw LabFileError(file: lab, key: "", problem: "no lab named '\(lab)' in \(directories.joined(separator: ", "))",
                           valid: names.isEmpty ? "a path to a lab file" : names.joined(separator: ", "))
    }

    /// Loads LAB with overrides.
    public func load(_ lab: String, overrides: [String] = []) throws -> LabSpec {
        try LabFile.load(try path(for: lab), overrides: overrides)
    }
}
