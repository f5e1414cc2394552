import Foundation

/// Everything besides the pcaps that a run's analysis needs, saved next to the captures as
/// `run.json` so a run can be judged again later (`lblab analyze DIR`) or kept as a test fixture.
public struct RunRecord: Sendable, Codable, Equatable {
    public static let fileName = "run.json"

    public var lab: String
    public var facts: LabFacts
    public var expectations: Expectations
    public var outcomes: [ConnectionOutcome]

    public init(lab: String, facts: LabFacts, expectations: Expectations, outcomes: [ConnectionOutcome]) {
        self.lab = lab
        self.facts = facts
        self.expectations = expectations
        self.outcomes = outcomes
    }

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
        do {
            return try JSONDecoder().decode(RunRecord.self, from: data)
        } catch {
            throw RunRecordError(message: "\(path) is not a run record lblab can read: \(error)")
        }
    }

    /// Capture point names: one pcap per node, `<node>.pcap`.
    public var points: [String] {
        [facts.client.name, facts.dispatcher.name] + facts.realServers.map(\.name)
    }
}

public struct RunRecordError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
