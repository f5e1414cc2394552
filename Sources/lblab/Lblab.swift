import ArgumentParser
import Foundation
import LblabModel
import LblabRuntime

@main
struct Lblab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lblab",
        abstract: "Live Linux load-balancing labs: namespaces, kernel IPVS, real traffic, pcap-verified paths.",
        discussion: "A LAB is a name from `lblab list` or a path to a lab file (YAML).",
        subcommands: [List.self, Show.self, Up.self, Status.self, Exec.self, Test.self, Analyze.self, Fault.self, Down.self, Clean.self, Doctor.self, VM.self])
}

/// Options shared by commands that print results.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false
}

/// `--set KEY=VALUE`, repeatable.
struct SettingOptions: ParsableArguments {
    @Option(name: .customLong("set"), help: ArgumentHelp("Override a lab setting for this run (scheduler=wrr, arp_fix=false, rs1.weight=3, connections=100, or any dotted key of the lab file).", valueName: "KEY=VALUE"))
    var settings: [String] = []
}

/// Exit statuses: 0 done (every rule held), 1 a rule of `test`/`analyze` failed, 2 lblab could
/// not do what was asked (bad lab file, no root, no IPVS, lab up already, ...).
enum Exit {
    static let ruleFailed = ExitCode(1)
    static let error = ExitCode(2)
}

/// Runs `body`, printing a failure as `lblab: <what went wrong>` and exiting 2.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as ExitCode {
        throw e
    } catch {
        FileHandle.standardError.write(Data("lblab: \(error)\n".utf8))
        throw Exit.error
    }
}

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.dateEncodingStrategy = .iso8601
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// This executable's absolute path (what the kernel VM runs).
var executablePath: String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}

func loadLab(_ lab: String, settings: [String] = []) throws -> LabSpec {
    try LabCatalog.standard(executablePath: executablePath).load(lab, overrides: settings)
}

/// The lab name for commands that act on a lab that may or may not have a file. A lab with
/// state is found by name without reading its file (its state holds everything); a path must
/// be a valid lab file.
func labName(_ lab: String) throws -> (name: String, spec: LabSpec?) {
    guard !LabCatalog.isPath(lab) else {
        let spec = try loadLab(lab)
        return (spec.name, spec)
    }
    guard let first = lab.first, first.isLetter, lab.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }) else {
        throw RuntimeError.badLabName(lab)
    }
    if StateStore().labs().contains(lab) { return (lab, nil) }
    return (lab, try? loadLab(lab))
}
