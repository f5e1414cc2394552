import Foundation
import LblabRuntime
import Testing

/// lblab in other projects' CI, against real kernel IPVS: `lblab test --junit` with verdicts
/// that hold and that fail, read back by junitparser (PyPI, from ci/setup.sh's venv), and the
/// LblabRuntime facade (`Lab`) driving a lab in-process.
extension IntegrationTests {
@Suite struct CIUsersIntegrationTests {
    init() throws {
        try Harness.lblab("down", "dr-basic")
    }

    /// junitparser's view of a JUnit file: per test case, its name and first result.
    struct Read: Decodable {
        struct Case: Decodable { var name: String; var kind: String?; var message: String?; var text: String? }
        var tests: Int
        var failures: Int
        var errors: Int
        var properties: [String: String]
        var cases: [Case]
    }

    func junitparser(_ path: String) throws -> Read {
        let venv = ProcessInfo.processInfo.environment["LBLAB_CI_TOOLS"] ?? "/opt/lblab-ci-tools"
        let script = """
        import json, sys
        from junitparser import JUnitXml
        s = list(JUnitXml.fromfile(sys.argv[1]))[0]
        cases = [{"name": c.name, **({"kind": type(c.result[0]).__name__, "message": c.result[0].message, "text": c.result[0].text} if c.result else {})} for c in s]
        print(json.dumps({"tests": s.tests, "failures": s.failures, "errors": s.errors,
                          "properties": {p.name: p.value for p in s.properties()}, "cases": cases}))
        """
        let r = try Harness.run(["\(venv)/bin/python", "-c", script, path])
        try #require(r.status == 0, "junitparser could not read \(path) (ci/setup.sh installs it in \(venv)): \(r.all)")
        return try JSONDecoder().decode(Read.self, from: Data(r.out.utf8))
    }

    @Test func junitOfAPassingRunHasEveryRuleAndNoFailure() throws {
        let dir = NSTemporaryDirectory() + "lblab-junit-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/report.xml"
        let r = try Harness.lblab("test", "dr-basic", "--set", "connections=40", "--junit", path, "--json")
        #expect(r.status == 0, "\(r.all)")
        let rules = ((try r.json()["analysis"] as? [String: Any])?["verdicts"] as? [[String: Any]] ?? []).compactMap { $0["rule"] as? String }
        let read = try junitparser(path)
        #expect(read.tests == rules.count && read.failures == 0 && read.errors == 0, "\(read)")
        #expect(read.cases.map(\.name) == rules)
        #expect(read.cases.allSatisfy { $0.kind == nil }, "\(read.cases)")
        #expect(read.properties["lab"] == "dr-basic" && read.properties["connections"] == "40" && read.properties["sent"] == "40")
        try Harness.expectNothingLeft(of: "dr-basic")
    }

    @Test func junitOfAFailingRunCarriesTheEvidence() throws {
        let dir = NSTemporaryDirectory() + "lblab-junit-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/report.xml"
        let r = try Harness.lblab("test", "dr-basic", "--set", "arp_fix=false", "--set", "connections=40", "--junit", path, "--json")
        #expect(r.status == 1, "\(r.all)")
        let verdicts = (try r.json()["analysis"] as? [String: Any])?["verdicts"] as? [[String: Any]] ?? []
        let broken = verdicts.filter { $0["passed"] as? Bool == false }
        let read = try junitparser(path)
        #expect(read.failures == broken.count && read.failures >= 1, "\(read)")
        #expect(read.errors == 0)
        for v in broken {
            let c = try #require(read.cases.first { $0.name == v["rule"] as? String })
            #expect(c.kind == "Failure")
            #expect(c.message == v["summary"] as? String)
            #expect(c.text == (v["evidence"] as? [String] ?? []).joined(separator: "\n"))
        }
        let arp = try #require(read.cases.first { $0.name == "arp" })
        #expect(arp.text?.contains("rs1") == true && arp.text?.contains("rs2") == true, "the real servers' ARP replies: \(arp)")
        #expect(read.properties["overrides"] == "arp_fix=false connections=40")
        try Harness.expectNothingLeft(of: "dr-basic")
    }

    @Test func theFacadeBringsALabUpRunsCommandsInItAndTestsIt() throws {
        let lab = try Lab.load("\(Harness.repoRoot)/labs/dr-basic.yaml", overrides: ["connections=40"])
        try Lab.checkHost()
        #expect(!lab.isUp)
        let seconds = try lab.up()
        #expect(seconds > 0)
        #expect(lab.isUp)
        defer { try? lab.down() }

        // A command in the client's namespace reaches the VIP through IPVS (bash's /dev/tcp).
        var servers: [String] = []
        for _ in 0..<2 {
            let r = try lab.run(["bash", "-c", "exec 3<>/dev/tcp/198.51.100.100/80 && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3"],
                                on: lab.client, timeout: 10)
            #expect(r.status == 0 && !r.timedOut, "\(r)")
            // The body, after the headers' blank line ("\r\n" is one Character to Swift: split the text).
            servers.append(r.output.components(separatedBy: "\r\n\r\n").dropFirst().joined().trimmingCharacters(in: .whitespacesAndNewlines))
        }
        #expect(servers.sorted() == ["rs1", "rs2"], "rr over two servers: \(servers)")
        // The command really ran in the node: its interface has the client's address.
        let ip = try lab.run(["ip", "-4", "-brief", "address", "show", "eth0"], on: "client")
        #expect(ip.output.contains("198.51.100.10/24"), "\(ip)")
        let slow = try lab.run(["sleep", "5"], on: "client", timeout: 0.3)
        #expect(slow.timedOut && slow.status == -1)

        let result = try lab.test(keepUp: true)
        #expect(result.passed, "\(result)")
        #expect(result.sent == 40 && result.answered == 40)
        #expect(result.answeredBy == ["rs1": 20, "rs2": 20] && result.capturedAt == ["rs1": 20, "rs2": 20])
        #expect(result.verdict("arp")?.passed == true)
        #expect(result.junit.failures == 0 && result.junit.testCases.count == result.verdicts.count)
        #expect(lab.isUp, "a lab that was up stays up")
        try lab.down()
        #expect(!lab.isUp)
        try Harness.expectNothingLeft(of: "dr-basic")
    }
}
}
