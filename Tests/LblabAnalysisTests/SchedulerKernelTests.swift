import Foundation
import LblabModel
import LblabTypes
import Testing
@testable import LblabAnalysis

/// The oracles against what kernel IPVS (Debian's 6.1) chose, recorded by
/// Fixtures/kernel-choices/record.py in the lab VM: rr and wrr sequences with their starting point,
/// weight 0 skipped, fo, sh and mh for 64 client addresses (equal and unequal weights), dh for 32 VIPs.
@Suite struct SchedulerKernelTests {
    struct Recording: Decodable {
        struct Dest: Decodable { var address: String; var weight: Int }
        struct Conn: Decodable { var client: String; var port: Int; var vip: String; var destination: String? }
        struct Case: Decodable { var name: String; var scheduler: String; var added: [Dest]; var list: [Dest]; var connections: [Conn] }
        var kernel: String
        var cases: [Case]
    }

    static func recording() throws -> Recording {
        let url = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
            .appendingPathComponent("kernel-choices/choices.json")
        return try JSONDecoder().decode(Recording.self, from: Data(contentsOf: url))
    }

    @Test(arguments: ["rr", "wrr-321", "wrr-42", "rr-w0", "fo", "sh", "sh-w", "mh", "mh-w", "dh"])
    func oracleAgreesWithTheKernel(name: String) throws {
        let rec = try Self.recording()
        let c = try #require(rec.cases.first { $0.name == name })
        #expect(c.connections.allSatisfy { $0.destination != nil }, "every SYN was scheduled")
        // Destinations named by address; the kernel's list is the reverse of the order added.
        let dests = c.added.reversed().map {
            OracleDestination(server: $0.address, address: IPAddress($0.address), port: 80, weight: $0.weight)
        }
        let scheduler = try #require(Scheduler(rawValue: c.scheduler))
        let svc = OracleService(name: name, scheduler: scheduler, vip: IPAddress(c.connections[0].vip)!, destinations: dests)
        // dh: one service per VIP in the recording, each with the same destinations: judge each VIP alone.
        let groups = Dictionary(grouping: c.connections.enumerated(), by: { $0.element.vip })
        var judged = 0
        for (vip, items) in groups {
            var s = svc
            s.vip = IPAddress(vip)!
            let conns = items.map { i, x in
                OracleConnection(number: i + 1, client: IPAddress(x.client), clientPort: UInt16(x.port), destination: IPAddress(x.vip)!,
                                 server: x.destination, start: Double(i), end: Double(i) + 0.001)
            }
            let j = SchedulerOracle.judge(s, connections: conns, ordered: true)
            #expect(j.wrongCount == 0, "\(name) \(vip): first wrong \(j.firstWrong.map { "\($0.connection.label) got \($0.connection.server ?? "-"), expected \($0.expectedText): \($0.reason)" } ?? "-")")
            judged += j.judged
        }
        #expect(judged == c.connections.count)
        // The spread is not trivial: the hashing cases land on every destination.
        if ["sh", "mh", "dh", "sh-w", "mh-w"].contains(name) {
            #expect(Set(c.connections.compactMap(\.destination)).count == c.added.count)
        }
    }

    /// A wrong scheduler is caught on the same recording: sh's choices are not mh's.
    @Test func anotherSchedulersOracleDisagrees() throws {
        let rec = try Self.recording()
        let c = try #require(rec.cases.first { $0.name == "sh" })
        let dests = c.added.reversed().map { OracleDestination(server: $0.address, address: IPAddress($0.address), port: 80, weight: $0.weight) }
        let conns = c.connections.enumerated().map { i, x in
            OracleConnection(number: i + 1, client: IPAddress(x.client), clientPort: UInt16(x.port), destination: IPAddress(x.vip)!, server: x.destination)
        }
        let j = SchedulerOracle.judge(OracleService(name: "x", scheduler: .mh, vip: IPAddress(c.connections[0].vip)!, destinations: dests),
                                      connections: conns, ordered: true)
        #expect(j.wrongCount > 10)
    }
}
