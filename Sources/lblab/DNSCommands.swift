import ArgumentParser
import Foundation
import LblabDNS
import LblabModel
import LblabPlan
import LblabRuntime

/// `lblab fault LAB NODE down|up|unplug|plug|slow`.
struct Fault: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fault",
        abstract: "Break a node of a running lab, or repair it: down, up, unplug, plug, slow.",
        discussion: """
        down stops the server process of NODE (the host stays): a real server's or web server's HTTP agent, a DNS lab's \
        dnsmasq or unbound, a dispatcher's keepalived. unplug sets NODE's links down (its service runs, nothing reaches it); \
        plug sets them up. slow restarts a real server's agent answering each request --delay-ms late (default 500). \
        up undoes all of these. `lblab test` finds a stopped server dead (the liveness rule) unless the lab's own faults: stopped it.
        A lab file's faults: [{at: 2.0, node: rs2, action: down}] does the same during `lblab test`, at those seconds \
        (IPVS labs: during paced traffic, traffic.interval_ms).
        """)
    @Argument(help: "The running lab.") var lab: String
    @Argument(help: "The node to break or repair.") var node: String
    @Argument(help: "down, up, unplug, plug or slow.") var action: String
    @Option(name: .customLong("delay-ms"), help: "slow: milliseconds before each answer (default 500).") var delayMillis: Int?
    @Option(help: "down, up, slow on a real server: only its agent on this port.") var port: UInt16?

    func run() throws {
        if try forwardedToVM() { return }
        try reportingErrors {
            guard let a = FaultSpec.Action(rawValue: action) else {
                throw ValidationError("'\(action)' is not a fault action: " + FaultSpec.Action.allCases.map(\.rawValue).joined(separator: ", "))
            }
            if delayMillis != nil, a != .slow { throw ValidationError("--delay-ms is the delay of slow; this fault is \(action)") }
            if let d = delayMillis, !(1...10_000).contains(d) { throw ValidationError("--delay-ms \(d): give 1...10000 milliseconds") }
            if port != nil, a == .unplug || a == .plug { throw ValidationError("--port picks one agent for down, up or slow; \(action) acts on the node's links") }
            print(try LabRuntime().fault(lab: lab, node: node, action: a, delayMillis: delayMillis, port: port))
        }
    }
}

extension Fault {
    /// A lab that is not up here may live in the lab VM (an IPVS lab on a kernel without IPVS): the
    /// fault goes there, as `down` and `exec` do.
    func forwardedToVM() throws -> Bool {
        guard VMForward.vmMayRun, (try? StateStore().load(lab)) == nil else { return false }
        return try VMForward.run(["fault", lab, node, action] + (delayMillis.map { ["--delay-ms", String($0)] } ?? []) + (port.map { ["--port", String($0)] } ?? []),
                                 boot: false, lab: lab, node: node, quiet: true)
    }
}

extension Test {
    /// `lblab test` on a DNS lab: no IPVS, so it runs here even on a kernel without it.
    func testDNS(_ spec: LabSpec) throws {
        guard let dns = spec.dns else { return }
        if !output.json {
            let resolvers = spec.nodes(.resolver).map { "\($0.name) (cache \($0.dns?.cache ?? true ? "on" : "OFF"), rotation \($0.dns?.roundRobin ?? true ? "on" : "off"))" }
            print("lblab test \(spec.name): DNS round robin of \(dns.name) (TTL \(dns.ttl) s) over \(spec.nodes(.web).count) web servers, "
                  + "\(spec.clients.count) clients x \(dns.lookups) lookups every \(dns.intervalMillis) ms"
                  + (resolvers.isEmpty ? ", no resolver" : ", through " + resolvers.joined(separator: ", ")))
        }
        let r = try LabRuntime().testDNS(spec, keepUp: keep, captureDirectory: captures) { line in
            if !output.json { print(line) }
        }
        if output.json { try printJSON(r) } else { print(DNSText.report(r, spec: spec)) }
        if !r.passed { throw Exit.ruleFailed }
    }
}

/// What `lblab test` prints for a DNS lab.
enum DNSText {
    static func report(_ r: DNSTestReport, spec: LabSpec) -> String {
        var out = [""]
        out.append(DNSTable.render([.init(variant: r.lab, stats: r.report.stats, claim: r.claim, seconds: r.totalSeconds)]))
        out.append("")
        out.append("per web server (from the clients' records):")
        out += DNSTable.latencies(r.report.stats).split(separator: "\n").map { "  " + $0 }
        out.append("answers each client received (from the capture):")
        out += r.report.evidence.map { "  " + $0 }
        out.append("")
        out += r.report.verdicts.flatMap { v in
            ["\(v.passed ? "PASS" : "FAIL") \(v.rule.padding(13)) \(v.summary)"] + v.evidence.map { "     \("".padding(13)) \($0)" }
        }
        if let any = r.captureFiles.values.first {
            let dir = URL(fileURLWithPath: any).deletingLastPathComponent().path
            out.append("captures: \(dir)/*.pcap, each client's records \(dir)/<client>.records, the run \(dir)/dns-run.json")
            out.append("see the answers yourself: tcpdump -nr \(dir)/\(r.captureFiles.keys.sorted().first ?? "").pcap udp port 53")
        }
        let failed = r.report.verdicts.filter { !$0.passed }.map(\.rule)
        out.append(String(format: "%@: %d rules hold, %d broken (%@) in %.2f s", r.passed ? "PASS" : "FAIL", r.report.verdicts.count - failed.count,
                          failed.count, failed.isEmpty ? "all rules hold" : failed.joined(separator: ", "), r.totalSeconds))
        return out.joined(separator: "\n")
    }

    /// After `lblab up` of a DNS lab: what to try by hand (dig at each server, a client's lookups).
    static func hints(_ spec: LabSpec) -> [String] {
        guard let dns = spec.dns, let client = spec.clients.first else { return [] }
        var out: [String] = []
        for n in spec.nodes where n.role == .dns || n.role == .resolver {
            if let a = n.address?.address.ipv4 {
                out.append("ip netns exec \(LabNames.namespace(lab: spec.name, node: client.name)) \(DigCommands.query(dns.name, at: a))   # ask \(n.name) (\(n.role.rawValue))")
            }
        }
        let resolv = "/run/lblab/\(spec.name)/\(client.name).resolv.conf"
        if let ns = spec.node(named: client.dns?.resolver ?? "")?.address?.address {
            out.append("echo 'nameserver \(ns)' > \(resolv)   # \(client.name)'s resolv.conf (lblab test writes it)")
        }
        out.append(LabRuntime.clientArguments(client, spec, dns, resolvConf: resolv).joined(separator: " ")
                   + "   # \(client.name)'s lookups and connections, one line each")
        return out
    }
}
