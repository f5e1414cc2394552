import Foundation
import LblabModel

/// Everything besides the pcaps that a run's analysis needs, saved next to the captures as
/// `run.json` so a run can be judged again later (`lblab analyze DIR`) or kept as a test fixture:
/// the lab as it was run, what the kernel held, and every connection's outcome.
public struct RunRecord: Sendable, Codable, Equatable {
    public static let fileName = "run.json"
    /// Version 2: `spec` (the lab), `facts` (per node and interface), outcomes with client,
    /// source address and service. Version 1 (`facts` with one host per role, `expectations`) is
    /// not read.
    public static let currentVersion = 2

    public var version: Int
    /// The lab as it was run (with every `--set` applied).
    public var spec: LabSpec
    public var facts: RunFacts
    public var outcomes: [ConnectionOutcome]
    /// Runs with health checks or faults: IPVS's servers over time and the faults applied.
    public var health: HealthTimeline?

    public init(spec: LabSpec, facts: RunFacts, outcomes: [ConnectionOutcome], health: HealthTimeline? = nil) {
        version = Self.currentVersion
        self.health = health
        self.spec = spec
        self.facts = facts
        self.outcomes = outcomes
    }

    public var lab: String { spec.name }

    /// The capture points whose pcaps the run saved: `<point>.pcap` each.
    public var points: [String] { facts.points }

    public func write(to directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: "\(directory)/\(Self.fileName)"))
    }

    public static func read(from directory: String) throws -> RunRecord {
        let path = "\(directory)/\(fileName)"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RunRecordError(message: "no \(fileName) in \(directory): save a run there with `lblab test LAB --captures \(directory)`")
        }
        struct Version: Decodable { var version: Int? }
        let version = (try? JSONDecoder().decode(Version.self, from: data))?.version ?? 1
        guard version == currentVersion else {
            throw RunRecordError(message: "\(path) is a version \(version) run record; this lblab reads version \(currentVersion): "
                                 + "record the run again with `lblab test LAB --captures \(directory)`")
        }
        do {
            return try JSONDecoder().decode(RunRecord.self, from: data)
        } catch {
            throw RunRecordError(message: "\(path) is not a run record lblab can read: \(error)")
        }
    }
}

public struct RunRecordError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
