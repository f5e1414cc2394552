import Foundation
import LblabCapture
import LblabDNS
import LblabModel
import LblabPlan
import LblabSystem
import LblabTypes

/// The outcome of `lblab test` on a DNS lab.
public struct DNSTestReport: Sendable, Codable {
    public var lab: String
    public var claim: String
    public var report: DNSReport
    public var captureFiles: [String: String]
    public var trafficSeconds: Double
    public var totalSeconds: Double
    public var broughtUp: Bool

    public var passed: Bool { report.passed }
}

extension LabRuntime {
    /// `lblab test` for a DNS lab (mode dns): brings it up when it is not (and down afterwards unless
    /// `keepUp`), checks every server process is alive, runs each client's lookups and connections
    /// with every lab interface captured, applies the lab's faults on time, checks liveness again,
    /// and judges the run by the DNS rules. Pcaps, records and `dns-run.json` go to `captureDirectory`.
    public func testDNS(_ spec: LabSpec, keepUp: Bool = false, captureDirectory: String? = nil,
                        progress: ((String) -> Void)? = nil) throws -> DNSTestReport {
        try Self.requireRoot()
        guard let dns = spec.dns else { throw RuntimeError.system("test lab \(spec.name) as a DNS lab: it has no dns: section", EINVAL) }
        return try store.withLock(spec.name) {
            let t0 = Date()
            var broughtUp = false
            if let state = try store.load(spec.name), state.phase == .up {
                if state.spec.topology != spec.topology { throw RuntimeError.upWithDifferentSettings(lab: spec.name) }
                progress?("lab \(spec.name) is up already: testing it as it is")
            } else {
                let (up, _) = try upLocked(spec)
                broughtUp = true
                progress?(String(format: "lab %@ up in %.3f s (%d steps)", spec.name, up.seconds, up.plan.entries.count))
            }
            defer {
                if broughtUp && !keepUp {
                    do { _ = try downLocked(spec.name) } catch {
                        progress?("warning: could not take lab \(spec.name) down: \(error); run `lblab down \(spec.name)`")
                    }
                }
            }
            let dir = captureDirectory ?? "/tmp/lblab-captures/\(spec.name)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            var state = try runningState(spec.name)
            let deadBefore = Liveness.dead(state, when: "before the traffic")

            let points = spec.nodes.flatMap { n in n.interfaces.map { (node: n.name, port: LabNames.switchPort(node: n, interface: $0)) } }
            let recorder = try Self.startCaptures(spec, switch: try NetworkNamespace(opening: LabNames.switchNamespace(lab: spec.name)))

            // The clients start spread over one interval (in step, their lookups would reach a resolver
            // together and be answered as one); faults count from the first one's start.
            let start = Date().timeIntervalSince1970 + 0.3 + 0.1 * Double(spec.clients.count)
            let step = Double(dns.intervalMillis) / 1000 / Double(max(spec.clients.count, 1))
            let clients = try spec.clients.enumerated().map { k, c in
                try startClient(c, spec, dns, directory: dir, start: start + Double(k) * step)
            }
            let faults = try applyFaults(spec, state: &state, start: start, progress: progress)
            for c in clients { while waitpid(c.pid, nil, 0) < 0 && errno == EINTR {} }
            let trafficSeconds = Date().timeIntervalSince1970 - start
            let captured = recorder.stop()
            let files = try Self.writeCaptures(captured.frames, to: dir)
            // A server the lab's own faults left down is down on purpose; it starts again now.
            let deadAfter = Liveness.dead(state, when: "after the traffic").filter { line in !faults.down.contains { line.contains(" of \($0) ") } }
            restore(faults.down, state: &state, progress: progress)

            let records = clients.flatMap { c in ClientRecord.parse((try? String(contentsOfFile: c.output, encoding: .utf8)) ?? "", client: c.node) }
            progress?(String(format: "%d connections from %d clients in %.2f s; captured %d frames on %d interfaces",
                             records.count, clients.count, trafficSeconds, captured.frames.values.map(\.count).reduce(0, +), captured.frames.count))
            let port = { (node: String) in points.first { $0.node == node }?.port ?? "" }
            let run = DNSRun(
                lab: spec.name, name: dns.name, ttl: dns.ttl,
                servers: spec.nodes(.web).compactMap { n in n.address?.address.ipv4.map { DNSRun.Server(node: n.name, address: $0, delayMillis: n.dns?.delayMillis ?? 0) } },
                clients: spec.clients.compactMap { c in
                    guard let a = c.address, let v4 = IPv4Interface("\(a)"), let ns = Self.nameserver(of: c, spec) else { return nil }
                    return DNSRun.Client(node: c.name, address: v4, nameserver: ns)
                },
                resolvers: spec.nodes(.resolver).compactMap { r in
                    guard let a = r.address?.address.ipv4, let up = r.dns?.upstream.flatMap({ spec.node(named: $0) })?.address?.address.ipv4 else { return nil }
                    return DNSRun.Resolver(node: r.name, address: a, upstream: up)
                },
                faults: faults.applied.map { DNSRun.Fault(time: $0.1, node: $0.0.node, down: $0.0.action == .down) },
                timeout: spec.traffic.timeout, expect: Self.expectations(spec), records: records,
                clientPackets: Dictionary(uniqueKeysWithValues: spec.clients.map { ($0.name, DNSPackets.extract(captured.frames[port($0.name)] ?? CapturedFrames())) }),
                resolverPackets: Dictionary(uniqueKeysWithValues: spec.nodes(.resolver).map { ($0.name, DNSPackets.extract(captured.frames[port($0.name)] ?? CapturedFrames())) }),
                deadDaemons: deadBefore + deadAfter)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try encoder.encode(run).write(to: URL(fileURLWithPath: "\(dir)/dns-run.json"))
            return DNSTestReport(lab: spec.name, claim: dns.claim, report: DNSAnalysis.analyze(run), captureFiles: files,
                                 trafficSeconds: trafficSeconds, totalSeconds: Date().timeIntervalSince(t0), broughtUp: broughtUp)
        }
    }

    /// What the lab file's `expect:` says, as the DNS rules take it.
    static func expectations(_ spec: LabSpec) -> DNSExpectations {
        let spread: DNSExpectations.Spread = switch spec.expect.distribution {
        case .scheduler: .predicted
        case .equal, .weights: .even
        case .none: .none
        }
        let errors: DNSExpectations.Errors = switch spec.expect.errors ?? .none {
        case .none: .none
        case .fault: .fault
        case .any: .any
        }
        let cache: DNSExpectations.Cache = switch spec.expect.cache ?? .any {
        case .on: .on
        case .off: .off
        case .any: .any
        }
        return DNSExpectations(spread: spread, errors: errors, cache: cache)
    }

    /// The address in a client's resolv.conf: its resolver's (or DNS server's) own address.
    static func nameserver(of client: NodeSpec, _ spec: LabSpec) -> IPv4Address? {
        client.dns?.resolver.flatMap { spec.node(named: $0) }?.address?.address.ipv4
    }

    struct RunningClient {
        var node: String
        var pid: Int32
        var output: String
    }

    /// One client: its resolv.conf, and `lblab-agent --resolve-client` with its lookups.
    func startClient(_ client: NodeSpec, _ spec: LabSpec, _ dns: DNSSpec, directory: String, start: Double) throws -> RunningClient {
        guard let exe = Processes.agentExecutable else { throw RuntimeError.missingProgram(program: "lblab-agent", package: "lblab") }
        guard let ns = Self.nameserver(of: client, spec) else { throw RuntimeError.system("find the resolver of \(client.name)", ENOENT) }
        let resolv = "\(Daemons.directory(of: spec.name))/\(client.name).resolv.conf"
        try Self.resolvConf(nameserver: ns, timeout: spec.traffic.timeout).write(toFile: resolv, atomically: true, encoding: .utf8)
        let output = "\(directory)/\(client.name).records"
        try? FileManager.default.removeItem(atPath: output)
        let pid = try Processes.spawn(exe, Self.clientArguments(client, spec, dns, resolvConf: resolv) + ["--start-at", String(format: "%.6f", start)],
                                      in: nil, output: output)
        return RunningClient(node: client.name, pid: pid, output: output)
    }

    /// A client's resolv.conf: its one server, one try, the lab's timeout.
    static func resolvConf(nameserver: IPv4Address, timeout: Double) -> String {
        "nameserver \(nameserver)\noptions timeout:\(max(1, Int(timeout.rounded(.up)))) attempts:1\n"
    }

    /// `lblab-agent --resolve-client ...` for one client (what `--explain` prints too).
    public static func clientArguments(_ client: NodeSpec, _ spec: LabSpec, _ dns: DNSSpec, resolvConf: String) -> [String] {
        ["lblab-agent", "--resolve-client", "--name", dns.name, "--port", "80",
         "--netns", NetworkNamespace.path(of: LabNames.namespace(lab: spec.name, node: client.name)), "--resolv-conf", resolvConf,
         "--count", String(dns.lookups), "--interval-ms", String(dns.intervalMillis), "--timeout-ms", String(Int(spec.traffic.timeout * 1000))]
    }
}
