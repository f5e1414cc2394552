import Foundation
import Testing
@testable import LblabModel

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
