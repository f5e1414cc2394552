import Foundation
import LblabCapture
import Testing
import LblabTypes
@testable import LblabTraffic

/// Captures that hand frames over in blocks (not one wakeup per frame) still get every frame of
/// the traffic, on the server's side of both clients' links.
extension EngineTests {
    @Test(arguments: [nil, 50] as [Int32?])
    func batchedCapturesMissNothing(batchMillis: Int32?) throws {
        let net = try EngineNet()
        let captures = try net.server.run {
            try Dictionary(uniqueKeysWithValues: ["v1", "v2"].map { ($0, try PacketCapture(interface: $0, batchMillis: batchMillis)) })
        }
        let recorder = CaptureRecorder(captures: captures)
        try recorder.start()
        let phase = TrafficPhasePlan(clients: [0, 1], target: EngineNet.target4, port: EngineNet.port, proto: .tcp, connections: 60, concurrency: 8)
        let results = TrafficEngine(clients: net.trafficClients, phases: [phase], timeout: 5).run()
        let captured = recorder.stop()
        #expect(results.count == 60 && results.allSatisfy { $0.error == nil })
        // SYNs (without ACK) to port 8080, per link: IPv4 in Ethernet, TCP flags at 13.
        var syns: [String: Set<UInt16>] = [:]
        for (point, frames) in captured.frames {
            for i in 0..<frames.count {
                frames.withBytes(of: i) { b in
                    guard b.count >= 54, b[12] == 0x08, b[13] == 0x00, b[23] == 6 else { return }
                    let t = 14 + Int(b[14] & 0x0f) * 4
                    guard b.count >= t + 14, UInt16(b[t + 2]) << 8 | UInt16(b[t + 3]) == EngineNet.port, b[t + 13] & 0x12 == 0x02 else { return }
                    syns[point, default: []].insert(UInt16(b[t]) << 8 | UInt16(b[t + 1]))
                }
            }
        }
        for (point, client) in [("v1", 0), ("v2", 1)] {
            #expect(syns[point] == Set(results.filter { $0.client == client }.map(\.localPort)), "\(point)")
        }
        #expect(captured.dropped.values.allSatisfy { $0 == 0 })
    }
}
