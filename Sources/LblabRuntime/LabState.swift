import Foundation
import LblabModel
import LblabPlan

/// What lblab knows about a lab it brought up, kept under /run/lblab/<lab>/ so `status`,
/// `down` and `clean` know exactly what it owns, even after a crash.
public struct LabState: Codable, Sendable {
    public enum Phase: String, Codable, Sendable {
        /// `up` is running (or crashed while running: see `builderPID`).
        case building
        case up
    }

    public struct Agent: Codable, Sendable, Equatable {
        public var node: String
        public var namespace: String
        public var port: UInt16
        public var pid: Int32
        /// A `slow` fault's delay while the agent runs with one (`nil`: none).
        public var delayMillis: Int? = nil
    }

    /// A server process of a DNS lab (dnsmasq, unbound, a web server's agent).
    public struct Daemon: Codable, Sendable, Equatable {
        public var node: String
        public var namespace: String
        public var kind: DaemonKind
        public var pid: Int32
    }

    public var spec: LabSpec
    public var phase: Phase
    public var builderPID: Int32
    public var startedAt: Date
    /// Every namespace of the lab (switch first), created or about to be.
    public var namespaces: [String]
    public var agents: [Agent]
    /// DNS labs' server processes (nil in state written before they existed).
    public var daemons: [Daemon]?
    /// The steps that built the lab, in order: `down` undoes exactly these (`Plan.teardown(of:)`).
    public var steps: [Step]

    public var lab: String { spec.name }
}

/// Reads and writes lab state under a directory (default /run/lblab), one folder per lab.
public struct StateStore: Sendable {
    public var root: String

    public init(root: String = ProcessInfo.processInfo.environment["LBLAB_STATE_DIR"] ?? "/run/lblab") {
        self.root = root
    }

    public func directory(of lab: String) -> String { "\(root)/\(lab)" }
    func file(of lab: String) -> String { "\(directory(of: lab))/state.json" }

    public func load(_ lab: String) throws -> LabState? {
        guard let data = FileManager.default.contents(atPath: file(of: lab)) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        do {
            return try decoder.decode(LabState.self, from: data)
        } catch {
            throw RuntimeError.corruptState(lab: lab, path: file(of: lab), reason: "\(error)")
        }
    }

    public func save(_ state: LabState) throws {
        let encoder = JSONEncoder()
        // Plain seconds: an ISO 8601 date would load ICU's time zone data on every save.
        encoder.dateEncodingStrategy = .secondsSince1970
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileManager.default.createDirectory(atPath: directory(of: state.lab), withIntermediateDirectories: true)
        try encoder.encode(state).write(to: URL(fileURLWithPath: file(of: state.lab)), options: .atomic)
    }

    public func remove(_ lab: String) {
        try? FileManager.default.removeItem(atPath: directory(of: lab))
    }

    /// Labs that have state.
    public func labs() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter {
            FileManager.default.fileExists(atPath: file(of: $0))
        }.sorted()
    }

    /// Holds an exclusive lock on the lab while `body` runs, so two lblab processes never
    /// build or tear down the same lab at once.
    public func withLock<T>(_ lab: String, _ body: () throws -> T) throws -> T {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let path = "\(root)/.\(lab).lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RuntimeError.system("open lock \(path)", errno) }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            throw RuntimeError.busy(lab: lab)
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}
