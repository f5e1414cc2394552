import ArgumentParser
import Foundation
import LblabModel
import LblabPlan
import LblabRuntime

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",abstract: "List the labs lblab knows and which are up.")
    @OptionGroup var output: OutputOptions

    struct Entry: Encodable { var name: String; var path: String; var description: String; var up: Bool; var error: String? }

    func run() throws {
        try reportingErrors {
            let catalog = LabCatalog.standard(executablePath: executablePath)
            let upLabs = Set(StateStore().labs())
            let entries = catalog.all().map { lab -> Entry in
                do {
                    let spec = try LabFile.load(lab.path)
                    return Entry(name: lab.name, path: lab.path, description: spec.description, up: upLabs.contains(spec.name))
                } catch {
                    return Entry(name: lab.name, path: lab.path, description: "", up: false, error: "\(error)")
                }
            }
            if output.json { return try printJSON(entries) }
            if entries.isEmpty { print("no labs found in \(catalog.directories.joined(separator: ", "))") }
            for e in entries {
                let status = e.up ? "up" : (e.error == nil ? "" : "invalid")
                print("\(e.name.padding(16)) \(status.padding(8)) \(e.error ?? e.description)")
            }
        }
    }
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",abstract: "Show a lab with every default filled in, and its plan.")
    @Argument(help: "The lab.") var lab: String
    @OptionGroup var settings: SettingOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        try reportingErrors {
            let spec = try loadLab(lab, settings: settings.settings)
            if output.json { return try printJSON(spec) }
            print(Describe.lab(spec))
            print("\nplan (`lblab up \(spec.name) --explain` runs it step by step):")
            print(Planner.plan(spec).explained())
        }
    }
}

/// Text renderings of models for the terminal.
enum Describe {
    static func lab(_ s: LabSpec) -> String {
        var out = [
            "name: \(s.name)",
            "description: \(s.description)",
            "file: \(s.source ?? "-")",
            "mode: \(s.mode.rawValue)",
            "service: {vip: \(s.service.vip), port: \(s.service.port), protocol: \(s.service.proto), scheduler: \(s.service.scheduler)}",
            "arp_fix: \(s.arpFix)",
            "nodes:",
        ]
        for n in s.nodes {
            var fields = ["role: \(n.role.rawValue)", "address: \(n.address)"]
            if n.role == .real { fields += ["weight: \(n.weight)", "forward: \(n.forward.rawValue)"] }
            out.append("  \(n.name): {\(fields.joined(separator: ", "))}")
        }
        out.append("traffic: {connections: \(s.traffic.connections), concurrency: \(s.traffic.concurrency), timeout: \(s.traffic.timeout)}")
        out.append("expect: {distribution: \(s.expect.distribution.rawValue), path: \(s.expect.path.rawValue), arp: \(s.expect.arp.rawValue)}")
        return out.joined(separator: "\n")
    }
}
