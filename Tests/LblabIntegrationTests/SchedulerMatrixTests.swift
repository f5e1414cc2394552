import Foundation
import Testing

/// Every scheduler lab passes, and the same running lab changed behind lblab's back (`ipvsadm -E`
/// / `-e` in its dispatcher) fails the distribution rule, naming the first connection that went
/// against the scheduler's rule. One `lblab up` per lab, several `lblab test` runs on it.
extension IntegrationTests {
@Suite(.serialized) struct SchedulerMatrixTests {
    static let vip = "198.51.100.100:80"

    struct Variant: Sendable {
        var name: String
        var change: [String]
        /// What puts the lab back (the scheduler and flags as the lab has them).
        var restore: [String]
    }

    struct Case: Sendable {
        var lab: String
        var scheduler: String
        var variants: [Variant]
        /// The clients of run k (0: the correct run): fresh addresses for every run of the running
        /// lab, since a client's second run reuses its source ports and IPVS would send them where
        /// their old connection entries point.
        var groups = false

        func clients(_ k: Int) -> [String] {
            groups ? ["--set", "traffic.clients=\(k == 0 ? "c" : "d")"] : ["--set", "traffic.client=c\(k + 1)"]
        }
    }

    @discardableResult
    static func ipvsadm(_ lab: String, _ args: [String]) throws -> Harness.Run {
        let r = try Harness.run(["ip", "netns", "exec", "lblab-\(lab)-dispatcher", "ipvsadm"] + args)
        #expect(r.status == 0, "ipvsadm \(args.joined(separator: " ")): \(r.all)")
        return r
    }

    static func swap(to scheduler: String, back: String, extra: [String] = []) -> Variant {
        Variant(name: "-s \(scheduler)\(extra.isEmpty ? "" : " " + extra.joined(separator: " "))",
                change: ["-E", "-t", vip, "-s", scheduler] + extra, restore: ["-E", "-t", vip, "-s", back])
    }

    static func weight(_ rs: String, _ w: Int, back: Int) -> Variant {
        Variant(name: "-e -r \(rs) -w \(w)", change: ["-e", "-t", vip, "-r", "\(rs):80", "-g", "-w", "\(w)"],
                restore: ["-e", "-t", vip, "-r", "\(rs):80", "-g", "-w", "\(back)"])
    }

    /// Every scheduler gets the swap; a weight change and persistence left on are spread over the
    /// schedulers they say something about (each run costs ~10 s in the emulated VM, and the whole
    /// matrix must stay under 10 minutes in CI).
    static func variants(_ scheduler: String, other: String, weight rs: String? = nil, to w: Int = 0, back: Int = 1,
                         persistence: Bool = false) -> [Variant] {
        [swap(to: other, back: scheduler)]
            + (rs.map { [weight($0, w, back: back)] } ?? [])
            + (persistence ? [swap(to: scheduler, back: scheduler, extra: ["-p", "60"])] : [])
    }

    static let cases: [Case] = [
        Case(lab: "sched-rr", scheduler: "rr", variants: variants("rr", other: "sh", persistence: true)),
        Case(lab: "sched-wrr", scheduler: "wrr", variants: variants("wrr", other: "rr", weight: "198.51.100.21", to: 1, back: 3)),
        Case(lab: "sched-lc", scheduler: "lc", variants: variants("lc", other: "sh", persistence: true)),
        Case(lab: "sched-wlc", scheduler: "wlc", variants: variants("wlc", other: "lc")),
        Case(lab: "sched-sed", scheduler: "sed", variants: variants("sed", other: "rr", weight: "198.51.100.21", to: 1, back: 3)),
        Case(lab: "sched-nq", scheduler: "nq", variants: variants("nq", other: "rr")),
        Case(lab: "sched-ovf", scheduler: "ovf", variants: variants("ovf", other: "rr", weight: "198.51.100.21", to: 1, back: 2)),
        Case(lab: "sched-lblc", scheduler: "lblc", variants: variants("lblc", other: "rr", weight: "198.51.100.21", to: 5, back: 2)),
        Case(lab: "sched-lblcr", scheduler: "lblcr", variants: variants("lblcr", other: "rr")),
        Case(lab: "sched-fo", scheduler: "fo", variants: variants("fo", other: "rr", weight: "198.51.100.22", to: 1, back: 3)),
        Case(lab: "sched-sh", scheduler: "sh", variants: variants("sh", other: "rr"), groups: true),
        Case(lab: "sched-mh", scheduler: "mh", variants: variants("mh", other: "sh"), groups: true),
        Case(lab: "sched-dh", scheduler: "dh", variants: variants("dh", other: "rr")),
    ]

    static func distribution(_ r: Harness.Run) throws -> (passed: Bool, summary: String, evidence: [String]) {
        let d = try #require(Harness.verdict(try r.json(), "distribution"))
        return (d["passed"] as? Bool ?? false, d["summary"] as? String ?? "", d["evidence"] as? [String] ?? [])
    }

    @Test func everySchedulerLabPassesAndEveryWrongVariantFails() throws {
        var table = ["| scheduler | correct run | wrong runs (first connection against the rule) | wall time |", "|---|---|---|---|"]
        let started = Date()
        for c in Self.cases {
            let t0 = Date()
            try Harness.lblab("down", c.lab)
            let up = try Harness.lblab("up", c.lab)
            #expect(up.status == 0, "\(c.lab): \(up.all)")
            // Each run from another client node: a second run from the same client would reuse the
            // source ports of the first, and IPVS would send them where their old entries point.
            let good = try Harness.run([Harness.lblabPath, "test", c.lab] + c.clients(0) + ["--json"])
            let g = try Self.distribution(good)
            #expect(good.status == 0 && g.passed, "\(c.lab): \(g.summary)\n\(g.evidence.joined(separator: "\n"))")
            var wrongs: [String] = []
            for (k, v) in c.variants.enumerated() {
                try Self.ipvsadm(c.lab, v.change)
                let bad = try Harness.run([Harness.lblabPath, "test", c.lab] + c.clients(k + 1) + ["--json"])
                let b = try Self.distribution(bad)
                #expect(bad.status == 1 && !b.passed, "\(c.lab) with \(v.name) must fail: \(b.summary)")
                #expect(b.summary.contains("first: #") && b.summary.contains("expected"), "\(c.lab) with \(v.name): \(b.summary)")
                let first = b.summary.range(of: "first: ").map { String(b.summary[$0.upperBound...].prefix(60)) } ?? b.summary
                wrongs.append("\(v.name): \(b.passed ? "PASS" : "FAIL") (\(first)...)")
                try Self.ipvsadm(c.lab, v.restore)
            }
            try Harness.lblab("down", c.lab)
            table.append("| \(c.scheduler) | \(g.passed ? "PASS" : "FAIL") | \(wrongs.joined(separator: "; ")) | \(String(format: "%.1f", Date().timeIntervalSince(t0))) s |")
        }
        print(table.joined(separator: "\n"))
        print("scheduler matrix: \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }

    /// A scheduler that reads the IPVS counts cannot be judged from untraced traffic: the verdict
    /// fails and names the lab that shows it.
    @Test func aCountSchedulerWithoutTraceSaysWhichLabShowsIt() throws {
        let r = try Harness.lblab("test", "sched-rr", "--set", "scheduler=lc", "--json")
        #expect(r.status == 1)
        let d = try Self.distribution(r)
        #expect(!d.passed && d.summary.contains("cannot judge lc") && d.summary.contains("lblab test sched-lc"), "\(d.summary)")
        try Harness.expectNothingLeft(of: "sched-rr")
    }

    /// Weight 0 (quiesced): no new connection for that server; and if the kernel gave it some
    /// (its weight set back behind lblab's back), the rule fails on the first one it got.
    @Test func weightZeroIsQuiesced() throws {
        let ok = try Harness.lblab("test", "sched-rr", "--set", "rs2.weight=0", "--json")
        let d = try Self.distribution(ok)
        #expect(ok.status == 0 && d.passed, "\(d.summary)")
        #expect(Harness.counts(try ok.json(), "fromClient")["rs2"] == nil)
        try Harness.lblab("down", "sched-rr")
        #expect(try Harness.lblab("up", "sched-rr", "--set", "rs2.weight=0").status == 0)
        try Self.ipvsadm("sched-rr", ["-e", "-t", Self.vip, "-r", "198.51.100.22:80", "-g", "-w", "1"])
        let bad = try Harness.lblab("test", "sched-rr", "--set", "rs2.weight=0", "--json")
        let b = try Self.distribution(bad)
        #expect(bad.status == 1 && !b.passed && b.summary.contains("got rs2"), "\(b.summary)")
        try Harness.lblab("down", "sched-rr")
    }

    /// Thresholds: rs1 with u_threshold 1 takes no new connection while it holds one; and the
    /// same lab with the threshold removed behind lblab's back fails on the first extra one.
    @Test func upperThresholdMarksTheServerOverloaded() throws {
        let ok = try Harness.lblab("test", "sched-lc", "--set", "rs1.u_threshold=1", "--json")
        let d = try Self.distribution(ok)
        #expect(ok.status == 0 && d.passed, "\(d.summary)\n\(d.evidence.joined(separator: "\n"))")
        #expect(Harness.counts(try ok.json(), "fromClient")["rs1"] == 1)
        #expect(try Harness.lblab("up", "sched-lc", "--set", "rs1.u_threshold=1").status == 0)
        try Self.ipvsadm("sched-lc", ["-e", "-t", Self.vip, "-r", "198.51.100.21:80", "-g", "-w", "1", "-x", "0"])
        let bad = try Harness.lblab("test", "sched-lc", "--set", "rs1.u_threshold=1", "--json")
        let b = try Self.distribution(bad)
        #expect(bad.status == 1 && !b.passed && b.summary.contains("got rs1"), "\(b.summary)")
        try Harness.lblab("down", "sched-lc")
    }

    /// Persistence on in the lab: the one client stays on its first server, and the rule says why.
    @Test func persistenceKeepsTheClient() throws {
        let r = try Harness.lblab("test", "sched-rr", "--set", "service.persistence=60", "--json")
        let d = try Self.distribution(r)
        #expect(r.status == 0 && d.passed, "\(d.summary)")
        #expect(Harness.counts(try r.json(), "fromClient").count == 1)
        try Harness.expectNothingLeft(of: "sched-rr")
    }
}
}
