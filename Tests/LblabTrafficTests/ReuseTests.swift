import Foundation
import LblabSystem
import Testing
import LblabTypes
@testable import LblabTraffic

/// `reuse`: held connections send a second request when their hold is over (the agent answers it
/// and closes), so a run sees which connections outlived what happened while they were held.
@Suite(.serialized, .enabled(if: getuid() == 0, "needs root for network namespaces"))
struct ReuseTests {
    func phases(reuse: Bool) -> [TrafficPhasePlan] {
        var held = TrafficPhasePlan(clients: [0, 1], target: EngineNet.target4, port: EngineNet.port, proto: .tcp, connections: 4,
                                    concurrency: 4, hold: .untilPhase(1))
        held.reuse = reuse
        return [held, TrafficPhasePlan(clients: [1], target: EngineNet.target6, port: EngineNet.port, proto: .tcp, connections: 2,
                                       concurrency: 1, trace: true)]
    }

    @Test func heldConnectionsAnswerASecondRequestThenClose() throws {
        let net = try EngineNet()
        let results = TrafficEngine(clients: net.trafficClients, phases: phases(reuse: true), timeout: 3).run()
        #expect(results.count == 6)
        let held = results.filter { $0.phase == 0 }
        #expect(held.count == 4)
        for r in held {
            let again = try #require(r.reused)
            #expect(again.server == "srv" && again.error == nil)
            #expect(again.at >= r.start + r.latency && again.at <= r.closed!)
        }
        #expect(results.filter { $0.phase == 1 }.allSatisfy { $0.reused == nil && $0.error == nil })
        #expect(try net.establishedAtServer() == 0)
        let plain = TrafficEngine(clients: net.trafficClients, phases: phases(reuse: false), timeout: 3, firstPort: 40_000).run()
        #expect(plain.allSatisfy { $0.reused == nil && $0.error == nil })
    }

    /// The server's end goes away while the connections are held (its agent stops): the second
    /// requests fail, each with its error, and the first answers still count as answered.
    @Test func aConnectionTheServerLostIsNotReused() throws {
        let net = try EngineNet()
        var stopped = false
        let results = TrafficEngine(clients: net.trafficClients, phases: phases(reuse: true), timeout: 1, firstPort: 45_000).run { p, index in
            if p == 1, index == 1, !stopped { Processes.stop(net.agent); stopped = true }
        }
        let held = results.filter { $0.phase == 0 }
        #expect(held.count == 4 && held.allSatisfy { $0.error == nil && $0.server == "srv" })
        #expect(held.allSatisfy { $0.reused?.server == nil && $0.reused?.error != nil }, "\(held.map { $0.reused as Any })")
    }
}
