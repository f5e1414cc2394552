import Foundation
import Testing
@testable import LblabModel
import LblabTypes

/// DNS labs (`mode: dns`): their keys, defaults and every error a learner can make.
@Suite struct DNSLabFileTests {
    static let base = """
        mode: dns
        dns: {name: www.lab.test, ttl: 5}
        nodes:
          client: {role: client, address: 192.0.2.10/24, count: 2}
          ns:     {role: dns,    address: 192.0.2.53/24}
          web:    {role: web,    address: 192.0.2.21/24, count: 3}
        """

    @Test func theShippedDirectLab() throws {
        let spec = try LabFile.load(labPath("dns-rr"))
        #expect(spec.mode == .dns)
        #expect(spec.services.isEmpty)
        #expect(spec.dns == DNSSpec(name: "www.lab.test", ttl: 5, lookups: 60, intervalMillis: 20,
                                    claim: "round robin by DNS: each lookup gets the next order"))
        #expect(spec.clients.map { $0.dns?.resolver } == ["ns", "ns", "ns", "ns"])
        #expect(spec.nodes(.web).map(\.name) == ["web1", "web2", "web3"])
        #expect(spec.expect.path == .none && spec.expect.arp == .none)
        #expect(spec.traffic.connections == 240 && spec.traffic.timeout == 1)
    }

    @Test func defaults() throws {
        let spec = try LabFile.parse(Self.base, file: "t.yaml")
        #expect(spec.dns?.lookups == 100 && spec.dns?.intervalMillis == 20)
        #expect(spec.expect.distribution == .scheduler && spec.expect.errors == ErrorsRule.none && spec.expect.cache == .any)
        #expect(spec.faults == nil)
        #expect(spec.nodes(.web).allSatisfy { $0.dns?.delayMillis == 0 })
    }

    @Test func resolverAndFaults() throws {
        let spec = try LabFile.parse(Self.base + """

              cache:  {role: resolver, address: 192.0.2.54/24, cache: false, round_robin: false}
            faults: [{at: 2, node: web2, action: down}, {at: 1, node: web1, action: down}]
            expect: {errors: fault, cache: off}
            """, file: "t.yaml", overrides: ["web3.delay_ms=50"])
        #expect(spec.clients.map { $0.dns?.resolver } == ["cache", "cache"], "the only resolver is the clients' default")
        #expect(spec.node(named: "cache")?.dns == DNSNodeSpec(upstream: "ns", cache: false, roundRobin: false))
        #expect(spec.faults?.map(\.node) == ["web1", "web2"], "sorted by time")
        #expect(spec.node(named: "web3")?.dns?.delayMillis == 50)
    }

    func error(_ text: String, _ overrides: [String] = []) -> LabFileError? {
        do { _ = try LabFile.parse(text, file: "t.yaml", overrides: overrides); return nil } catch { return error as? LabFileError }
    }

    @Test func errorsNameTheKeyAndTheFix() {
        let cases: [(String, [String], String, String)] = [
            (Self.base + "\nservice: {vip: 192.0.2.100}", [], "service", "no service"),
            (Self.base + "\n  lb: {role: dispatcher, address: 192.0.2.2/24}", [], "nodes.lb.role", "has no role dispatcher"),
            (Self.base, ["client.resolver=web1"], "nodes.client.resolver", "no dns or resolver node named 'web1'"),
            (Self.base, ["client1.resolver=web1"], "nodes.client.resolver", "no dns or resolver node named 'web1'"),
            (Self.base, ["expect.errors=fault"], "expect.errors", "needs a fault"),
            (Self.base, ["expect.cache=on"], "expect.cache", "no resolver"),
            (Self.base, ["expect.distribution=weights"], "expect.distribution", "no weights"),
            (Self.base, ["dns.name=localhost"], "dns.name", "not a host name"),
            (Self.base, ["web.delay_ms=20000"], "nodes.web.delay_ms", "10000"),
            (Self.base, ["ns.delay_ms=5"], "nodes.ns.delay_ms", "only web nodes"),
            (Self.base + "\nfaults: [{at: 1, node: ns, action: down}]", [], "faults[0].node", "no web node named 'ns'"),
            (Self.base + "\nfaults: [{at: 1, node: web1, action: crash}]", [], "faults[0].action", "unknown action 'crash'"),
            (Self.base + "\ntraffic: {connections: 5}", [], "traffic", "dns: {lookups"),
        ]
        for (text, overrides, key, problem) in cases {
            guard let e = error(text, overrides) else { Issue.record("no error for \(overrides) \(key)"); continue }
            #expect(e.key == key, "\(e)")
            #expect((e.problem + " " + (e.valid ?? "")).contains(problem), "\(e)")
        }
    }

    @Test func dnsKeysInAnIPVSLab() throws {
        let ipvs = """
            service: {vip: 10.0.0.100}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24}
            """
        #expect(error(ipvs, ["client.resolver=dispatcher"])?.valid?.contains("mode: dns") == true)
        #expect(error(ipvs + "\ndns: {ttl: 5}")?.key == "dns")
        #expect(error(ipvs + "\n  ns: {role: dns, address: 10.0.0.53/24}")?.problem.contains("DNS roles need mode: dns") == true)
        // IPVS labs take faults on real servers, during paced traffic only.
        let faults = try #require(error(ipvs + "\nfaults: [{at: 1, node: rs1, action: down}]"))
        #expect(faults.key == "faults" && faults.problem.contains("not paced") && faults.valid?.contains("interval_ms") == true)
        let paced = try LabFile.parse(ipvs + "\ntraffic: {connections: 10, interval_ms: 50}\nfaults: [{at: 1, node: rs1, action: slow}, {at: 0.5, node: rs1, action: unplug}]", file: badFile)
        #expect(paced.faults == [FaultSpec(at: 0.5, node: "rs1", action: .unplug), FaultSpec(at: 1, node: "rs1", action: .slow, delayMillis: 500)])
        #expect(paced.traffic.phases[0].intervalMillis == 50 && paced.traffic.phases[0].concurrency == 1)
        #expect(error(ipvs + "\ntraffic: {interval_ms: 50}\nfaults: [{at: 1, node: rs1, action: down, delay_ms: 5}]")?.key == "faults[0].delay_ms")
        #expect(error(ipvs + "\ntraffic: {interval_ms: 50}\nfaults: [{at: 1, node: client, action: down}]")?.problem == "no real node named 'client': a fault acts on a server")
        #expect(error(Self.base + "\nfaults: [{at: 1, node: web1, action: unplug}]")?.key == "faults[0].action")
    }
}
