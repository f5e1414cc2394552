import Foundation
import Testing
import LblabModel
@testable import LblabPlan
import LblabTypes

/// `--explain`: the plan as the commands the article teaches.
@Suite struct ExplainTests {
    @Test(arguments: [
        "ipvsadm -A -t 198.51.100.100:80 -s rr",
        "ipvsadm -a -t 198.51.100.100:80 -r 198.51.100.21:80 -g -w 1",
        "ipvsadm -a -t 198.51.100.100:80 -r 198.51.100.22:80 -g -w 1",
        "sysctl -w net.ipv4.conf.all.arp_ignore=1",
        "sysctl -w net.ipv4.conf.lo.arp_ignore=1",
        "sysctl -w net.ipv4.conf.all.arp_announce=2",
        "sysctl -w net.ipv4.conf.lo.arp_announce=2",
        "sysctl -w net.ipv4.ip_forward=1",
        "ip netns add lblab-dr-basic-switch",
        "ip netns add lblab-dr-basic-client",
        "ip netns add lblab-dr-basic-dispatcher",
        "ip netns add lblab-dr-basic-rs1",
        "ip netns add lblab-dr-basic-rs2",
        "ip -n lblab-dr-basic-switch link add br0 type bridge",
        "ip -n lblab-dr-basic-switch link add rs1 type veth peer name eth0 netns lblab-dr-basic-rs1",
        "ip -n lblab-dr-basic-switch link set rs1 master br0",
        "ip -n lblab-dr-basic-dispatcher addr add 198.51.100.100/32 dev eth0",
        "ip -n lblab-dr-basic-rs1 addr add 198.51.100.100/32 dev lo",
        "ip -n lblab-dr-basic-rs2 addr add 198.51.100.22/24 dev eth0",
    ])
    func drBasicExplainsWithTheArticlesCommands(command: String) throws {
        let text = try plan("dr-basic").explained()
        #expect(text.contains(command), "explain output lacks: \(command)")
    }

    @Test func ipvsCommandsRunInTheDispatcher() throws {
        let text = try plan("dr-basic").explained()
        #expect(text.contains("ip netns exec lblab-dr-basic-dispatcher ipvsadm -A -t 198.51.100.100:80 -s rr"))
        #expect(text.contains("ip netns exec lblab-dr-basic-rs1 sysctl -w net.ipv4.conf.all.arp_ignore=1"))
        #expect(text.contains("ip netns exec lblab-dr-basic-dispatcher sysctl -w net.ipv4.ip_forward=1"))
        // Nothing bare: every ipvsadm and sysctl runs inside a lab namespace.
        for line in text.split(separator: "\n") where !line.contains("#") {
            if line.contains("ipvsadm") || line.contains("sysctl") {
                #expect(line.contains("ip netns exec lblab-dr-basic-"), "runs outside the lab: \(line)")
            }
        }
    }

    @Test func arpFixOffExplainsZeroes() throws {
        let text = try plan("dr-basic", ["arp_fix=false"]).explained()
        #expect(text.contains("sysctl -w net.ipv4.conf.all.arp_ignore=0"))
        #expect(text.contains("sysctl -w net.ipv4.conf.all.arp_announce=0"))
        #expect(!text.contains("arp_ignore=1"))
        #expect(!text.contains("arp_announce=2"))
    }

    @Test func seedDRUsesTheArticlesAddresses() throws {
        let text = try plan("seed-dr").explained()
        #expect(text.contains("ipvsadm -A -t 192.168.219.100:80 -s rr"))
        #expect(text.contains("-t 192.168.219.100:80"))
        #expect(text.contains("-r 192.168.219.135:80 -g"))
        #expect(text.contains("-r 192.168.219.136:80 -g"))
        #expect(text.contains("ip -n lblab-seed-dr-dispatcher addr add 192.168.219.100/32 dev eth0"))
        #expect(text.contains("ip -n lblab-seed-dr-web1 addr add 192.168.219.100/32 dev lo"))
        #expect(!text.contains("198.51.100."))
    }

    @Test func masqRealServerGetsDashM() throws {
        let text = try plan("dr-basic", ["rs1.forward=masq"]).explained()
        #expect(text.contains("ipvsadm -a -t 198.51.100.100:80 -r 198.51.100.21:80 -m -w 1"))
        #expect(text.contains("ipvsadm -a -t 198.51.100.100:80 -r 198.51.100.22:80 -g -w 1"))
    }

    @Test func weightsAndSchedulerShowUp() throws {
        let text = try plan("dr-basic", ["scheduler=wrr", "rs1.weight=3"]).explained()
        #expect(text.contains("ipvsadm -A -t 198.51.100.100:80 -s wrr"))
        #expect(text.contains("-r 198.51.100.21:80 -g -w 3"))
        #expect(text.contains("-r 198.51.100.22:80 -g -w 1"))
    }

    @Test func everyStepIsExplainedOnceInOrder() throws {
        let p = try plan("dr-basic")
        let text = p.explained()
        var rest = Substring(text)
        for (i, step) in p.steps.enumerated() {
            guard let r = rest.range(of: step.command) else {
                Issue.record("step \(i + 1) missing or out of order: \(step.command)")
                return
            }
            rest = rest[r.upperBound...]
        }
    }

    @Test func stepsAreNumbered() throws {
        let p = try plan("dr-basic")
        let lines = p.explained().split(separator: "\n", omittingEmptySubsequences: false)
        // One numbered line per entry, numbered 1...N in order.
        let numbers = lines.compactMap { line -> Int? in
            let t = line.drop { $0 == " " }
            let digits = t.prefix { $0.isNumber }
            return digits.isEmpty ? nil : Int(digits)
        }
        #expect(numbers == Array(1...p.entries.count))
        #expect(lines.count >= p.entries.count)
    }

    @Test func whyLinesAreComments() throws {
        let p = try plan("dr-basic")
        let text = p.explained()
        for e in p.entries where !e.why.isEmpty {
            #expect(text.contains("# \(e.why)"), "why of \(e.step) shown as a comment")
        }
        // The service's reason mentions the scheduler.
        let svcEntry = try #require(p.entries.first { if case .addService = $0.step { true } else { false } })
        #expect(svcEntry.why.contains("rr"))
    }

    @Test func teardownCommands() {
        #expect(Step.deleteNamespace(name: "lblab-x-rs1").command == "ip netns del lblab-x-rs1")
        #expect(Step.createNamespace(name: "lblab-x-rs1").command == "ip netns add lblab-x-rs1")
        #expect(Step.stopAgent(namespace: "lblab-x-rs1", node: "rs1").command.contains("lblab-x-rs1"))
        #expect(Step.startAgent(namespace: "lblab-x-rs1", node: "rs1", port: 8080).command
            .hasPrefix("ip netns exec lblab-x-rs1 lblab-agent --name rs1 --port 8080"))
    }

    @Test func udpServiceUsesDashU() {
        let svc = PlannedService(proto: "udp", address: IPv4Address("203.0.113.5")!, port: 53, scheduler: "sh")
        #expect(svc.ipvsadmService == "-u 203.0.113.5:53")
        #expect(Step.addService(namespace: "ns", service: svc).command == "ip netns exec ns ipvsadm -A -u 203.0.113.5:53 -s sh")
        let tcp = PlannedService(proto: "tcp", address: IPv4Address("203.0.113.5")!, port: 80, scheduler: "rr")
        #expect(tcp.ipvsadmService == "-t 203.0.113.5:80")
    }

    @Test(arguments: [("route", "-g"), ("masq", "-m"), ("tunnel", "-i")])
    func forwardingFlags(forward: String, flag: String) {
        let svc = PlannedService(proto: "tcp", address: IPv4Address("203.0.113.5")!, port: 80, scheduler: "rr")
        let d = PlannedDestination(address: IPv4Address("203.0.113.7")!, port: 80, forward: forward, weight: 2)
        #expect(Step.addDestination(namespace: "ns", service: svc, destination: d).command
            == "ip netns exec ns ipvsadm -a -t 203.0.113.5:80 -r 203.0.113.7:80 \(flag) -w 2")
        #expect(Forwarding(rawValue: forward)?.ipvsadmFlag == flag)
    }
}
