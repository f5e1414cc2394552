import Foundation
import LblabRuntime
import Testing
import WebTier

/// The example project's integration tests: its web tier as a live LVS lab (network
/// namespaces, kernel IPVS, real traffic, captures), built from `labs/webtier.yaml`.
/// They need root and a kernel with IPVS: run them with `sudo swift test` on such a machine,
/// or in lblab's kernel VM (see examples/run-example.sh).
@Suite(.serialized) struct WebTierLabTests {
    static let labFile = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("labs/webtier.yaml").path
    static let weights = ["web1": 2, "web2": 1, "web3": 1]

    init() throws {
        try Lab.checkHost()  // root and IPVS, or an error that says how to get them
        let lab = try Lab.load(Self.labFile)
        if lab.isUp { try lab.down() }  // left over from an interrupted run
    }

    @Test func trafficSpreadsByWeightAndEveryRuleHolds() throws {
        let lab = try Lab.load(Self.labFile, overrides: ["connections=200"])
        let result = try lab.test()

        #expect(result.passed, "\(result)")
        #expect(result.verdicts.map(\.rule) == ["answered", "distribution", "dr-path", "arp", "liveness"])
        #expect(result.sent == 200 && result.answered == 200 && result.failed == 0)
        // The project's own capacity model against what kernel IPVS really did, counted from
        // the client's answers and, independently, from the captures on each server's wire.
        let expected = Capacity.shares(weights: Self.weights, connections: 200)
        #expect(result.answeredBy == expected)
        #expect(result.capturedAt == expected)
        #expect(!lab.isUp, "test brought the lab up, so it takes it down again")
    }

    @Test func requestsFromTheClientReachTheWebServersThroughTheVIP() throws {
        let lab = try Lab.load(Self.labFile)
        try lab.up()
        defer { try? lab.down() }
        #expect(lab.isUp)

        // One HTTP request per run, from the client's namespace, with bash's /dev/tcp: each
        // answer names the web server that got it (the lab's agents say so).
        var answeredBy: [String] = []
        for _ in 0..<4 {
            let r = try lab.run(["bash", "-c", "exec 3<>/dev/tcp/203.0.113.80/80 && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3"],
                                on: lab.client, timeout: 10)
            #expect(r.status == 0, "\(r)")
            #expect(r.output.hasPrefix("HTTP/1.0 200 OK"), "\(r.output)")
            // The body, after the headers' blank line ("\r\n" is one Character to Swift: split the text).
            answeredBy.append(r.output.components(separatedBy: "\r\n\r\n").dropFirst().joined().trimmingCharacters(in: .whitespacesAndNewlines))
        }
        // wrr 2:1:1 over 4 connections: web1 twice, web2 and web3 once each.
        #expect(answeredBy.sorted() == ["web1", "web1", "web2", "web3"], "\(answeredBy)")

        // A lab that is up is tested as it is, and stays up.
        let result = try lab.test(keepUp: true)
        #expect(result.passed, "\(result)")
        #expect(lab.isUp)
        try lab.down()
        #expect(!lab.isUp)
    }

    @Test func aBrokenSetupFailsItsRuleWithEvidence() throws {
        // Without the ARP fix the web servers answer ARP for the VIP too (ARP flux).
        let lab = try Lab.load(Self.labFile, overrides: ["arp_fix=false", "connections=40"])
        let result = try lab.test()

        #expect(!result.passed)
        let arp = try #require(result.verdict("arp"))
        #expect(!arp.passed)
        let evidence = arp.evidence.joined(separator: "\n")
        #expect(evidence.contains("web1") || evidence.contains("web2") || evidence.contains("web3"), "\(arp)")
        // The same result as JUnit XML, for the project's CI report.
        #expect(result.junit.failures >= 1)
        #expect(result.junit.xml.contains("<testcase name=\"arp\""))
    }
}

/// The project's own code, without a lab.
@Test func capacitySharesFollowTheWeights() {
    #expect(Capacity.shares(weights: ["a": 2, "b": 1, "c": 1], connections: 200) == ["a": 100, "b": 50, "c": 50])
    #expect(Capacity.shares(weights: ["a": 1, "b": 1], connections: 3) == ["a": 2, "b": 1])
    #expect(Capacity.shares(weights: ["a": 1, "b": 0], connections: 5) == ["a": 5, "b": 0])
}
