import Foundation
import Testing
import LblabModel
@testable import LblabPlan
import LblabTypes

/// The exact plans of the shipped labs, as the commands `--explain` prints for them. Each list was
/// read line by line against the article's setup (SUMMARY.md 03-2) and the issue's NAT and TUN
/// sections; a change to the planner that changes what the kernel is asked to do changes a line here.
@Suite struct GoldenPlanTests {
    func compare(_ lab: String, _ overrides: [String] = [], to golden: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let commands = try plan(lab, overrides).steps.commands
        for (i, (got, want)) in zip(commands, golden).enumerated() where got != want {
            Issue.record("\(lab) step \(i + 1):\n  got  \(got)\n  want \(want)", sourceLocation: sourceLocation)
            return
        }
        #expect(commands.count == golden.count, "\(lab): \(commands.count) steps, golden has \(golden.count)",
                sourceLocation: sourceLocation)
        if commands.count > golden.count { Issue.record("extra: \(commands[golden.count...])", sourceLocation: sourceLocation) }
        if commands.count < golden.count { Issue.record("missing: \(golden[commands.count...])", sourceLocation: sourceLocation) }
    }

    @Test func drBasic() throws { try compare("dr-basic", to: Golden.drBasic) }
    @Test func natBasic() throws { try compare("nat-basic", to: Golden.natBasic) }
    @Test func tunBasic() throws { try compare("tun-basic", to: Golden.tunBasic) }

    /// seed-dr is dr-basic with the article's names and addresses.
    @Test func seedDRIsDRBasicWithTheArticlesAddresses() throws {
        try compare("seed-dr", to: Golden.drBasic.map {
            rename($0, ["lblab-dr-basic-": "lblab-seed-dr-", "rs1": "web1", "rs2": "web2",
                        "198.51.100.10": "192.168.219.50", "198.51.100.2": "192.168.219.134",
                        "198.51.100.21": "192.168.219.135", "198.51.100.22": "192.168.219.136",
                        "198.51.100.100": "192.168.219.100"])
        })
    }

    /// seed-nat is nat-basic with the article's addresses: its real servers name their gateway,
    /// nat-basic's take the dispatcher's back address by default, and the plans agree.
    @Test func seedNATIsNATBasicWithTheArticlesAddresses() throws {
        try compare("seed-nat", to: Golden.natBasic.map {
            rename($0, ["lblab-nat-basic-": "lblab-seed-nat-", "rs1": "web1", "rs2": "web2",
                        "198.51.100.10": "192.168.219.50", "198.51.100.2": "192.168.219.134",
                        "203.0.113.1": "192.168.56.100", "203.0.113.21": "192.168.56.135", "203.0.113.22": "192.168.56.136",
                        "198.51.100.100": "192.168.219.100"])
        })
    }

    /// Replaces whole tokens (names and addresses are never part of a longer token).
    func rename(_ line: String, _ map: [String: String]) -> String {
        var out = line
        for (from, to) in map.sorted(by: { $0.key.count > $1.key.count }) {
            let pattern = from.hasSuffix("-") ? NSRegularExpression.escapedPattern(for: from)
                : "(?<![0-9A-Za-z.])" + NSRegularExpression.escapedPattern(for: from) + "(?![0-9A-Za-z]|\\.[0-9])"
            out = out.replacingOccurrences(of: pattern, with: to, options: .regularExpression)
        }
        return out
    }
}

enum Golden {
    /// `lblab up dr-basic --explain`, one command per step.
    static let drBasic: [String] = [
        "ip netns add lblab-dr-basic-switch",
        "ip netns exec lblab-dr-basic-switch sysctl -w net.ipv6.conf.all.disable_ipv6=1",
        "ip netns exec lblab-dr-basic-switch sysctl -w net.ipv6.conf.default.disable_ipv6=1",
        "ip -n lblab-dr-basic-switch link add br-lan type bridge",
        "ip -n lblab-dr-basic-switch link set br-lan up",
        "ip netns add lblab-dr-basic-client",
        "ip netns exec lblab-dr-basic-client sysctl -w net.ipv6.conf.all.disable_ipv6=1",
        "ip netns exec lblab-dr-basic-client sysctl -w net.ipv6.conf.default.disable_ipv6=1",
        "ip -n lblab-dr-basic-client link set lo up",
        "ip -n lblab-dr-basic-switch link add client type veth peer name eth0 netns lblab-dr-basic-client",
        "ip -n lblab-dr-basic-switch link set client master br-lan",
        "ip -n lblab-dr-basic-switch link set client up",
        "ip -n lblab-dr-basic-client addr add 198.51.100.10/24 dev eth0",
        "ip -n lblab-dr-basic-client link set eth0 up",
        "ip netns add lblab-dr-basic-dispatcher",
        "ip netns exec lblab-dr-basic-dispatcher sysctl -w net.ipv6.conf.all.disable_ipv6=1",
        "ip netns exec lblab-dr-basic-dispatcher sysctl -w net.ipv6.conf.default.disable_ipv6=1",
        "ip -n lblab-dr-basic-dispatcher link set lo up",
        "ip -n lblab-dr-basic-switch link add dispatcher type veth peer name eth0 netns lblab-dr-basic-dispatcher",
        "ip -n lblab-dr-basic-switch link set dispatcher master br-lan",
        "ip -n lblab-dr-basic-switch link set dispatcher up",
        "ip -n lblab-dr-basic-dispatcher addr add 198.51.100.2/24 dev eth0",
        "ip -n lblab-dr-basic-dispatcher link set eth0 up",
        "ip netns add lblab-dr-basic-rs1",
        "ip netns exec lblab-dr-basic-rs1 sysctl -w net.ipv6.conf.all.disable_ipv6=1",
        "ip netns exec lblab-dr-basic-rs1 sysctl -w net.ipv6.conf.default.disable_ipv6=1",
        "ip -n lblab-dr-basic-rs1 link set lo up",
        "ip -n lblab-dr-basic-switch link add rs1 type veth peer name eth0 netns lblab-dr-basic-rs1",
        "ip -n lblab-dr-basic-switch link set rs1 master br-lan",
        "ip -n lblab-dr-basic-switch link set rs1 up",
        "ip -n lblab-dr-basic-rs1 addr add 198.51.100.21/24 dev eth0",
        "ip -n lblab-dr-basic-rs1 link set eth0 up",
        "ip netns add lblab-dr-basic-rs2",
        "ip netns exec lblab-dr-basic-rs2 sysctl -w net.ipv6.conf.all.disable_ipv6=1",
        "ip netns exec lblab-dr-basic-rs2 sysctl -w net.ipv6.conf.default.disable_ipv6=1",
        "ip -n lblab-dr-basic-rs2 link set lo up",
        "ip -n lblab-dr-basic-switch link add rs2 type veth peer name eth0 netns lblab-dr-basic-rs2",
        "ip -n lblab-dr-basic-switch link set rs2 master br-lan",
        "ip -n lblab-dr-basic-switch link set rs2 up",
        "ip -n lblab-dr-basic-rs2 addr add 198.51.100.22/24 dev eth0",
        "ip -n lblab-dr-basic-rs2 link set eth0 up",
        "ip -n lblab-dr-basic-dispatcher addr add 198.51.100.100/32 dev eth0",
        "ip netns exec lblab-dr-basic-dispatcher sysctl -w net.ipv4.ip_forward=1",
        "ip netns exec lblab-dr-basic-dispatcher ipvsadm -A -t 198.51.100.100:80 -s rr",
        "ip netns exec lblab-dr-basic-dispatcher ipvsadm -a -t 198.51.100.100:80 -r 198.51.100.21:80 -g -w 1",
        "ip netns exec lblab-dr-basic-dispatcher ipvsadm -a -t 198.51.100.100:80 -r 198.51.100.22:80 -g -w 1",
        "ip -n lblab-dr-basic-rs1 addr add 198.51.100.100/32 dev lo",
        "ip netns exec lblab-dr-basic-rs1 sysctl -w net.ipv4.conf.all.arp_ignore=1",
        "ip netns exec lblab-dr-basic-rs1 sysctl -w net.ipv4.conf.all.arp_announce=2",
        "ip netns exec lblab-dr-basic-rs1 sysctl -w net.ipv4.conf.lo.arp_ignore=1",
        "ip netns exec lblab-dr-basic-rs1 sysctl -w net.ipv4.conf.lo.arp_announce=2",
        "ip netns exec lblab-dr-basic-rs1 sysctl -w net.ipv4.conf.all.rp_filter=0",
        "ip netns exec lblab-dr-basic-rs1 sysctl -w net.ipv4.conf.eth0.rp_filter=0",
        "ip netns exec lblab-dr-basic-rs1 lblab-agent --name rs1 --tcp 80 &   # lblab's built-in server",
        "ip -n lblab-dr-basic-rs2 addr add 198.51.100.100/32 dev lo",
        "ip netns exec lblab-dr-basic-rs2 sysctl -w net.ipv4.conf.all.arp_ignore=1",
        "ip netns exec lblab-dr-basic-rs2 sysctl -w net.ipv4.conf.all.arp_announce=2",
        "ip netns exec lblab-dr-basic-rs2 sysctl -w net.ipv4.conf.lo.arp_ignore=1",
        "ip netns exec lblab-dr-basic-rs2 sysctl -w net.ipv4.conf.lo.arp_announce=2",
        "ip netns exec lblab-dr-basic-rs2 sysctl -w net.ipv4.conf.all.rp_filter=0",
        "ip netns exec lblab-dr-basic-rs2 sysctl -w net.ipv4.conf.eth0.rp_filter=0",
        "ip netns exec lblab-dr-basic-rs2 lblab-agent --name rs2 --tcp 80 &   # lblab's built-in server",
    ]

    /// `lblab up nat-basic --explain`, one command per step.
    static let natBasic: [String] = [
        "ip netns add lblab-nat-basic-switch",
        "ip netns exec lblab-nat-basic-switch sysctl -w net.ipv6.conf.all.disable_ipv6=1",
        "ip netns exec lblab-nat-basic-switch sysctl -w net.ipv6.conf.default.disable_ipv6=1",
        "ip -n lblab-nat-basic-switch link add br-front type bridge",
        "ip -n lblab-nat-basic-switch link set br-front up",
        "ip -n lblab-nat-basic-switch link add br-back type bridge",
        "ip -n lblab-nat-basic-switch link set br-back up",
        "ip netns add lblab-nat-basic-client",
        "ip netns exec lblab-nat-basic-client sysctl -w net.ipv6.conf.all.disable_ipv6=1",
        "ip netns exec lblab-nat-basic-client sysctl -w net.ipv6.conf.default.disable_ipv6=1",
        "ip -n lblab-nat-basic-client link set lo up",
        "ip -n lblab-nat-basic-switch link add client type veth peer name eth0 netns lblab-nat-basic-client",
        "ip -n lblab-nat-basic-switch link set client master br-front",
        "ip -n lblab-nat-basic-switch link set client up",
        "ip -n lblab-nat-basic-client addr add 198.51.100.10/24 dev eth0",
        "ip -n lblab-nat-basic-client link set eth0 up",
        "ip netns add lblab-nat-basic-dispatcher",
        "ip netns exec lblab-nat-basic-dispatcher sysctl -w net.ipv6.conf.all.disable_ipv6=1",
        "ip netns exec lblab-nat-basic-dispatcher sysctl -w net.ipv6.conf.default.disable_ipv6=1",
        "ip -n lblab-nat-basic-dispatcher link set lo up",
        "ip -n lblab-nat-basic-switch link add dispatcher-eth0 type veth peer name eth0 netns lblab-nat-basic-dispatcher",
        "ip -n lblab-nat-basic-switch link set dispatcher-eth0 master br-front",
        "ip -n lblab-nat-basic-switch link set dispatcher-eth0 up",
        "ip -n lblab-nat-basic-dispatcher addr add 198.51.100.2/24 dev eth0",
        "ip -n lblab-nat-basic-dispatcher link set eth0 up",
        "ip -n lblab-nat-basic-switch link add dispatcher-eth1 type veth peer name eth1 netns lblab-nat-basic-dispatcher",
        "ip -n lblab-nat-basic-switch link set dispatcher-eth1 master br-back",
        "ip -n lblab-nat-basic-switch link set dispatcher-eth1 up",
        "ip -n lblab-nat-basic-dispatcher addr add 203.0.113.1/24 dev eth1",
        "ip -n lblab-nat-basic-dispatcher link set eth1 up",
        "ip netns add lblab-nat-basic-rs1",
        "ip netns exec lblab-nat-basic-rs1 sysctl -w net.ipv6.conf.all.disable_ipv6=1",
        "ip netns exec lblab-nat-basic-rs1 sysctl -w net.ipv6.conf.default.disable_ipv6=1",
        "ip -n lblab-nat-basic-rs1 link set lo up",
        "ip -n lblab-nat-basic-switch link add rs1 type veth peer name eth0 netns lblab-nat-basic-rs1",
        "ip -n lblab-nat-basic-switch link set rs1 master br-back",
        "ip -n lblab-nat-basic-switch link set rs1 up",
        "ip -n lblab-nat-basic-rs1 addr add 203.0.113.21/24 dev eth0",
        "ip -n lblab-nat-basic-rs1 link set eth0 up",
        "ip -n lblab-nat-basic-rs1 route add default via 203.0.113.1",
        "ip netns add lblab-nat-basic-rs2",
        "ip netns exec lblab-nat-basic-rs2 sysctl -w net.ipv6.conf.all.disable_ipv6=1",
        "ip netns exec lblab-nat-basic-rs2 sysctl -w net.ipv6.conf.default.disable_ipv6=1",
        "ip -n lblab-nat-basic-rs2 link set lo up",
        "ip -n lblab-nat-basic-switch link add rs2 type veth peer name eth0 netns lblab-nat-basic-rs2",
        "ip -n lblab-nat-basic-switch link set rs2 master br-back",
        "ip -n lblab-nat-basic-switch link set rs2 up",
        "ip -n lblab-nat-basic-rs2 addr add 203.0.113.22/24 dev eth0",
        "ip -n lblab-nat-basic-rs2 link set eth0 up",
        "ip -n lblab-nat-basic-rs2 route add default via 203.0.113.1",
        "ip -n lblab-nat-basic-dispatcher addr add 198.51.100.100/32 dev eth0",
        "ip netns exec lblab-nat-basic-dispatcher sysctl -w net.ipv4.ip_forward=1",
        "ip netns exec lblab-nat-basic-dispatcher ipvsadm -A -t 198.51.100.100:80 -s rr",
        "ip netns exec lblab-nat-basic-dispatcher ipvsadm -a -t 198.51.100.100:80 -r 203.0.113.21:80 -m -w 1",
        "ip netns exec lblab-nat-basic-dispatcher ipvsadm -a -t 198.51.100.100:80 -r 203.0.113.22:80 -m -w 1",
        "ip netns exec lblab-nat-basic-rs1 lblab-agent --name rs1 --tcp 80 &   # lblab's built-in server",
        "ip netns exec lblab-nat-basic-rs2 lblab-agent --name rs2 --tcp 80 &   # lblab's built-in server",
    ]

    /// `lblab up tun-basic --explain`, one command per step.
    static let tunBasic: [String] = [
        "ip netns add lblab-tun-basic-switch",
        "ip netns exec lblab-tun-basic-switch sysctl -w net.ipv6.conf.all.disable_ipv6=1",
        "ip netns exec lblab-tun-basic-switch sysctl -w net.ipv6.conf.default.disable_ipv6=1",
        "ip -n lblab-tun-basic-switch link add br-lan type bridge",
        "ip -n lblab-tun-basic-switch link set br-lan up",
        "ip netns add lblab-tun-basic-client",
        "ip netns exec lblab-tun-basic-client sysctl -w net.ipv6.conf.all.disable_ipv6=1",
        "ip netns exec lblab-tun-basic-client sysctl -w net.ipv6.conf.default.disable_ipv6=1",
        "ip -n lblab-tun-basic-client link set lo up",
        "ip -n lblab-tun-basic-switch link add client type veth peer name eth0 netns lblab-tun-basic-client",
        "ip -n lblab-tun-basic-switch link set client master br-lan",
        "ip -n lblab-tun-basic-switch link set client up",
        "ip -n lblab-tun-basic-client addr add 198.51.100.10/24 dev eth0",
        "ip -n lblab-tun-basic-client link set eth0 up",
        "ip netns add lblab-tun-basic-dispatcher",
        "ip netns exec lblab-tun-basic-dispatcher sysctl -w net.ipv6.conf.all.disable_ipv6=1",
        "ip netns exec lblab-tun-basic-dispatcher sysctl -w net.ipv6.conf.default.disable_ipv6=1",
        "ip -n lblab-tun-basic-dispatcher link set lo up",
        "ip -n lblab-tun-basic-switch link add dispatcher type veth peer name eth0 netns lblab-tun-basic-dispatcher",
        "ip -n lblab-tun-basic-switch link set dispatcher master br-lan",
        "ip -n lblab-tun-basic-switch link set dispatcher up",
        "ip -n lblab-tun-basic-dispatcher addr add 198.51.100.2/24 dev eth0",
        "ip -n lblab-tun-basic-dispatcher link set eth0 up",
        "ip netns add lblab-tun-basic-rs1",
        "ip netns exec lblab-tun-basic-rs1 sysctl -w net.ipv6.conf.all.disable_ipv6=1",
        "ip netns exec lblab-tun-basic-rs1 sysctl -w net.ipv6.conf.default.disable_ipv6=1",
        "ip -n lblab-tun-basic-rs1 link set lo up",
        "ip -n lblab-tun-basic-switch link add rs1 type veth peer name eth0 netns lblab-tun-basic-rs1",
        "ip -n lblab-tun-basic-switch link set rs1 master br-lan",
        "ip -n lblab-tun-basic-switch link set rs1 up",
        "ip -n lblab-tun-basic-rs1 addr add 198.51.100.21/24 dev eth0",
        "ip -n lblab-tun-basic-rs1 link set eth0 up",
        "ip netns add lblab-tun-basic-rs2",
        "ip netns exec lblab-tun-basic-rs2 sysctl -w net.ipv6.conf.all.disable_ipv6=1",
        "ip netns exec lblab-tun-basic-rs2 sysctl -w net.ipv6.conf.default.disable_ipv6=1",
        "ip -n lblab-tun-basic-rs2 link set lo up",
        "ip -n lblab-tun-basic-switch link add rs2 type veth peer name eth0 netns lblab-tun-basic-rs2",
        "ip -n lblab-tun-basic-switch link set rs2 master br-lan",
        "ip -n lblab-tun-basic-switch link set rs2 up",
        "ip -n lblab-tun-basic-rs2 addr add 198.51.100.22/24 dev eth0",
        "ip -n lblab-tun-basic-rs2 link set eth0 up",
        "ip -n lblab-tun-basic-dispatcher addr add 198.51.100.100/32 dev eth0",
        "ip netns exec lblab-tun-basic-dispatcher sysctl -w net.ipv4.ip_forward=1",
        "ip netns exec lblab-tun-basic-dispatcher ipvsadm -A -t 198.51.100.100:80 -s rr",
        "ip netns exec lblab-tun-basic-dispatcher ipvsadm -a -t 198.51.100.100:80 -r 198.51.100.21:80 -i -w 1",
        "ip netns exec lblab-tun-basic-dispatcher ipvsadm -a -t 198.51.100.100:80 -r 198.51.100.22:80 -i -w 1",
        "ip -n lblab-tun-basic-rs1 link add ipip0 type ipip local 198.51.100.21",
        "ip -n lblab-tun-basic-rs1 link set ipip0 up",
        "ip -n lblab-tun-basic-rs1 addr add 198.51.100.100/32 dev ipip0",
        "ip netns exec lblab-tun-basic-rs1 sysctl -w net.ipv4.conf.all.arp_ignore=1",
        "ip netns exec lblab-tun-basic-rs1 sysctl -w net.ipv4.conf.all.arp_announce=2",
        "ip netns exec lblab-tun-basic-rs1 sysctl -w net.ipv4.conf.lo.arp_ignore=1",
        "ip netns exec lblab-tun-basic-rs1 sysctl -w net.ipv4.conf.lo.arp_announce=2",
        "ip netns exec lblab-tun-basic-rs1 sysctl -w net.ipv4.conf.all.rp_filter=0",
        "ip netns exec lblab-tun-basic-rs1 sysctl -w net.ipv4.conf.eth0.rp_filter=0",
        "ip netns exec lblab-tun-basic-rs1 sysctl -w net.ipv4.conf.ipip0.rp_filter=0",
        "ip netns exec lblab-tun-basic-rs1 lblab-agent --name rs1 --tcp 80 &   # lblab's built-in server",
        "ip -n lblab-tun-basic-rs2 link add ipip0 type ipip local 198.51.100.22",
        "ip -n lblab-tun-basic-rs2 link set ipip0 up",
        "ip -n lblab-tun-basic-rs2 addr add 198.51.100.100/32 dev ipip0",
        "ip netns exec lblab-tun-basic-rs2 sysctl -w net.ipv4.conf.all.arp_ignore=1",
        "ip netns exec lblab-tun-basic-rs2 sysctl -w net.ipv4.conf.all.arp_announce=2",
        "ip netns exec lblab-tun-basic-rs2 sysctl -w net.ipv4.conf.lo.arp_ignore=1",
        "ip netns exec lblab-tun-basic-rs2 sysctl -w net.ipv4.conf.lo.arp_announce=2",
        "ip netns exec lblab-tun-basic-rs2 sysctl -w net.ipv4.conf.all.rp_filter=0",
        "ip netns exec lblab-tun-basic-rs2 sysctl -w net.ipv4.conf.eth0.rp_filter=0",
        "ip netns exec lblab-tun-basic-rs2 sysctl -w net.ipv4.conf.ipip0.rp_filter=0",
        "ip netns exec lblab-tun-basic-rs2 lblab-agent --name rs2 --tcp 80 &   # lblab's built-in server",
    ]
}
