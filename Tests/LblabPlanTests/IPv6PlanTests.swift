import Testing
import LblabModel
@testable import LblabPlan
import LblabTypes

/// The IPv6 labs' plans: IPv6 on without DAD or router solicitations, the VIP as a /128 (on the
/// DR real servers' lo), IPv6 forwarding on the NAT dispatcher, the NAT real servers' `::/0`
/// through the dispatcher, an IPv6 IPVS table, and `--explain` as `ip -6` / `ipvsadm` commands.
@Suite struct IPv6PlanTests {
    let sixOn = ["net.ipv6.conf.all.disable_ipv6=0", "net.ipv6.conf.default.disable_ipv6=0",
                 "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                 "net.ipv6.conf.default.router_solicitations=0"]

    func vipHolders(_ steps: [Step], _ vip: String) -> [String] {
        steps.compactMap { s -> String? in
            if case .addAddress(let ns, let link, let a) = s, a.address == ip(vip) { "\(ns)/\(link)/\(a.prefixLength)" } else { nil }
        }
    }

    @Test func drSysctlsAndVIPs() throws {
        let steps = try plan("dr-ipv6").steps
        #expect(vipHolders(steps, "2001:db8::100") == ["lblab-dr-ipv6-dispatcher/eth0/128", "lblab-dr-ipv6-rs1/lo/128", "lblab-dr-ipv6-rs2/lo/128"])
        // No ARP or rp_filter sysctls on an IPv6-only real server: they are IPv4's.
        #expect(steps.sysctls(in: "lblab-dr-ipv6-rs1") == sixOn)
        #expect(steps.sysctls(in: "lblab-dr-ipv6-client") == sixOn)
        #expect(steps.sysctls(in: "lblab-dr-ipv6-dispatcher") == sixOn + ["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"])
        #expect(steps.sysctls(in: "lblab-dr-ipv6-switch") == ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"],
                "the switch has no addresses: IPv6 stays off there")
        let service = PlannedService(proto: .tcp, address: ip("2001:db8::100"), port: 80, scheduler: .rr)
        #expect(steps.contains(.addDestination(namespace: "lblab-dr-ipv6-dispatcher", service: service,
                                               destination: PlannedDestination(address: ip("2001:db8::21"), port: 80, forward: .route, weight: 1))))
    }

    /// `vip_on: eth0` (the NDP-flux variant) moves the real server's VIP onto its segment interface.
    @Test func vipOnEth0() throws {
        let steps = try plan("dr-ipv6", ["rs1.vip_on=eth0"]).steps
        #expect(vipHolders(steps, "2001:db8::100") == ["lblab-dr-ipv6-dispatcher/eth0/128", "lblab-dr-ipv6-rs1/eth0/128", "lblab-dr-ipv6-rs2/lo/128"])
        let v4 = try plan("dr-basic", ["rs2.vip_on=eth0"]).steps
        #expect(vipHolders(v4, "198.51.100.100") == ["lblab-dr-basic-dispatcher/eth0/32", "lblab-dr-basic-rs1/lo/32", "lblab-dr-basic-rs2/eth0/32"])
    }

    @Test func natForwardingAndDefaultRoutes() throws {
        let steps = try plan("nat-ipv6").steps
        #expect(steps.sysctls(in: "lblab-nat-ipv6-dispatcher") == sixOn + ["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"])
        #expect(steps.contains(.addRoute(namespace: "lblab-nat-ipv6-rs1",
                                         route: PlannedRoute(destination: prefix("::/0"), gateway: ip("2001:db8:2::1"), link: nil))))
        let off = try plan("nat-ipv6", ["dispatcher.ip_forward=false"]).steps
        #expect(off.sysctls(in: "lblab-nat-ipv6-dispatcher").suffix(2) == ["net.ipv4.ip_forward=0", "net.ipv6.conf.all.forwarding=0"])
    }

    @Test func explainSpeaksIP6() throws {
        let commands = try plan("nat-ipv6").steps.commands
        for expected in [
            "ip -n lblab-nat-ipv6-rs1 -6 addr add 2001:db8:2::21/64 dev eth0 nodad",
            "ip -n lblab-nat-ipv6-dispatcher -6 addr add 2001:db8:1::100/128 dev eth0 nodad",
            "ip -n lblab-nat-ipv6-rs1 -6 route add default via 2001:db8:2::1",
            "ip netns exec lblab-nat-ipv6-dispatcher sysctl -w net.ipv6.conf.all.forwarding=1",
            "ip netns exec lblab-nat-ipv6-dispatcher ipvsadm -A -t [2001:db8:1::100]:80 -s rr",
            "ip netns exec lblab-nat-ipv6-dispatcher ipvsadm -a -t [2001:db8:1::100]:80 -r [2001:db8:2::21]:80 -m -w 1",
        ] {
            #expect(commands.contains(expected), "\(expected)")
        }
    }
}
