import Testing
import LblabKeepalived
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

/// The keepalived each VRRP dispatcher runs: its vrrp_instance, and lvs_sync_daemon with `sync: true`.
@Suite struct VRRPKeepalivedPlanTests {
    func config(_ node: String, _ overrides: [String] = []) throws -> String {
        let spec = try loadLab("dr-vrrp", overrides)
        let n = try #require(spec.node(named: node))
        return try #require(Planner.keepalivedConfig(of: n, spec)).rendered
    }

    @Test func primaryStartsMasterBackupStartsBackupBothSync() throws {
        let primary = try config("primary"), backup = try config("backup")
        for (text, state, priority) in [(primary, "MASTER", 150), (backup, "BACKUP", 100)] {
            #expect(text.contains("""
                vrrp_instance VI_dr-vrrp {
                    state \(state)
                    interface eth0
                    virtual_router_id 51
                    priority \(priority)
                    advert_int 1
                    virtual_ipaddress {
                        198.51.100.100/32 dev eth0
                    }
                }
                """), "\(text)")
            #expect(text.contains("    lvs_sync_daemon eth0 VI_dr-vrrp\n"))
            #expect(!text.contains("virtual_server"), "the plan, not keepalived, fills IPVS without health_check")
        }
        let steps = try plan("dr-vrrp").steps
        let started = steps.compactMap { s -> String? in if case .startDaemon(_, let node, let d) = s, d.kind == .keepalived { node } else { nil } }
        #expect(started == ["primary", "backup"])
    }

    @Test func noSyncNoSyncDaemonAndTheRouterIDAsGiven() throws {
        let text = try config("backup", ["sync=false", "backup.vrrp.router_id=52"])
        #expect(!text.contains("lvs_sync_daemon"))
        #expect(text.contains("virtual_router_id 52"))
    }
}
