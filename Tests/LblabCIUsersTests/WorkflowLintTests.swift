import Foundation
import Testing

/// The GitHub Actions workflow the docs give to projects that use lblab, checked by real
/// linters: actionlint (workflow syntax, expressions, action inputs, shellcheck on every
/// `run:` script) and check-jsonschema with the published workflow schema.
@Suite(.enabled(if: Tools.enabled, "needs actionlint and check-jsonschema: run ci/setup.sh"))
struct WorkflowLintTests {
    static let workflow = "examples/github-actions/lblab.yml"

    init() throws {
        if !Tools.present { Issue.record("\(Tools.missing)") }
    }

    func actionlint(_ path: String) throws -> Tools.Run {
        try Tools.run([Tools.actionlint, "-no-color", path])
    }

    func schema(_ path: String) throws -> Tools.Run {
        try Tools.run([Tools.checkJSONSchema, "--builtin-schema", "vendor.github-workflows", path])
    }

    /// A copy of the workflow with `change` applied (which must change it).
    func mutated(_ change: (String) -> String) throws -> (path: String, dir: String) {
        let original = try String(contentsOfFile: "\(Tools.repoRoot)/\(Self.workflow)", encoding: .utf8)
        let text = change(original)
        #expect(text != original, "the mutation did not apply")
        let dir = try Tools.temporaryDirectory()
        let path = "\(dir)/lblab.yml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return (path, dir)
    }

    @Test func theWorkflowPassesActionlintWithShellcheck() throws {
        // shellcheck must be there, or actionlint silently skips the `run:` scripts.
        #expect(try Tools.run(["shellcheck", "--version"]).status == 0, "shellcheck is missing: run ci/setup.sh")
        let r = try actionlint(Self.workflow)
        #expect(r.status == 0, "\(r)")
        #expect(r.out.isEmpty, "\(r)")
    }

    @Test func theWorkflowMatchesTheWorkflowSchema() throws {
        let r = try schema(Self.workflow)
        #expect(r.status == 0, "\(r)")
        #expect(r.out.contains("ok -- validation done"), "\(r)")
    }

    @Test func theWorkflowRunsLblabTheWayTheDocsSay() throws {
        let text = try String(contentsOfFile: "\(Tools.repoRoot)/\(Self.workflow)", encoding: .utf8)
        #expect(text.contains("sudo modprobe ip_vs"))
        #expect(text.contains("sudo lblab test \"$LAB\" --no-vm --junit lblab-report.xml"))
        #expect(text.contains("report_paths: lblab-report.xml"))
        // The report is published even when a rule failed (the step before exits 1).
        #expect(text.contains("if: ${{ !cancelled() }}"))
    }

    @Test func theLintersCatchABrokenWorkflow() throws {
        // A job without runs-on: both linters must refuse it.
        let noRunner = try mutated { $0.replacingOccurrences(of: "runs-on:", with: "runs_on:") }
        defer { try? FileManager.default.removeItem(atPath: noRunner.dir) }
        let a = try actionlint(noRunner.path)
        #expect(a.status != 0 && a.out.contains("runs-on"), "\(a)")
        #expect(try schema(noRunner.path).status != 0)

        // An unquoted variable in a `run:` script: shellcheck, through actionlint.
        let unquoted = try mutated { $0.replacingOccurrences(of: "\"$LBLAB_REF\" \"$LBLAB_GIT\"", with: "$LBLAB_REF $LBLAB_GIT") }
        defer { try? FileManager.default.removeItem(atPath: unquoted.dir) }
        let s = try actionlint(unquoted.path)
        #expect(s.status != 0 && s.out.contains("SC2086"), "\(s)")

        // A misspelt input of a known action.
        let typo = try mutated { $0.replacingOccurrences(of: "if-no-files-found:", with: "if-no-file-found:") }
        defer { try? FileManager.default.removeItem(atPath: typo.dir) }
        let t = try actionlint(typo.path)
        #expect(t.status != 0 && t.out.contains("if-no-file-found"), "\(t)")
    }
}
