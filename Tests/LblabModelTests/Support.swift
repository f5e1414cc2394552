import Foundation
import Testing
@testable import LblabModel
import LblabTypes

/// The repository's `labs/` directory, found from this file's path (Tests/LblabModelTests/Support.swift).
let labsDirectory: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()   // LblabModelTests
    .deletingLastPathComponent()   // Tests
    .deletingLastPathComponent()   // repo root
    .appendingPathComponent("labs")

func labPath(_ name: String) -> String { labsDirectory.appendingPathComponent("\(name).yaml").path }

/// Every `.yaml` file in `labs/`, by stem.
func repoLabNames() -> [String] {
    let files = (try? FileManager.default.contentsOfDirectory(atPath: labsDirectory.path)) ?? []
    return files.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
        .map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
        .sorted()
}

/// The file name used for inline error fixtures; its stem (`bad`) is a valid lab name.
let badFile = "fixtures/bad.yaml"

/// Parses `text` expecting a `LabFileError`; records an issue (and returns nil) otherwise.
func labError(_ text: String, file: String = badFile, overrides: [String] = [],
              sourceLocation: SourceLocation = #_sourceLocation) -> LabFileError? {
    do {
        let spec = try LabFile.parse(text, file: file, overrides: overrides)
        Issue.record("expected a LabFileError, but the lab parsed (name \(spec.name))", sourceLocation: sourceLocation)
        return nil
    } catch let e as LabFileError {
        return e
    } catch {
        Issue.record("expected a LabFileError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Loads a lab from `labs/` expecting a `LabFileError`.
func loadError(_ lab: String, overrides: [String],
               sourceLocation: SourceLocation = #_sourceLocation) -> LabFileError? {
    do {
        let spec = try LabFile.load(labPath(lab), overrides: overrides)
        Issue.record("expected a LabFileError, but the lab loaded (name \(spec.name))", sourceLocation: sourceLocation)
        return nil
    } catch let e as LabFileError {
        return e
    } catch {
        Issue.record("expected a LabFileError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// A fresh empty directory under the system temp directory.
func makeTempDirectory() throws -> URL {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("lblab-model-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

func ip(_ text: String) -> IPAddress { IPAddress(text)! }
func prefix(_ text: String) -> IPInterface { IPInterface(text)! }

/// A node with one interface `eth0`, as a one-segment lab file writes it; defaults as the
/// validator gives them.
func host(_ name: String, _ role: NodeRole, _ address: String, segment: String = "lan", routes: [RouteSpec] = [],
          weight: Int = 1, forward: Forwarding = .route, ipForward: Bool? = nil, rpFilter: Int? = nil,
          tunnel: Bool = false, group: String? = nil) -> NodeSpec {
    NodeSpec(name: name, role: role, interfaces: [InterfaceSpec(name: "eth0", segment: segment, addresses: [prefix(address)])],
             routes: routes, weight: weight, forward: forward, ipForward: ipForward ?? (role == .dispatcher),
             rpFilter: rpFilter, tunnel: tunnel, group: group)
}

func defaultRoute(via gateway: String) -> RouteSpec {
    RouteSpec(destination: prefix("0.0.0.0/0"), gateway: ip(gateway))
}

extension LabSpec {
    /// `forward` means something only on real servers: other roles are set to `.route` so exact
    /// comparisons do not pin what is irrelevant.
    var comparable: LabSpec {
        var s = self
        for i in s.nodes.indices where s.nodes[i].role != .real { s.nodes[i].forward = .route }
        return s
    }
}

/// Parses `text` (file `bad.yaml`) expecting success.
func parse(_ text: String, overrides: [String] = [], file: String = badFile) throws -> LabSpec {
    try LabFile.parse(text, file: file, overrides: overrides)
}

/// The smallest one-segment DR lab, nodes c, d, r1, r2 in 10.0.0.0/24, VIP 10.0.0.100.
let smallLab = """
    service: {vip: 10.0.0.100}
    nodes:
      c: {role: client, address: 10.0.0.10/24}
      d: {role: dispatcher, address: 10.0.0.2/24}
      r1: {role: real, address: 10.0.0.21/24}
      r2: {role: real, address: 10.0.0.22/24}
    """

/// A two-segment NAT lab: client on front, dispatcher on both, r1/r2 on back (lines 1-12).
let twoSegmentLab = """
    mode: nat
    segments: [front, back]
    service: {vip: 198.51.100.100}
    nodes:
      c: {role: client, segment: front, address: 198.51.100.10/24}
      d:
        role: dispatcher
        interfaces:
          eth0: {segment: front, address: 198.51.100.2/24}
          eth1: {segment: back, address: 203.0.113.1/24}
      r1: {role: real, segment: back, address: 203.0.113.21/24}
      r2: {role: real, segment: back, address: 203.0.113.22/24}
    """
