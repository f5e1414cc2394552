import Foundation
import Testing
@testable import LblabModel
import LblabTypes

/// Every error a lab file can cause reads `file:line: key: problem (valid: ...)`; an error caused
/// by `--set` names the override in place of the file and has no line.
@Suite struct ErrorFormatTests {
    /// Broken variants of the two-segment NAT lab, one slip each, across every part of the file.
    static let fileSlips: [(String, String)] = [
        ("mode: nat", "mode: lvs"),
        ("segments: [front, back]", "segments: [front, back, Back]"),
        ("segments: [front, back]", "segments: [front, back, spare]"),
        ("{vip: 198.51.100.100}", "{vip: 198.51.100.100, port: 0}"),
        ("{vip: 198.51.100.100}", "{vip: 198.51.100.100, persistence: {timeout: 0}}"),
        ("{vip: 198.51.100.100}", "{vip: 203.0.113.100}"),
        ("{vip: 198.51.100.100}", "{vip: 198.51.100.100, servers: [c]}"),
        ("c: {role: client, segment: front,", "c: {role: client, segment: back,"),
        ("c: {role: client,", "c: {role: clients,"),
        ("    role: dispatcher", "    role: dispatcher\n    weight: 2"),
        ("      eth1: {segment: back,", "      eth1: {segment: rear,"),
        ("      eth1: {segment: back,", "      eth0: {segment: back,"),
        ("203.0.113.1/24}", "203.0.113.1/31}"),
        ("r1: {role: real, segment: back, address: 203.0.113.21/24}", "r1: {role: real, segment: back, address: 203.0.113.21/24, gateway: 198.51.100.2}"),
        ("r1: {role: real, segment: back, address: 203.0.113.21/24}", "r1: {role: real, segment: back, address: 203.0.113.21/24, routes: [{to: x}]}"),
        ("r1: {role: real, segment: back, address: 203.0.113.21/24}", "r1: {role: real, segment: back, address: 203.0.113.21/24, count: 300}"),
        ("r1: {role: real, segment: back, address: 203.0.113.21/24}", "r1: {role: real, segment: back, address: 203.0.113.22/24}"),
        ("r2: {role: real, segment: back, address: 203.0.113.22/24}", "r2: {role: real, segment: back, address: 203.0.113.22/24, rp_filter: 3}"),
        ("r2: {role: real, segment: back, address: 203.0.113.22/24}", "r2: {role: real, segment: back, address: 203.0.113.22/24, tunnel: maybe}"),
        ("r2: {role: real, segment: back, address: 203.0.113.22/24}", "r2: {role: real, segment: back, address: 203.0.113.22/24, forward: nat}"),
        ("r2: {role: real, segment: back, address: 203.0.113.22/24}", "r2: {role: real, segment: back, address: 203.0.113.22/24}\ntraffic: {concurrency: 0}"),
        ("r2: {role: real, segment: back, address: 203.0.113.22/24}", "r2: {role: real, segment: back, address: 203.0.113.22/24}\nexpect: {path: nath}"),
        ("r2: {role: real, segment: back, address: 203.0.113.22/24}", "r2: {role: real, segment: back, address: 203.0.113.22/24}\nname: Nat"),
    ]

    @Test(arguments: fileSlips)
    func fileErrorsPointAtALine(from: String, to: String) throws {
        #expect(twoSegmentLab.contains(from))
        let text = twoSegmentLab.replacingOccurrences(of: from, with: to)
        let e = try #require(labError(text))
        let line = try #require(e.line, "no line: \(e)")
        #expect(e.file == badFile)
        #expect(!e.key.isEmpty)
        #expect(e.description.hasPrefix("\(badFile):\(line): \(e.key): \(e.problem)"))
        if let valid = e.valid { #expect(e.description.hasSuffix(" (valid: \(valid))")) }
        // The line is where the slip is (or, for a check across the file, a line that names its subject).
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect((1...lines.count).contains(line))
        let slipLines = Set(to.split(separator: "\n").compactMap { l in lines.firstIndex { $0 == l }.map { $0 + 1 } })
        let subject = e.key.split(separator: ".").dropFirst().first.map { String($0.prefix { $0 != "[" }) } ?? e.key
        #expect(slipLines.contains(line) || lines[line - 1].contains(subject) || lines[line - 1].hasPrefix("service"),
                "\(e) points at line \(line): \(lines[line - 1])")
    }

    static let setSlips: [String] = [
        "scheduler=fastest", "port=http", "vip=198.51.100.300", "vip=10.0.0.1", "r1.weight=-1", "r1.gateway=10.0.0.1",
        "r1.forward=direct", "d.ip_forward=perhaps", "r2.rp_filter=9", "connections=0", "client=r1", "traffic.service=nope",
        "path=any", "arp=some", "distribution=fair", "mode=vrrp", "name=x_y", "r1.colour=red", "service.sched=rr",
        "nodes.c.role=server",
    ]

    @Test(arguments: setSlips)
    func setErrorsNameTheOverride(override: String) throws {
        let e = try #require(labError(twoSegmentLab, overrides: [override]))
        #expect(e.file == "--set \(override)", "\(e)")
        #expect(e.line == nil)
        #expect(e.description.hasPrefix("--set \(override): \(e.key): "))
    }

    @Test func descriptionFormat() {
        #expect(LabFileError(file: "a.yaml", key: "service.vip", line: 3, problem: "bad", valid: "x, y").description == "a.yaml:3: service.vip: bad (valid: x, y)")
        #expect(LabFileError(file: "b.yaml", key: "", problem: "empty").description == "b.yaml: (top level): empty")
        #expect(LabFileError(file: "--set port=0", key: "service.port", problem: "bad").description == "--set port=0: service.port: bad")
    }
}
