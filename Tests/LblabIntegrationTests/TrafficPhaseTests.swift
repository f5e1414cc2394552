import Foundation
import Testing

/// The traffic engine against real kernel IPVS: many clients each with its own address, held
/// connections IPVS counts as active, traced phases whose counts match `ipvsadm -Ln`, and UDP.
/// Witnesses: `tcpdump` reading lblab's pcaps, `ipvsadm -Ln` in the dispatcher's namespace.
extension IntegrationTests {
@Suite struct TrafficPhaseTests {
    let dir: URL
    static let name = "ttraffic"

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("lblab-traffic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Harness.lblab("down", Self.name)
    }

    /// The lab, with `traffic`: 32 clients in one `count:` group (198.51.100.101 on), two real
    /// servers, a TCP service on port 80 and a UDP one on port 53 of the same VIP. One file per
    /// traffic (the same name and topology: `lblab test` runs each on the lab while it is up).
    func lab(_ file: String, traffic: String) throws -> String {
        let text = """
            name: \(Self.name)
            mode: dr
            services:
              - {name: web, vip: 198.51.100.100, port: 80, scheduler: rr}
              - {name: dns, vip: 198.51.100.100, port: 53, protocol: udp, scheduler: rr}
            nodes:
              c: {role: client, address: 198.51.100.101/24, count: 32}
              dispatcher: {role: dispatcher, address: 198.51.100.2/24}
              rs1: {role: real, address: 198.51.100.21/24}
              rs2: {role: real, address: 198.51.100.22/24}
            traffic:
            \(traffic)

            """
        let path = dir.appendingPathComponent("\(file).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func outcomes(_ captures: URL) throws -> [[String: Any]] {
        let data = try Data(contentsOf: captures.appendingPathComponent("run.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return json["outcomes"] as? [[String: Any]] ?? []
    }

    /// One lab up for the three runs (a 36-node lab takes most of a minute to build under emulation).
    @Test func manyClientsHeldAndTracedConnectionsAndUDP() throws {
        let many = try lab("many", traffic: "  connections: 64\n  concurrency: 8")
        let up = try Harness.lblab("up", many)
        #expect(up.status == 0, "\(up.all)")
        defer { _ = try? Harness.lblab("down", Self.name) }
        try thirtyTwoClientsEachFromItsOwnAddress(many)
        try heldConnectionsAreActiveAndTracedCountsMatchIPVS()
        try udpThroughDRAnsweredByEveryServer()
        #expect(try Harness.lblab("down", Self.name).status == 0)
        try Harness.expectNothingLeft(of: Self.name)
    }

    func thirtyTwoClientsEachFromItsOwnAddress(_ path: String) throws {
        let captures = dir.appendingPathComponent("many")
        let r = try Harness.lblab("test", path, "--json", "--captures", captures.path)
        #expect(r.status == 0, "\(r.all.suffix(3000))")
        #expect(Harness.counts(try r.json(), "fromCapture") == ["rs1": 32, "rs2": 32])
        // Each client's own switch port saw its own SYNs, from its own address only (tcpdump).
        for k in 1...32 {
            let pcap = captures.appendingPathComponent("c\(k).pcap").path
            let syns = try Harness.run(["tcpdump", "-nn", "-r", pcap, "tcp[tcpflags] & tcp-syn != 0 and dst host 198.51.100.100"]).out
                .split(separator: "\n")
            let sources = Set(syns.compactMap { line in line.split(separator: " ").dropFirst(2).first.map { $0.split(separator: ".").prefix(4).joined(separator: ".") } })
            #expect(syns.count == 2 && sources == ["198.51.100.\(100 + k)"], "c\(k): \(syns)")
        }
        let byClient = Dictionary(grouping: try outcomes(captures)) { $0["client"] as? String ?? "" }
        #expect(byClient.count == 32 && byClient.values.allSatisfy { $0.count == 2 })
    }

    /// 6 connections held until a traced phase of 4 is over; `ipvsadm -Ln` shows them active
    /// during the hold, and the first traced connection saw the same counts.
    func heldConnectionsAreActiveAndTracedCountsMatchIPVS() throws {
        let path = try lab("hold", traffic: """
              clients: [c1, c2, c3]
              phases:
                - {name: long, connections: 6, concurrency: 6, hold: {until: short}}
                - {name: short, connections: 4, trace: true, pause: 4}
            """)
        let captures = dir.appendingPathComponent("hold")
        let test = Process()
        test.executableURL = URL(fileURLWithPath: Harness.lblabPath)
        test.arguments = ["test", path, "--json", "--captures", captures.path]
        test.standardOutput = FileHandle.nullDevice
        test.standardError = FileHandle.nullDevice
        try test.run()
        // During the pause the 6 held connections are ESTABLISHED at IPVS: ActiveConn 3 and 3.
        var active: [String: Int] = [:]
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, active.values.reduce(0, +) < 6 {
            Thread.sleep(forTimeInterval: 0.3)
            active = [:]
            let table = try Harness.ipvsadm("lblab-\(Self.name)-dispatcher").out
            // The TCP service's block only (the UDP service follows it).
            let tcp = table.components(separatedBy: "UDP ").first ?? table
            for line in tcp.split(separator: "\n") where line.contains("->") && line.contains("Route") {
                let f = line.split(separator: " ")
                if f.count >= 6, let n = Int(f[4]) { active[String(f[1])] = n }
            }
        }
        test.waitUntilExit()
        #expect(active == ["198.51.100.21:80": 3, "198.51.100.22:80": 3], "ipvsadm -Ln during the hold: \(active)")
        #expect(test.terminationStatus == 0)
        let all = try outcomes(captures)
        let traced = all.filter { $0["phase"] as? Int == 1 }.sorted { ($0["start"] as? Double ?? 0) < ($1["start"] as? Double ?? 0) }
        #expect(traced.count == 4)
        let first = try #require(traced.first?["seen"] as? [[String: Any]])
        let seen = Dictionary(uniqueKeysWithValues: first.compactMap { d in (d["server"] as? String).map { ($0, d["active"] as? Int ?? -1) } })
        #expect(seen == ["rs1": active["198.51.100.21:80"] ?? -1, "rs2": active["198.51.100.22:80"] ?? -1], "seen \(first)")
        // Every held connection closed after the last traced one ended.
        let lastEnd = traced.map { ($0["start"] as? Double ?? 0) + ($0["latency"] as? Double ?? 0) }.max() ?? 0
        let held = all.filter { $0["phase"] as? Int == 0 }
        #expect(held.count == 6 && held.allSatisfy { ($0["closed"] as? Double ?? 0) >= lastEnd }, "\(held)")
    }

    func udpThroughDRAnsweredByEveryServer() throws {
        let path = try lab("udp", traffic: "  service: dns\n  clients: [c1, c2]\n  connections: 30\n  concurrency: 4")
        let captures = dir.appendingPathComponent("udp")
        let r = try Harness.lblab("test", path, "--json", "--captures", captures.path)
        #expect(Harness.counts(try r.json(), "fromClient") == ["rs1": 15, "rs2": 15], "\(r.all.suffix(3000))")
        let all = try outcomes(captures)
        #expect(all.count == 30 && all.allSatisfy { $0["error"] == nil && $0["server"] != nil })
        // The answers come from the VIP (DR: straight from the real server, source the VIP).
        let answers = try Harness.run(["tcpdump", "-nn", "-r", captures.appendingPathComponent("c1.pcap").path, "udp and src port 53"]).out
        #expect(answers.split(separator: "\n").count == 15 && answers.split(separator: "\n").allSatisfy { $0.contains("198.51.100.100.53 >") },
                "\(answers)")
        #expect(r.status == 0, "\(r.all.suffix(3000))")
    }
}
}
