import Foundation
import Testing
import LblabModel
@testable import LblabPlan
import LblabTypes

/// `--explain`: the plan as the commands the article teaches.
@Suite struct ExplainTests {
    let svc = PlannedService(proto: .tcp, address: ip("198.51.100.100"), port: 80, scheduler: .rr)

    /// Each step kind, spelled as a person would type it.
    @Test func everyStepKindsCommand() {
        let cases: [(Step, String)] = [
            (.createNamespace(name: "lblab-x-rs1"), "ip netns add lblab-x-rs1"),
            (.deleteNamespace(name: "lblab-x-rs1"), "ip netns del lblab-x-rs1"),
            (.setSysctl(namespace: "n", key: "net.ipv4.conf.eth0.rp_filter", value: "2"), "ip netns exec n sysctl -w net.ipv4.conf.eth0.rp_filter=2"),
            (.createBridge(namespace: "sw", name: "br-back"), "ip -n sw link add br-back type bridge"),
            (.createVeth(namespace: "sw", name: "d-eth1", peerNamespace: "d", peerName: "eth1"), "ip -n sw link add d-eth1 type veth peer name eth1 netns d"),
            (.setMaster(namespace: "sw", link: "d-eth1", master: "br-back"), "ip -n sw link set d-eth1 master br-back"),
            (.setUp(namespace: "d", link: "eth1"), "ip -n d link set eth1 up"),
            (.addAddress(namespace: "d", link: "eth1", address: prefix("203.0.113.1/24")), "ip -n d addr add 203.0.113.1/24 dev eth1"),
            (.addRoute(namespace: "r", route: PlannedRoute(destination: prefix("0.0.0.0/0"), gateway: ip("203.0.113.1"), link: nil)),
             "ip -n r route add default via 203.0.113.1"),
            (.addRoute(namespace: "c", route: PlannedRoute(destination: prefix("192.0.2.0/24"), gateway: nil, link: "eth1")),
             "ip -n c route add 192.0.2.0/24 dev eth1"),
            (.addRoute(namespace: "c", route: PlannedRoute(destination: prefix("198.51.100.100/32"), gateway: ip("192.0.2.2"), link: "eth0")),
             "ip -n c route add 198.51.100.100/32 via 192.0.2.2 dev eth0"),
            (.createTunnel(namespace: "r", name: "ipip0", local: ip("198.51.100.21")), "ip -n r link add ipip0 type ipip local 198.51.100.21"),
            (.addService(namespace: "d", service: svc), "ip netns exec d ipvsadm -A -t 198.51.100.100:80 -s rr"),
            (.addService(namespace: "d", service: PlannedService(proto: .udp, address: ip("203.0.113.5"), port: 53, scheduler: .sh)),
             "ip netns exec d ipvsadm -A -u 203.0.113.5:53 -s sh"),
            (.addService(namespace: "d", service: PlannedService(proto: .tcp, address: ip("2001:db8::5"), port: 443, scheduler: .wlc)),
             "ip netns exec d ipvsadm -A -t [2001:db8::5]:443 -s wlc"),
            (.addDestination(namespace: "d", service: svc, destination: PlannedDestination(address: ip("203.0.113.21"), port: 8080, forward: .masq, weight: 4)),
             "ip netns exec d ipvsadm -a -t 198.51.100.100:80 -r 203.0.113.21:8080 -m -w 4"),
            (.startAgent(namespace: "r", node: "rs1", port: 8080, proto: .tcp), "ip netns exec r lblab-agent --name rs1 --tcp 8080 &   # lblab's built-in server"),
            (.startAgent(namespace: "r", node: "rs1", port: 53, proto: .udp), "ip netns exec r lblab-agent --name rs1 --udp 53 &   # lblab's built-in server"),
            (.stopAgent(namespace: "r", node: "rs1", port: 8080), "ip netns exec r pkill -xf 'lblab-agent --name rs1 --tcp 8080'   # stop rs1's server on port 8080"),
        ]
        for (step, command) in cases { #expect(step.command == command) }
    }

    @Test(arguments: [(Forwarding.route, "-g"), (.masq, "-m"), (.tunnel, "-i")])
    func forwardingFlags(forward: Forwarding, flag: String) {
        let d = PlannedDestination(address: ip("203.0.113.7"), port: 80, forward: forward, weight: 2)
        #expect(Step.addDestination(namespace: "ns", service: svc, destination: d).command
                == "ip netns exec ns ipvsadm -a -t 198.51.100.100:80 -r 203.0.113.7:80 \(flag) -w 2")
    }

    /// The article's commands (SUMMARY.md 03-2), each in its lab's namespace.
    @Test(arguments: [
        ("dr-basic", "lblab-dr-basic-dispatcher ipvsadm -A -t 198.51.100.100:80 -s rr"),
        ("dr-basic", "lblab-dr-basic-dispatcher ipvsadm -a -t 198.51.100.100:80 -r 198.51.100.21:80 -g -w 1"),
        ("dr-basic", "lblab-dr-basic-dispatcher sysctl -w net.ipv4.ip_forward=1"),
        ("dr-basic", "lblab-dr-basic-rs1 sysctl -w net.ipv4.conf.lo.arp_ignore=1"),
        ("dr-basic", "lblab-dr-basic-rs1 sysctl -w net.ipv4.conf.lo.arp_announce=2"),
        ("dr-basic", "ip -n lblab-dr-basic-rs2 addr add 198.51.100.100/32 dev lo"),
        ("seed-dr", "lblab-seed-dr-dispatcher ipvsadm -A -t 192.168.219.100:80 -s rr"),
        ("seed-dr", "ipvsadm -a -t 192.168.219.100:80 -r 192.168.219.135:80 -g -w 1"),
        ("seed-nat", "lblab-seed-nat-dispatcher sysctl -w net.ipv4.ip_forward=1"),
        ("seed-nat", "ipvsadm -a -t 192.168.219.100:80 -r 192.168.56.135:80 -m -w 1"),
        ("seed-nat", "ipvsadm -a -t 192.168.219.100:80 -r 192.168.56.136:80 -m -w 1"),
        ("seed-nat", "ip -n lblab-seed-nat-web1 route add default via 192.168.56.100"),
        ("tun-basic", "ipvsadm -a -t 198.51.100.100:80 -r 198.51.100.22:80 -i -w 1"),
        ("tun-basic", "ip -n lblab-tun-basic-rs1 link add ipip0 type ipip local 198.51.100.21"),
        ("tun-basic", "ip -n lblab-tun-basic-rs2 addr add 198.51.100.100/32 dev ipip0"),
    ])
    func explainShowsTheArticlesCommands(lab: String, command: String) throws {
        #expect(try plan(lab).explained().contains(command))
    }

    @Test(arguments: shippedLabs)
    func ipvsadmAndSysctlRunInsideTheLab(lab: String) throws {
        for line in try plan(lab).explained().split(separator: "\n") where !line.contains("#") {
            if line.contains("ipvsadm") || line.contains("sysctl") {
                #expect(line.contains("ip netns exec lblab-\(lab)-"), "runs outside the lab: \(line)")
            }
        }
    }

    /// The layout: a numbered comment with the why, the command indented under it; a step with no
    /// why gets the number on its command line.
    @Test func layout() {
        let p = Plan(lab: "x", entries: [
            .init(step: .createNamespace(name: "a"), why: "a node"),
            .init(step: .setUp(namespace: "a", link: "lo"), why: ""),
        ] + (3...10).map { .init(step: .setUp(namespace: "a", link: "e\($0)"), why: $0 == 10 ? "ten" : "") })
        let lines = p.explained().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(Array(lines.prefix(3)) == ["  1  # a node", "     ip netns add a", "  2  ip -n a link set lo up"])
        #expect(Array(lines.suffix(2)) == [" 10  # ten", "     ip -n a link set e10 up"])
        #expect(lines.count == 12)
    }

    @Test func everyStepIsExplainedOnceInOrderWithItsWhy() throws {
        let p = try plan("nat-basic")
        let text = p.explained()
        var rest = Substring(text)
        for (i, e) in p.entries.enumerated() {
            if !e.why.isEmpty {
                guard let w = rest.range(of: "\(String(repeating: " ", count: 3 - String(i + 1).count))\(i + 1)  # \(e.why)\n") else {
                    Issue.record("why of step \(i + 1) missing or out of order: \(e.why)")
                    return
                }
                rest = rest[w.upperBound...]
            }
            guard let r = rest.range(of: e.step.command) else {
                Issue.record("step \(i + 1) missing or out of order: \(e.step.command)")
                return
            }
            rest = rest[r.upperBound...]
        }
        // The reasons name what matters: the scheduler, the NAT gateway.
        #expect(p.entries.first { if case .addService = $0.step { true } else { false } }?.why.contains("rr") == true)
        #expect(p.entries.first { if case .addRoute = $0.step { true } else { false } }?.why.contains("dispatcher") == true)
    }
}
