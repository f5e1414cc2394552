import Testing
import LblabModel
@testable import LblabPlan
import LblabTypes

/// Persistence, one-packet and thresholds in the plan and in `--explain`.
@Suite struct SchedulerOptionPlanTests {
    @Test func explainedAsIpvsadmOptions() {
        let p = PlannedService(proto: .tcp, address: ip("198.51.100.100"), port: 80, scheduler: .rr, persistence: 30, persistencePrefix: 24)
        #expect(Step.addService(namespace: "d", service: p).command == "ip netns exec d ipvsadm -A -t 198.51.100.100:80 -s rr -p 30 -M 255.255.255.0")
        #expect(p.flags == 0x1 && p.netmask == 0xffff_ff00)
        let whole = PlannedService(proto: .tcp, address: ip("198.51.100.100"), port: 80, scheduler: .sh, persistence: 60, persistencePrefix: 32)
        #expect(Step.addService(namespace: "d", service: whole).command == "ip netns exec d ipvsadm -A -t 198.51.100.100:80 -s sh -p 60")
        let v6 = PlannedService(proto: .udp, address: ip("2001:db8::5"), port: 53, scheduler: .rr, persistence: 10, persistencePrefix: 64, onePacket: true)
        #expect(Step.addService(namespace: "d", service: v6).command == "ip netns exec d ipvsadm -A -u [2001:db8::5]:53 -s rr -p 10 -M 64 -o")
        #expect(v6.flags == 0x5 && v6.netmask == 64)
        let plain = PlannedService(proto: .tcp, address: ip("198.51.100.100"), port: 80, scheduler: .rr)
        #expect(plain.flags == 0 && plain.netmask == 0xffff_ffff)
        let d = PlannedDestination(address: ip("198.51.100.21"), port: 80, forward: .route, weight: 2, upperThreshold: 4, lowerThreshold: 1)
        #expect(Step.addDestination(namespace: "d", service: plain, destination: d).command
                == "ip netns exec d ipvsadm -a -t 198.51.100.100:80 -r 198.51.100.21:80 -g -w 2 -x 4 -y 1")
    }

    @Test func plannedFromTheLab() throws {
        let p = try plan("dr-basic", ["service.persistence=45", "rs1.u_threshold=3", "rs1.weight=0"])
        let services = p.steps.compactMap { if case .addService(_, let s) = $0 { s } else { nil } }
        #expect(services.map(\.persistence) == [45])
        let dests = p.steps.compactMap { if case .addDestination(_, _, let d) = $0 { d } else { nil } }
        #expect(dests.map(\.upperThreshold) == [3, nil])
        #expect(dests.map(\.weight) == [0, 1], "weight 0 (quiesced) is planned as is")
    }
}
