import Foundation
import Testing

/// DNS round-robin labs end to end: real dnsmasq and unbound in lab namespaces, clients resolving
/// through getaddrinfo, captures, the DNS rules; each wrong variant fails on its own rule.
extension IntegrationTests {
@Suite struct DNSRoundRobinTests {
    static let labs = ["dns-rr", "dns-rr-cache", "dns-rr-dies", "dns-rr-slow", "dns-rr-sorted"]

    /// Brings `lab` up (taken down first if a failed run left it) and down again after `body`:
    /// several `lblab test` runs share one lab, as they may when only traffic and expectations differ.
    static func withLab(_ lab: String, _ settings: [String] = [], _ body: () throws -> Void) throws {
        try Harness.lblab("down", lab)
        let up = try Harness.run([Harness.lblabPath, "up", lab] + settings.flatMap { ["--set", $0] })
        try #require(up.status == 0, "\(up.all)")
        defer { _ = try? Harness.lblab("down", lab) }
        try body()
    }

    /// `lblab test LAB --json` with `settings`: the exit status, the report, and its wall time.
    /// Connections get 5 s, not the labs' 1 s: under emulation, with other VMs beside, one took longer.
    static func test(_ lab: String, _ settings: [String] = []) throws -> (status: Int32, report: [String: Any], seconds: Double, all: String) {
        let t0 = Date()
        let r = try Harness.run([Harness.lblabPath, "test", lab, "--json"] + (["dns.timeout=5"] + settings).flatMap { ["--set", $0] })
        let seconds = Date().timeIntervalSince(t0)
        let json = (try? r.json()) ?? [:]
        let report = json["report"] as? [String: Any] ?? [:]
        print(String(format: "dns-rr wall time: %@ %@: %.1f s, exit %d", lab, settings.joined(separator: " "), seconds, r.status))
        return (r.status, report, seconds, r.all)
    }

    static func failed(_ report: [String: Any]) -> [String] {
        (report["verdicts"] as? [[String: Any]] ?? []).filter { $0["passed"] as? Bool != true }.compactMap { $0["rule"] as? String }
    }

    static func connections(_ report: [String: Any]) -> [String: Int] {
        let servers = (report["stats"] as? [String: Any])?["servers"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: servers.compactMap { s in (s["node"] as? String).map { ($0, s["connections"] as? Int ?? 0) } })
    }

    static func stat(_ report: [String: Any], _ node: String, _ key: String) -> Double {
        let servers = (report["stats"] as? [String: Any])?["servers"] as? [[String: Any]] ?? []
        return servers.first { $0["node"] as? String == node }?[key] as? Double ?? -1
    }

    /// Live processes named `name` (dnsmasq, unbound).
    static func processes(_ name: String) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).filter { pid in
            (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == name
        }
    }

    /// dnsmasq's rotation gives an even spread; dig, a witness lblab does not use, sees the three
    /// records with the lab's TTL; no dnsmasq outlives the lab.
    @Test func directRotationIsEven() throws {
        let before = Self.processes("dnsmasq")
        try Self.withLab("dns-rr") {
            let dig = try Harness.run(["ip", "netns", "exec", "lblab-dns-rr-client1", "dig", "+noall", "+answer", "@192.0.2.53", "www.lab.test"])
            let lines = dig.out.split(separator: "\n")
            #expect(lines.count == 3, "\(dig.all)")
            #expect(Set(lines.compactMap { $0.split(whereSeparator: { $0 == "\t" || $0 == " " }).last.map(String.init) }) == ["198.51.100.21", "198.51.100.22", "198.51.100.23"])
            #expect(lines.allSatisfy { $0.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first == "5" }, "TTL 5: \(dig.out)")
            let r = try Self.test("dns-rr", ["dns.lookups=15"])
            #expect(r.status == 0, "\(r.all.suffix(2000))")
            let c = Self.connections(r.report)
            #expect(c.values.reduce(0, +) == 60)
            #expect(c.keys.sorted() == ["web1", "web2", "web3"])
            #expect(c.values.allSatisfy { $0 >= 15 && $0 <= 25 }, "dnsmasq's rotation: \(c)")
        }
        try Harness.expectNothingLeft(of: "dns-rr")
        #expect(Self.processes("dnsmasq") == before, "a dnsmasq outlived its lab")
    }

    /// A long TTL and a cache that does not rotate: one server takes everything, as the captured
    /// answers predict; claiming an even spread fails the spread rule, and only it.
    @Test func longTTLCacheIsUnevenAndAnEvenClaimFails() throws {
        try Self.withLab("dns-rr-cache") {
            let ok = try Self.test("dns-rr-cache", ["dns.lookups=10", "dns.interval_ms=50"])
            #expect(ok.status == 0, "\(ok.all.suffix(2000))")
            let c = Self.connections(ok.report)
            #expect(c.values.max() == 60 && c.values.reduce(0, +) == 60, "one cached order for every client: \(c)")
            let wrong = try Self.test("dns-rr-cache", ["dns.lookups=10", "dns.interval_ms=50", "expect.distribution=equal"])
            #expect(wrong.status == 1, "\(wrong.all.suffix(2000))")
            #expect(Self.failed(wrong.report) == ["spread"])
        }
    }

    /// A resolver that bypasses its cache (cache: false, unbound's cache-max-ttl: 0) while the lab
    /// expects caching fails the cache rule, from the capture's upstream queries.
    @Test func aResolverBypassingItsCacheFailsTheCacheRule() throws {
        let r = try Self.test("dns-rr-cache", ["dns.lookups=10", "dns.interval_ms=50", "cache.cache=false"])
        #expect(r.status == 1, "\(r.all.suffix(2000))")
        #expect(Self.failed(r.report) == ["cache"])
        try Harness.expectNothingLeft(of: "dns-rr-cache")
        #expect(Self.processes("unbound").isEmpty, "an unbound outlived its lab")
    }

    /// web2 dies 1 s in: about a third of the connections fail from then on; claiming no errors
    /// fails the errors rule. The test starts web2 again after each run, so one lab serves both.
    @Test func aDeadServerKeepsItsShareOfConnections() throws {
        try Self.withLab("dns-rr-dies") {
            let ok = try Self.test("dns-rr-dies", ["dns.lookups=40"])
            #expect(ok.status == 0, "\(ok.all.suffix(2000))")
            let rate = (ok.report["stats"] as? [String: Any])?["errorRate"] as? Double ?? 0
            #expect(rate > 0.1 && rate < 0.35, "error rate \(rate)")
            let wrong = try Self.test("dns-rr-dies", ["dns.lookups=40", "expect.errors=none"])
            #expect(wrong.status == 1, "\(wrong.all.suffix(2000))")
            #expect(Self.failed(wrong.report) == ["errors"])
        }
    }

    /// The slow server gets its equal share, and its latency shows it.
    @Test func aSlowServerStillGetsAnEqualShare() throws {
        let r = try Self.test("dns-rr-slow", ["dns.lookups=15"])
        #expect(r.status == 0, "\(r.all.suffix(2000))")
        #expect(Self.stat(r.report, "web3", "p50") >= 40, "web3 answers 40 ms late")
        #expect(Self.stat(r.report, "web3", "p50") > Self.stat(r.report, "web1", "p50"))
    }

    /// glibc sorts servers in the client's subnet: web1 takes everything and an even claim fails.
    /// A daemon killed behind lblab's back (`lblab fault`) fails the liveness rule, naming it, even
    /// though every connection succeeded (all go to web1); `lblab fault ... up` restores it.
    @Test func glibcSortingAndAKilledDaemon() throws {
        try Self.withLab("dns-rr-sorted") {
            let r = try Self.test("dns-rr-sorted", ["dns.lookups=10"])
            #expect(r.status == 0, "\(r.all.suffix(2000))")
            #expect(Self.connections(r.report)["web1"] == 40)
            let even = try Self.test("dns-rr-sorted", ["dns.lookups=10", "expect.distribution=equal"])
            #expect(Self.failed(even.report) == ["spread"])

            let down = try Harness.lblab("fault", "dns-rr-sorted", "web3", "down")
            #expect(down.status == 0, "\(down.all)")
            let dead = try Self.test("dns-rr-sorted", ["dns.lookups=10"])
            #expect(dead.status == 1)
            #expect(Self.failed(dead.report) == ["liveness"], "\(dead.all.suffix(2000))")
            let evidence = (dead.report["verdicts"] as? [[String: Any]] ?? []).first { $0["rule"] as? String == "liveness" }?["evidence"] as? [String] ?? []
            #expect(evidence.contains { $0.contains("lblab-agent of web3") }, "\(evidence)")
            #expect((dead.report["stats"] as? [String: Any])?["failed"] as? Int == 0, "the traffic itself succeeded")
            #expect(try Harness.lblab("fault", "dns-rr-sorted", "web3", "up").status == 0)
            let again = try Self.test("dns-rr-sorted", ["dns.lookups=10"])
            #expect(again.status == 0, "\(again.all.suffix(2000))")
        }
        try Harness.expectNothingLeft(of: "dns-rr-sorted")
    }
}
}
