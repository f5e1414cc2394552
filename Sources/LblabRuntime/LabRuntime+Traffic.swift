import Foundation
import LblabAnalysis
import LblabModel
import LblabNetlink
import LblabPlan
import LblabSystem
import LblabTraffic
import LblabTypes

/// The traffic of one `lblab test` run as it happened.
struct TrafficRun {
    var outcomes: [ConnectionOutcome]
    /// Seconds from the first connect to the last close.
    var seconds: Double
    var timings: TrafficEngine.Timings
    /// When the engine started (the origin of every outcome's `start`).
    var started = Date()
    /// The engine's time zero on CLOCK_MONOTONIC (`Pacer.now()`), when a phase was paced: what
    /// turns samples taken meanwhile into the outcomes' `start` clock.
    var zero: Double?
}

extension LabRuntime {
    /// Sends the lab's traffic phases from their clients' namespaces, tracing what IPVS held
    /// before each connection of a traced phase. The clients' neighbour entries for the VIPs
    /// are flushed first, so every run has an ARP exchange to judge.
    /// Paced phases (`interval_ms`) run one connection at a time, each at its time; `tick` is
    /// called before each of their connections with the seconds since the traffic started.
    func runTraffic(_ spec: LabSpec, handles: LabHandles, tick: ((Double) -> Void)? = nil) throws -> TrafficRun {
        let traffic = spec.traffic
        let clientNames = traffic.clients
        var clients: [TrafficClient] = []
        for name in clientNames {
            guard let node = spec.node(named: name) else {
                throw RuntimeError.system("find the traffic client \(name) of lab \(spec.name)", ENOENT)
            }
            let nsName = LabNames.namespace(lab: spec.name, node: name)
            let ns = try handles.namespace(nsName)
            for vip in Set(traffic.phases.filter { $0.clients.contains(name) }.compactMap { spec.service(named: $0.service)?.vip }) {
                for i in node.interfaces { try handles.route(nsName).deleteNeighbour(vip, link: i.name) }
            }
            clients.append(TrafficClient(name: name) { count, family, kind in
                try ns.run { try Sockets.open(count, family: family, kind: kind) }
            })
        }
        var plans: [TrafficPhasePlan] = []
        var tracers: [Int: DestinationTracer] = [:]
        for (p, phase) in traffic.phases.enumerated() {
            guard let service = spec.service(named: phase.service) else {
                throw RuntimeError.system("find the service \(phase.service) of traffic phase \(phase.name)", ENOENT)
            }
            plans.append(TrafficPhasePlan(
                clients: phase.clients.compactMap { clientNames.firstIndex(of: $0) }, target: service.vip, port: service.port,
                proto: service.proto, connections: phase.connections, concurrency: phase.concurrency, hold: TrafficHold(phase.hold),
                trace: phase.trace || phase.intervalMillis != nil, pause: phase.pause, datagramsPerSocket: phase.datagramsPerSocket))
            plans[p].reuse = phase.reuse == true
            if phase.trace { tracers[p] = try DestinationTracer(spec, service, handles: handles) }
        }
        let ports = SourcePorts(file: "\(store.directory(of: spec.name))/traffic-next-port")
        let first = ports.take(TrafficEngine.portsPerClient(plans, clients: clients.count))
        let engine = TrafficEngine(clients: clients, phases: plans, timeout: traffic.timeout, firstPort: first)
        var seen: [Int: [Int: Result<[DestinationCounts], Error>]] = [:]
        let intervals = Dictionary(uniqueKeysWithValues: traffic.phases.enumerated().compactMap { p, phase in phase.intervalMillis.map { (p, Double($0) / 1000) } })
        let pacer = intervals.isEmpty ? nil : Pacer(intervals: intervals, tick: tick ?? { _ in })
        let t0 = Date()
        let cpu0 = Self.processCPU()
        let results = engine.run { p, index in
            pacer?.before(p, index)
            if let tracer = tracers[p] { seen[p, default: [:]][index] = Result { try tracer.read() } }
        }
        let seconds = Date().timeIntervalSince(t0)
        let processCPU = Self.processCPU() - cpu0
        // A failed read of the IPVS table is the run's failure, not a connection's.
        for (p, byIndex) in seen {
            for case .failure(let error) in byIndex.values {
                throw RuntimeError.system("read the IPVS destinations for traffic phase \(traffic.phases[p].name): \(error)", EIO)
            }
        }
        let onePhase = traffic.phases.count == 1
        let outcomes = results.map { r in
            var o = ConnectionOutcome(client: clientNames[r.client], localAddress: r.localAddress, localPort: r.localPort,
                                      service: traffic.phases[r.phase].service, server: r.server, error: r.error, start: r.start,
                                      latency: r.latency, phase: onePhase ? nil : r.phase, closed: r.closed,
                                      seen: try? seen[r.phase]?[r.index]?.get(), datagram: plans[r.phase].proto == .udp ? r.index : nil)
            if let again = r.reused { o.reused = SecondRequest(server: again.server, error: again.error, at: again.at) }
            return o
        }
        log.debug("traffic", metadata: [
            "connections": "\(results.count)", "seconds": "\(String(format: "%.3f", seconds))",
            "socket hops": "\(engine.timings.hops)", "opening sockets s": "\(String(format: "%.3f", engine.timings.openingSockets))",
            "polls": "\(engine.timings.polls)", "in poll s": "\(String(format: "%.3f", engine.timings.polling))",
            "engine thread CPU s (user, system)": "\(String(format: "%.3f, %.3f", engine.timings.threadUser, engine.timings.threadSystem))",
            "lblab CPU s (all threads: engine, captures)": "\(String(format: "%.3f", processCPU))",
        ])
        // The engine's zero: the first paced connection was let go just before its start.
        var zero: Double?
        if let first = pacer?.firstRelease, let r = results.first(where: { $0.phase == first.phase && $0.index == first.index }) {
            zero = first.at - r.start
        }
        return TrafficRun(outcomes: outcomes, seconds: seconds, timings: engine.timings, started: t0, zero: zero)
    }
}

extension LabRuntime {
    /// CPU seconds of this process, every thread (user + system).
    static func processCPU() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
    }
}

/// Where a run's source ports start: after the previous run's on the same running lab, so a run
/// never reuses a port of one a minute before. IPVS keeps a closed connection's entry for minutes
/// (FIN_WAIT, TIME_WAIT: 2 min by default) and sends a new connection from the same client port
/// to the same real server without asking the scheduler: the rr rotation would break.
/// Runs stay below the kernel's default ephemeral range (32768-60999) while they fit there: other
/// programs on a client (`ab`, `curl` through `lblab exec`) take their ports from it, and a run
/// after theirs would meet their entries.
struct SourcePorts {
    let file: String
    /// The first port of Linux's default `net.ipv4.ip_local_port_range`.
    static let ephemeralFirst = 32768

    /// The first port of a run taking `count` per client, remembered for the next run.
    func take(_ count: Int) -> UInt16 {
        let first = Int(Sockets.firstPort)
        var start = (try? String(contentsOfFile: file, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? first
        let below = first + count <= Self.ephemeralFirst
        if start < first || start + count > (below ? Self.ephemeralFirst : Int(UInt16.max)) { start = first }
        try? "\(start + count)\n".write(toFile: file, atomically: true, encoding: .utf8)
        return UInt16(start)
    }
}

/// Reads one service's destinations from its dispatcher's IPVS table, with each destination's
/// real server named (by its address towards the dispatcher).
struct DestinationTracer: Sendable {
    let ipvs: IPVSNetlink
    let key: IPVSServiceKey
    let names: [IPAddress: String]

    init(_ spec: LabSpec, _ service: ServiceSpec, handles: LabHandles) throws {
        ipvs = try handles.ipvs(LabNames.namespace(lab: spec.name, node: service.dispatcher))
        key = IPVSServiceKey(proto: service.proto, address: service.vip, port: service.port)
        var names: [IPAddress: String] = [:]
        if let dispatcher = spec.node(named: service.dispatcher) {
            for name in service.servers {
                guard let node = spec.node(named: name) else { continue }
                if let a = Planner.serverAddress(node, towards: dispatcher) { names[a.address] = name }
                for a in node.interfaces.flatMap(\.addresses) where names[a.address] == nil { names[a.address] = name }
            }
        }
        self.names = names
    }

    /// The destinations in the kernel's list order.
    func read() throws -> [DestinationCounts] {
        try ipvs.destinations(of: key).map { d in
            DestinationCounts(server: names[d.destination.address] ?? d.destination.address.withPort(d.destination.port),
                              weight: Int(d.destination.weight), active: Int(d.activeConnections),
                              inactive: Int(d.inactiveConnections), persistent: Int(d.persistentConnections))
        }
    }
}

extension TrafficHold {
    init(_ hold: Hold) {
        switch hold {
        case .none: self = .none
        case .seconds(let s): self = .seconds(s)
        case .untilPhase(let p): self = .untilPhase(p)
        case .end: self = .end
        }
    }
}
