import Foundation
import LblabAnalysis
import LblabModel
import LblabNetlink
import LblabPlan
import LblabSystem
import LblabTypes

extension LabRuntime {
    /// A DNS lab's `faults:` during its test, each at its time after `start`, on this thread (the
    /// clients run as processes of their own meanwhile). Returns when each was applied (a slow
    /// machine may apply one late: the rules judge from the real time) and the nodes left broken.
    func applyFaults(_ spec: LabSpec, state: inout LabState, start: Double, progress: ((String) -> Void)?) throws -> (applied: [(FaultSpec, Double)], down: Set<String>) {
        var schedule = FaultSchedule(spec.faults ?? [])
        for f in spec.faults ?? [] {
            let wait = start + f.at - Date().timeIntervalSince1970
            if wait > 0 { usleep(useconds_t(wait * 1_000_000)) }
            let t = Date().timeIntervalSince1970
            try schedule.apply(due: t - start, state: &state, store: store, progress: progress)
        }
        return (schedule.applied.map { (FaultSpec(at: $0.at, node: $0.node, action: $0.action), $0.at + start) }, schedule.broken)
    }
}

/// The faults of a test in time order: `apply(due:)` applies those whose time has come, and
/// remembers when, and which nodes they left broken (the test restores them afterwards).
struct FaultSchedule {
    private var pending: [FaultSpec]
    /// When each was applied, in seconds from the traffic's start.
    private(set) var applied: [AppliedFault] = []
    private(set) var broken = Set<String>()

    init(_ faults: [FaultSpec]) { pending = faults.sorted { $0.at < $1.at } }

    var isEmpty: Bool { pending.isEmpty }
    /// Faults the traffic ended before.
    var left: [FaultSpec] { pending }

    mutating func apply(due now: Double, state: inout LabState, store: StateStore, progress: ((String) -> Void)?) throws {
        while let f = pending.first, f.at <= now {
            pending.removeFirst()
            let t = now
            let what = try LabRuntime.apply(f, state: &state, store: store)
            applied.append(AppliedFault(at: t, node: f.node, action: f.action))
            progress?(String(format: "fault at %.2f s: %@", t, what))
            switch f.action {
            case .down, .unplug, .slow: broken.insert(f.node)
            case .up: broken.remove(f.node)
            case .plug: break
            }
        }
    }
}

/// Paces the connections of paced phases (`interval_ms`): called before each connection of a
/// traced phase, it waits until that connection's time, then hands the traffic's clock to `tick`
/// (which applies the faults that are due). Times are CLOCK_MONOTONIC seconds.
final class Pacer {
    private let intervals: [Int: Double]
    private var phaseStart: [Int: Double] = [:]
    /// When the first connection was let go: the traffic's time zero, near enough for faults.
    private(set) var zero: Double?
    /// When the first connection was let go, and its index, to align with the engine's clock.
    private(set) var firstRelease: (phase: Int, index: Int, at: Double)?
    private let tick: (Double) -> Void

    init(intervals: [Int: Double], tick: @escaping (Double) -> Void) {
        self.intervals = intervals
        self.tick = tick
    }

    func before(_ phase: Int, _ index: Int) {
        let now = Pacer.now()
        if zero == nil { zero = now }
        if let interval = intervals[phase] {
            let start = phaseStart[phase] ?? now
            phaseStart[phase] = start
            let due = start + Double(index) * interval
            if due > now { usleep(useconds_t((due - now) * 1_000_000)) }
        }
        tick(Pacer.now() - zero!)
        if firstRelease == nil { firstRelease = (phase, index, Pacer.now()) }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// Reads one service's real servers from its dispatcher's IPVS table every `period` seconds on
/// a thread of its own, until `stop()`.
final class IPVSSampler: @unchecked Sendable {
    private let ipvs: IPVSNetlink
    private let key: IPVSServiceKey
    private let names: [IPAddress: String]
    private let period: Double
    private let lock = NSLock()
    private var samples: [(at: Double, servers: [String])] = []
    private var failure: Error?
    private var running = true
    private var stopped = false
    private let done = DispatchSemaphore(value: 0)

    init(_ tracer: DestinationTracer, period: Double = 0.1) {
        ipvs = tracer.ipvs
        key = tracer.key
        names = tracer.names
        self.period = period
    }

    func start() {
        let thread = Thread { [self] in
            while lock.withLock({ running }) {
                let t = Pacer.now()
                do {
                    let servers = try ipvs.destinations(of: key).filter { $0.destination.weight > 0 }
                        .map { names[$0.destination.address] ?? $0.destination.address.withPort($0.destination.port) }
                    lock.withLock { samples.append((t, servers)) }
                } catch let error as NetlinkError where error.errno == ENOENT || error.errno == ESRCH {
                    lock.withLock { samples.append((t, [])) }   // no such service (yet): no servers
                } catch {
                    lock.withLock { failure = error; running = false }
                }
                let rest = t + period - Pacer.now()
                if rest > 0 { usleep(useconds_t(rest * 1_000_000)) }
            }
            done.signal()
        }
        thread.start()
    }

    /// Stops sampling; the samples with their CLOCK_MONOTONIC times.
    func stop() throws -> [(at: Double, servers: [String])] {
        // Idempotent: an error path may stop it again.
        let first: Bool = lock.withLock {
            running = false
            defer { stopped = true }
            return !stopped
        }
        if first { done.wait() }
        return try lock.withLock {
            if let failure { throw RuntimeError.system("read the IPVS destinations of \(key) while sampling: \(failure)", EIO) }
            return samples
        }
    }
}
