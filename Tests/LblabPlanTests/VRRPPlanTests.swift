import Testing
import LblabModel
@testable import LblabPlan
import LblabTypes

/// A VRRP pair: the plan puts the same IPVS table on both dispatchers and the VIP on neither
/// (keepalived adds it on the MASTER); the real servers hold it on lo as in any DR lab.
@Suite struct VRRPPlanTests {
    @Test func bothDispatchersGetTheServiceNeitherGetsTheVIP() throws {
        let steps = try plan("dr-vrrp").steps
        let vip = IPAddress("198.51.100.100")!
        let holders = steps.compactMap { s -> String? in
            if case .addAddress(let ns, let link, let a) = s, a.address == vip { "\(ns)/\(link)" } else { nil }
        }
        #expect(holders == ["lblab-dr-vrrp-rs1/lo", "lblab-dr-vrrp-rs2/lo"])
        var tables: [String: [String]] = [:]
        for s in steps {
            switch s {
            case .addService(let ns, let svc): tables[ns, default: []].append("\(svc.address):\(svc.port) \(svc.scheduler.rawValue)")
            case .addDestination(let ns, _, let d): tables[ns, default: []].append("-> \(d.address)")
            default: break
            }
        }
        let table = ["198.51.100.100:80 rr", "-> 198.51.100.21", "-> 198.51.100.22"]
        #expect(tables == ["lblab-dr-vrrp-primary": table, "lblab-dr-vrrp-backup": table])
    }
}
