import Foundation
import Testing

/// The traffic engine against real kernel IPVS: many clients each with its own address, held
/// connections IPVS counts as active, traced phases whose counts match `ipvsadm -Ln`, and UDP.
/// Witnesses: `tcpdump` reading lblab's pcaps, `ipvsadm -Ln` in the dispatcher's namespace.
extension IntegrationTests {
@Suite struct TrafficPhaseTests {
    let dir: URL

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("lblab-traffic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for lab in ["tmany", "thold", "tudp"] { try Harness.lblab("down", lab) }
    }

    /// A DR lab file: `clients` clients in one `count:` group (198.51.100.101 on), two or three
    /// real servers, a service and its traffic.
    func lab(_ name: String, clients: Int, servers: Int = 2, service: String, traffic: String) throws -> String {
        let reals = (1...servers).map { "  rs\($0): {role: real, address: 198.51.100.\(20 + $0)/24}" }.joined(separator: "\n")
        let text = """
            name: \(name)
            mode: dr
            service: \(service)
            nodes:
              c: {role: client, address: 198.51.100.101/24, count: \(clients)}
              dispatcher: {role: dispatcher, address: 198.51.100.2/24}
            \(reals)
            traffic:
            \(traffic)

            """
        let path = dir.appendingPathComponent("\(name).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func outcomes(_ captures: URL) throws -> [[String: Any]] {
        let data = try Data(contentsOf: captures.appendingPathComponent("run.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return json["outcomes"] as? [[String: Any]] ?? []
    }

    @Test func thirtyTwoClientsEachFromItsOwnAddress() throws {
        let path = try lab("tmany", clients: 32, service: "{vip: 198.51.100.100, port: 80, scheduler: rr}",
                           traffic: "  connections: 64\n  concurrency: 8")
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
        try Harness.expectNothingLeft(of: "tmany")
    }

    /// 6 connections held until a traced phase of 4 is over; `ipvsadm -Ln` shows them active
    /// during the hold, and the first traced connection saw the same counts.
    @Test func heldConnectionsAreActiveAndTracedCountsMatchIPVS() throws {
        let path = try lab("thold", clients: 3, service: "{vip: 198.51.100.100, port: 80, scheduler: rr}", traffic: """
              phases:
                - {name: long, connections: 6, concurrency: 6, hold: {until: short}}
                - {name: short, connections: 4, trace: true, pause: 4}
            """)
        #expect(try Harness.lblab("up", path).status == 0)
        defer { _ = try? Harness.lblab("down", "thold") }
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
            for line in try Harness.ipvsadm("lblab-thold-dispatcher").out.split(separator: "\n") where line.contains("->") && line.contains("Route") {
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

    @Test func udpThroughDRAnsweredByEveryServer() throws {
        let path = try lab("tudp", clients: 2, servers: 3, service: "{vip: 198.51.100.100, port: 53, protocol: udp, scheduler: rr}",
                           traffic: "  connections: 30\n  concurrency: 4")
        let captures = dir.appendingPathComponent("udp")
        let r = try Harness.lblab("test", path, "--json", "--captures", captures.path)
        #expect(Harness.counts(try r.json(), "fromClient") == ["rs1": 10, "rs2": 10, "rs3": 10], "\(r.all.suffix(3000))")
        let all = try outcomes(captures)
        #expect(all.count == 30 && all.allSatisfy { $0["error"] == nil && $0["server"] != nil })
        // The answers come from the VIP (DR: straight from the real server, source the VIP).
        let answers = try Harness.run(["tcpdump", "-nn", "-r", captures.appendingPathComponent("c1.pcap").path, "udp and src port 53"]).out
        #expect(answers.split(separator: "\n").count == 15 && answers.split(separator: "\n").allSatisfy { $0.contains("198.51.100.100.53 >") },
                "\(answers)")
        #expect(r.status == 0, "\(r.all.suffix(3000))")
        try Harness.expectNothingLeft(of: "tudp")
    }
}
}
