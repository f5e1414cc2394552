import Foundation
import LblabAnalysis
import LblabCapture
import LblabModel
import LblabPlan
import LblabSystem
import LblabTraffic
import LblabTypes

/// The outcome of `lblab test`: the traffic, the captures and the verdicts.
public struct TestReport: Sendable, Codable {
    public var lab: String
    public var scheduler: Scheduler
    public var arpFix: Bool
    public var connections: Int
    public var concurrency: Int
    /// Where the traffic went and what the kernel held per node (also in the saved `run.json`).
    public var facts: RunFacts
    public var analysis: AnalysisReport
    /// Per-capture-point pcap files written for this run.
    public var captureFiles: [String: String]
    public var droppedByCapture: [String: UInt32]
    public var trafficSeconds: Double
    public var totalSeconds: Double
    public var latencyMillis: LatencySummary
    /// Whether `test` brought the lab up (and so took it down again).
    public var broughtUp: Bool

    public var passed: Bool { analysis.passed }
}

public struct LatencySummary: Sendable, Codable {
    public var p50: Double
    public var p99: Double
    public var max: Double

    init(_ seconds: [Double]) {
        let s = seconds.sorted()
        func q(_ f: Double) -> Double { s.isEmpty ? 0 : s[min(s.count - 1, Int(Double(s.count) * f))] * 1000 }
        p50 = q(0.5)
        p99 = q(0.99)
        max = (s.last ?? 0) * 1000
    }
}

extension LabRuntime {
    /// Runs the lab's traffic with every lab interface captured, and judges it. Brings the lab
    /// up first when it is not (and down afterwards unless `keepUp`).
    /// The run's pcaps and `run.json` go to `captureDirectory` (default /tmp/lblab-captures/<lab>).
    public func test(_ spec: LabSpec, keepUp: Bool = false, captureDirectory: String? = nil,
                     progress: ((String) -> Void)? = nil) throws -> TestReport {
        try Self.requireRoot()
        guard spec.mode.usesIPVS else {
            throw RuntimeError.system("test lab \(spec.name) here: it is a DNS lab (mode dns), which `testDNS` runs", EINVAL)
        }
        // The lock is held for the whole run: no other lblab process can take the lab down
        // (or build it) under the traffic.
        return try store.withLock(spec.name) {
            let t0 = Date()
            var handles = LabHandles()
            var broughtUp = false
            if let state = try store.load(spec.name), state.phase == .up {
                if state.spec.topology != spec.topology { throw RuntimeError.upWithDifferentSettings(lab: spec.name) }
                progress?("lab \(spec.name) is up already: testing it as it is")
            } else {
                try Self.requireIPVS()
                let (up, h) = try upLocked(spec)
                handles = h
                broughtUp = true
                progress?(String(format: "lab %@ up in %.3f s (%d steps)", spec.name, up.seconds, up.plan.entries.count))
            }
            defer {
                if broughtUp && !keepUp {
                    do { _ = try downLocked(spec.name) } catch {
                        log.warning("could not take the lab down after the test", metadata: ["lab": "\(spec.name)", "error": "\(error)"])
                        progress?("warning: could not take lab \(spec.name) down: \(error); run `lblab down \(spec.name)`")
                    }
                }
            }
            let dir = captureDirectory ?? "/tmp/lblab-captures/\(spec.name)"
            return try runTest(spec, handles: handles, broughtUp: broughtUp, captureDirectory: dir, started: t0, progress: progress)
        }
    }

    private func runTest(_ spec: LabSpec, handles: LabHandles, broughtUp: Bool, captureDirectory dir: String, started t0: Date,
                         progress: ((String) -> Void)?) throws -> TestReport {
        let target = try TrafficTarget(spec)
        let facts = try runFacts(spec, target, handles: handles)
        let state = try store.load(spec.name)
        let deadBefore = state.map { Liveness.dead($0, when: "before the traffic") } ?? []
        // A VRRP lab: VRRP settled, faults on a thread of their own during the traffic (VRRPTest.swift).
        let vrrp = spec.usesVRRP ? try VRRPWatch(spec, handles: handles, settle: true) : nil
        // A VRRP fault's node is started again on every way out (judgeVRRP does it first on the normal one).
        defer { if let vrrp { restoreVRRP(vrrp, spec, progress: progress) } }
        let recorder = try Self.startCaptures(spec, switch: try handles.namespace(LabNames.switchNamespace(lab: spec.name)),
                                              batchMillis: Self.captureBatchMillis)

        // Health checks or faults: IPVS sampled over the traffic, faults applied between paced connections.
        // (A VRRP lab's faults act on VRRPWatch's thread: its traffic need not be paced.)
        let timed = (spec.faults != nil && !spec.usesVRRP) || target.service.healthCheck != nil
        let sampler = timed ? IPVSSampler(try DestinationTracer(spec, target.service, handles: handles)) : nil
        var schedule = FaultSchedule(spec.usesVRRP ? [] : spec.faults ?? [])
        var faultState = state
        var faultError: Error?
        sampler?.start()
        let traffic: TrafficRun
        let samples: [(at: Double, servers: [String])]
        do {
            // Whatever happens below, the faults' nodes are restored and the threads stopped (a VRRP
            // fault thread left running could stop keepalived after the lab was taken down).
            defer {
                vrrp?.waitForFaults()
                if var s = faultState { restore(schedule.broken, state: &s, progress: progress) }
            }
            do {
                if let vrrp { vrrp.startFaults(at: Date(), state: state, store: store) }
                traffic = try runTraffic(spec, handles: handles) { now in
                    guard faultError == nil, !schedule.isEmpty, faultState != nil else { return }
                    do { try schedule.apply(due: now, state: &faultState!, store: store, progress: progress) } catch { faultError = error }
                }
                samples = try sampler?.stop() ?? []
                if let faultError { throw faultError }
            } catch {
                _ = recorder.stop()
                _ = try? sampler?.stop()
                throw error
            }
        }
        for f in schedule.left { progress?(String(format: "warning: fault %@ %@ at %.2f s not applied: the traffic was over (%.2f s)", f.node, f.action.rawValue, f.at, traffic.seconds)) }
        let zero = traffic.zero ?? samples.first?.at ?? 0
        let health = timed ? HealthTimeline(service: target.service.name, samples: samples.map { HealthSample(at: $0.at - zero, servers: $0.servers) },
                                            faults: schedule.applied, missed: schedule.left.isEmpty ? nil : schedule.left) : nil
        let trafficSeconds = traffic.seconds
        let tStop = Date()
        let captured = recorder.stop()
        progress?(String(format: "%d connections in %.2f s; captured %d frames on %d interfaces (capture drained %.2f s after the traffic)",
                         traffic.outcomes.count, trafficSeconds, captured.frames.values.map(\.count).reduce(0, +), captured.frames.count,
                         Date().timeIntervalSince(tStop)))

        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let files = try Self.writeCaptures(captured.frames, to: dir)

        let outcomes = traffic.outcomes
        let record = RunRecord(spec: spec, facts: facts, outcomes: outcomes, health: health)
        try record.write(to: dir)
        var analysis = Self.analyze(record, captures: captured.frames)
        // A VRRP lab: its verdicts (VRRPTest.swift).
        let extra = try vrrp.map { try judgeVRRP($0, spec, traffic: traffic, frames: captured.frames, directory: dir, progress: progress) } ?? []
        // After the traffic, from the state as the faults' restore left it: a server a fault stopped
        // and that could not be started again is dead, like any other.
        let dead = deadBefore + ((try store.load(spec.name)).map { Liveness.dead($0, when: "after the traffic") } ?? [])
        analysis = AnalysisReport(verdicts: analysis.verdicts + extra + [.liveness(dead: dead)], fromClient: analysis.fromClient,
                                  fromCapture: analysis.fromCapture, sent: analysis.sent, answered: analysis.answered, failed: analysis.failed)
        return TestReport(lab: spec.name, scheduler: target.service.scheduler, arpFix: spec.arpFix, connections: spec.traffic.connections,
                          concurrency: spec.traffic.concurrency, facts: facts, analysis: analysis, captureFiles: files,
                          droppedByCapture: captured.dropped, trafficSeconds: trafficSeconds,
                          totalSeconds: Date().timeIntervalSince(t0), latencyMillis: LatencySummary(outcomes.filter { $0.error == nil }.map(\.latency)),
                          broughtUp: broughtUp)
    }

    /// Captures hand frames over in blocks at most this late (not one wakeup of the capture thread
    /// per frame, which took CPU from the traffic on a 2-CPU machine); the recorder stops once no
    /// block came for its quiet period (0.2 s), longer than this.
    static let captureBatchMillis: Int32 = 50

    /// Starts a capture on every lab port (the switch side of each node's interface, opened in the
    /// lab's switch namespace `sw`), the kernel buffers sized by `captureBuffer(points:)`.
    static func startCaptures(_ spec: LabSpec, switch sw: NetworkNamespace, batchMillis: Int32? = nil) throws -> CaptureRecorder {
        let ports = spec.nodes.flatMap { n in n.interfaces.map { LabNames.switchPort(node: n, interface: $0) } }
        let captures = try sw.run {
            try Dictionary(uniqueKeysWithValues: ports.map {
                ($0, try PacketCapture(interface: $0, bufferSize: captureBuffer(points: ports.count), batchMillis: batchMillis))
            })
        }
        let recorder = CaptureRecorder(captures: captures)
        try recorder.start()
        return recorder
    }

    /// Writes each capture point's frames to `<dir>/<point>.pcap`; returns the files by point.
    static func writeCaptures(_ frames: [String: CapturedFrames], to dir: String) throws -> [String: String] {
        var files: [String: String] = [:]
        for (point, frames) in frames {
            let path = "\(dir)/\(point).pcap"
            try PcapFile.write(frames, to: path)
            files[point] = path
        }
        return files
    }

    /// The kernel buffer of each capture point: 16 MiB for a small lab, shrinking so all of them
    /// together stay near 128 MiB (a 64-server lab would otherwise pin 1 GiB of the VM's 2 GiB),
    /// never below 512 KiB (each point then carries only its share of the traffic).
    static func captureBuffer(points: Int) -> Int32 {
        Int32(max(512 << 10, min(16 << 20, (128 << 20) / max(points, 1))))
    }

    /// Judges a run from its record and captures.
    public static func analyze(_ record: RunRecord, captures: [String: CapturedFrames]) -> AnalysisReport {
        // The contiguous stores are handed over as they are (arrays are shared, not copied).
        LabAnalyzer.analyze(record, captures: captures.mapValues { RawFrames(bytes: $0.bytes, ends: $0.ends, timestamps: $0.timestamps) })
    }

    /// Judges a saved run again: `run.json` and one `<point>.pcap` per capture point in `directory`.
    public static func analyzeSaved(_ directory: String) throws -> (RunRecord, AnalysisReport) {
        let record = try RunRecord.read(from: directory)
        var captures: [String: CapturedFrames] = [:]
        for point in record.points {
            let path = "\(directory)/\(point).pcap"
            if FileManager.default.fileExists(atPath: path) { captures[point] = try PcapFile.read(path) }
        }
        return (record, analyze(record, captures: captures))
    }

    /// Where the traffic goes, and what the kernel holds for every node: each link with its kind,
    /// state, MAC and addresses (loopback and IPv6 link-local addresses left out), and for the links on a lab
    /// segment the segment and capture point (the switch port). Links on no segment are kept when
    /// they hold an address or are IP-in-IP tunnels (a real server's VIP on `lo` or `ipip0`).
    func runFacts(_ spec: LabSpec, _ target: TrafficTarget, handles: LabHandles) throws -> RunFacts {
        let nodes = try spec.nodes.map { node -> NodeFacts in
            let route = try handles.route(LabNames.namespace(lab: spec.name, node: node.name))
            let addresses = Dictionary(grouping: try route.addresses(), by: \.linkIndex)
            let interfaces = try route.links().sorted { $0.index < $1.index }.compactMap { link -> InterfaceFacts? in
                let own = (addresses[link.index] ?? []).filter(\.isLabAddress).map(\.address)
                let planned = node.interface(named: link.name)
                guard planned != nil || !own.isEmpty || link.kind == "ipip" else { return nil }
                return InterfaceFacts(name: link.name, kind: link.kind, up: link.isUp, segment: planned?.segment,
                                      point: planned.map { LabNames.switchPort(node: node, interface: $0) }, mac: link.mac, addresses: own)
            }
            return NodeFacts(name: node.name, role: node.role, interfaces: interfaces)
        }
        return RunFacts(client: target.client.name, service: target.service.name, vip: target.service.vip, port: target.service.port,
                        protocol: target.service.proto, nodes: nodes)
    }
}

/// Where `lblab test` sends its traffic: the first phase's first client, its service and that
/// service's dispatcher (what the run's facts name).
struct TrafficTarget {
    var client: NodeSpec
    var service: ServiceSpec
    var dispatcher: NodeSpec

    init(_ spec: LabSpec) throws {
        guard let client = spec.node(named: spec.traffic.client), let service = spec.service(named: spec.traffic.service),
              let dispatcher = spec.node(named: service.dispatcher) else {
            throw RuntimeError.system("find the traffic client \(spec.traffic.client) and service \(spec.traffic.service) of lab \(spec.name)", ENOENT)
        }
        self.client = client
        self.service = service
        self.dispatcher = dispatcher
    }
}
