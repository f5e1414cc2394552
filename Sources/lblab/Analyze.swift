import ArgumentParser
import Foundation
import LblabRuntime

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Judge a saved run again from its pcaps and run.json (from `lblab test --captures DIR`); needs neither root nor IPVS.")
    @Argument(help: "The directory holding run.json and <node>.pcap files.") var directory: String
    @OptionGroup var output: OutputOptions

    func run() throws {
        try reportingErrors {
            let (record, report) = try LabRuntime.analyzeSaved(directory)
            if output.json { try printJSON(report) } else {
                print("lab \(record.lab): \(record.outcomes.count) connections from \(record.facts.client) to \(record.facts.service) (\(record.facts.protocol.ipvsadmName) \(record.facts.vip.withPort(record.facts.port)))")
                print(Report.verdicts(report).joined(separator: "\n"))
                print(Report.verdictLine(report))
            }
            if !report.passed { throw Exit.ruleFailed }
        }
    }
}
