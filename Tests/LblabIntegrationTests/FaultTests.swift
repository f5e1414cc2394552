import Foundation
import Testing

/// `lblab fault` on an IPVS lab, and the liveness rule every lab gets.
extension IntegrationTests {
@Suite struct FaultTests {
    /// A real server's agent stopped by hand: the test fails the liveness rule naming it (and its
    /// connections fail); `fault up` starts it again and the lab passes.
    @Test func aStoppedAgentFailsLivenessAndComesBack() throws {
        try Harness.lblab("down", "dr-basic")
        #expect(try Harness.lblab("up", "dr-basic").status == 0)
        defer { _ = try? Harness.lblab("down", "dr-basic") }
        let down = try Harness.lblab("fault", "dr-basic", "rs2", "down")
        #expect(down.status == 0, "\(down.all)")
        let r = try Harness.lblab("test", "dr-basic", "--set", "connections=20", "--json")
        #expect(r.status == 1)
        let liveness = try #require(Harness.verdict(try r.json(), "liveness"))
        #expect(liveness["passed"] as? Bool == false)
        #expect((liveness["evidence"] as? [String] ?? []).contains { $0.contains("agent of rs2") }, "\(liveness)")
        #expect(try Harness.lblab("fault", "dr-basic", "rs2", "up").status == 0)
        let again = try Harness.lblab("test", "dr-basic", "--set", "connections=20", "--json")
        #expect(again.status == 0, "\(again.all.suffix(1500))")
        #expect(Harness.verdict(try again.json(), "liveness")?["passed"] as? Bool == true)
        let unknown = try Harness.lblab("fault", "dr-basic", "client", "down")
        #expect(unknown.status == 2 && unknown.err.contains("runs no server process"), "\(unknown.all)")
    }
}
}
