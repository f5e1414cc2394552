import Foundation
import Testing

/// Persistence expiry (`sched-persist`: rr, `-p 2`, tcpfin 1 s, a pause of 4 s between two
/// phases of one client): the client sticks to one server, its template expires during the
/// pause, and rr decides anew. The same running lab with the template kept alive behind lblab's
/// back fails on the first connection after the pause (#5): the persistence timeout raised past
/// the pause (`ipvsadm -E -p 60`), or the closed connections' entries kept past the template's
/// timer (`ipvsadm --set 0 120 0`: the kernel re-arms a template that still controls an entry).
extension IntegrationTests {
@Suite(.serialized) struct SchedulerPersistenceTests {
    static let lab = "sched-persist"
    static let vip = "198.51.100.100:80"

    static func run(_ client: String) throws -> (status: Int32, passed: Bool, summary: String, evidence: [String], counts: [String: Int]) {
        let r = try Harness.lblab("test", lab, "--set", "traffic.client=\(client)", "--json")
        let json = try r.json()
        let d = try #require(Harness.verdict(json, "distribution"), "\(r.all.prefix(600))")
        return (r.status, d["passed"] as? Bool ?? false, d["summary"] as? String ?? "", d["evidence"] as? [String] ?? [],
                Harness.counts(json, "fromClient"))
    }

    @Test func theTemplateExpiresDuringThePauseAndRRDecidesAnew() throws {
        let t0 = Date()
        try Harness.lblab("down", Self.lab)
        let up = try Harness.lblab("up", Self.lab)
        #expect(up.status == 0, "\(up.all)")
        // The dispatcher holds the lab's timeouts (ipvsadm -L --timeout as the witness).
        let timeouts = try Harness.run(["ip", "netns", "exec", "lblab-\(Self.lab)-dispatcher", "ipvsadm", "-L", "--timeout"])
        #expect(timeouts.out.contains("900 1 300"), "\(timeouts.all)")

        let good = try Self.run("c1")
        #expect(good.status == 0 && good.passed, "\(good.summary)\n\(good.evidence.joined(separator: "\n"))")
        // Four on the first server, four on the other after the pause.
        #expect(good.counts == ["rs1": 4, "rs2": 4], "\(good.counts)")
        #expect(good.evidence.contains { $0.contains("expired at") && $0.contains("#5 ") && $0.contains("scheduled anew") },
                "\(good.evidence.joined(separator: "\n"))")
        let tGood = Date().timeIntervalSince(t0)

        for (name, change, restore, client) in [
            ("-p 60", ["-E", "-t", Self.vip, "-s", "rr", "-p", "60"], ["-E", "-t", Self.vip, "-s", "rr", "-p", "2"], "c2"),
            ("--set 0 120 0", ["--set", "0", "120", "0"], ["--set", "0", "1", "0"], "c3"),
        ] {
            try SchedulerMatrixTests.ipvsadm(Self.lab, change)
            let bad = try Self.run(client)
            #expect(bad.status == 1 && !bad.passed, "\(name) must fail: \(bad.summary)")
            // Expected: rr's next server (which one depends on where the earlier runs left rr's cursor).
            #expect(bad.summary.contains("first: #5 ") && bad.summary.contains("expected rs") && bad.summary.contains("template"), "\(name): \(bad.summary)")
            print("sched-persist with \(name): \(bad.passed ? "PASS" : "FAIL") (\(bad.summary.prefix(160)))")
            try SchedulerMatrixTests.ipvsadm(Self.lab, restore)
        }
        try Harness.lblab("down", Self.lab)
        print(String(format: "sched-persist: up + correct run %.1f s, whole test %.1f s", tGood, Date().timeIntervalSince(t0)))
    }
}
}
