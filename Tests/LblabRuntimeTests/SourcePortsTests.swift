import Foundation
import Testing
@testable import LblabRuntime

/// Each run on a running lab starts its source ports after the previous run's, wrapping to the
/// first port when a run would not fit.
@Suite struct SourcePortsTests {
    @Test func runsFollowEachOtherAndWrap() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("lblab-ports-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let ports = SourcePorts(file: file)
        #expect(ports.take(100) == 2000)
        #expect(ports.take(2000) == 2100)
        #expect(ports.take(1) == 4100)
        #expect(ports.take(28_000) == 4101)
        #expect(ports.take(1_000) == 2000, "32101 + 1000 would enter the ephemeral range (32768 on): back to the first port")
        #expect(ports.take(62_000) == 3000, "too many to stay below the ephemeral range: the whole range")
        #expect(ports.take(600) == 2000, "65000 is past the ephemeral range's start: back to the first port")
        #expect(ports.take(10) == 2600)
        try "garbage".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(ports.take(5) == 2000)
    }
}
