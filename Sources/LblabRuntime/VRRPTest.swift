import Foundation
import LblabAnalysis
import LblabCapture
import LblabModel
import LblabNetlink
import LblabPlan
import LblabSystem
import LblabTypes

/// What `lblab test` adds for a VRRP lab (two dispatchers, keepalived holding the VIP): it waits
/// for VRRP to settle, reads who holds the VIP and each dispatcher's IPVS sync daemons, applies the
/// lab's `faults:` (a dispatcher `down` stops its keepalived) on a thread of its own while the
/// traffic runs, and reads the client's neighbour entry for the VIP just before the fault and
/// after the traffic. Everything is read over netlink (rtnetlink, generic netlink IPVS).
final class VRRPWatch: @unchecked Sendable {
    let spec: LabSpec
    let vip: IPAddress
    /// Primary first.
    let peers: [NodeSpec]
    private let routes: [String: RouteNetlink]
    private let client: (route: RouteNetlink, links: [String])
    private var observation: VRRPObservation
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    private var joined = false
    private var faultWall: Double?
    private(set) var downed = Set<String>()
    private(set) var notes: [String] = []

    /// After `up`: waits (when `settle`) for VRRP to elect, then records the VIP's holders and the sync daemons.
    init(_ spec: LabSpec, handles: LabHandles, settle: Bool) throws {
        self.spec = spec
        guard let service = spec.service(named: spec.traffic.service), let clientNode = spec.node(named: spec.traffic.client) else {
            throw RuntimeError.system("find the traffic service and client of VRRP lab \(spec.name)", ENOENT)
        }
        vip = service.vip
        peers = spec.dispatchers(of: service)
        var routes: [String: RouteNetlink] = [:]
        for p in peers { routes[p.name] = try handles.route(LabNames.namespace(lab: spec.name, node: p.name)) }
        self.routes = routes
        // A socket of its own for the client: the fault thread reads through it while the traffic runs.
        let ns = try handles.namespace(LabNames.namespace(lab: spec.name, node: clientNode.name))
        client = (try ns.run { try RouteNetlink() }, clientNode.interfaces.map(\.name))
        let advert = peers.compactMap { $0.vrrp?.advertInterval }.max() ?? 1
        // VRRP's longest election: a BACKUP waits 3 adverts (and its skew) before it takes the VIP.
        // Settled: someone holds the VIP and the holders have not changed for that long (a BACKUP
        // may take the VIP first and a primary that starts later preempt it).
        if settle {
            let quiet = Double(3 * advert) + 1
            let deadline = Date().addingTimeInterval(4 * quiet)
            var last = try Self.holders(routes, vip: vip)
            var since = Date()
            while Date() < deadline {
                usleep(100_000)
                let now = try Self.holders(routes, vip: vip)
                if now != last { (last, since) = (now, Date()) } else if !now.isEmpty, Date().timeIntervalSince(since) >= quiet { break }
            }
        }
        let held = try Self.holders(routes, vip: vip)
        observation = VRRPObservation(vip: vip, peers: try peers.map { p in
            let v = p.vrrp!
            let mac = try routes[p.name]!.links().first { $0.name == v.interface }?.mac
            let daemons = try handles.ipvs(LabNames.namespace(lab: spec.name, node: p.name)).syncDaemons()
            return .init(name: p.name, mac: mac, priority: v.priority, routerID: v.routerID, advertInterval: v.advertInterval,
                         heldBefore: held.contains(p.name), heldAfter: false,
                         syncDaemons: daemons.map(\.state))
        }, syncExpected: spec.sync == true)
    }

    /// The VRRP dispatchers with the VIP on one of their links.
    static func holders(_ routes: [String: RouteNetlink], vip: IPAddress) throws -> Set<String> {
        Set(try routes.filter { try $0.value.addresses().contains { $0.address.address == vip } }.map(\.key))
    }

    func clientEntry() -> MACAddress? {
        (try? client.route.neighbours(vip.family))?.first { $0.address == vip && $0.mac != nil }?.mac
    }

    /// Applies the lab's faults at their times after `start` (the traffic's start, wall clock) on a thread.
    func startFaults(at start: Date, state: LabState?, store: StateStore) {
        let faults = spec.faults ?? []
        if let f = faults.first(where: { f in f.action.breaks && peers.contains { $0.name == f.node } }) {
            observation.faultPlanned = String(format: "%@ %@ at %.1f s", f.node, f.action.rawValue, f.at)
        }
        guard !faults.isEmpty else { return }
        guard let state else {
            observation.faultFailure = "lab \(spec.name) has no saved state to apply it to"
            return
        }
        thread = Thread { [self] in
            var state = state
            for f in faults {
                let wait = start.timeIntervalSince1970 + f.at - Date().timeIntervalSince1970
                if wait > 0 { usleep(useconds_t(wait * 1_000_000)) }
                let before = clientEntry()
                let t = Date().timeIntervalSince1970
                do {
                    let what = try LabRuntime.apply(f, state: &state, store: store)
                    notes.append(String(format: "fault at %.2f s: %@", t - start.timeIntervalSince1970, what))
                } catch {
                    notes.append("warning: fault \(f.action.rawValue) of \(f.node) failed: \(error)")
                    if observation.faultFailure == nil { observation.faultFailure = "\(f.action.rawValue) of \(f.node) failed: \(error)" }
                    continue
                }
                switch f.action {
                case .down, .unplug:
                    downed.insert(f.node)
                    if faultWall == nil, peers.contains(where: { $0.name == f.node }) {
                        faultWall = t
                        observation.faultNode = f.node
                        observation.neighbourBefore = before
                    }
                case .up, .plug: downed.remove(f.node)
                case .slow: break
                }
            }
            finished.signal()
        }
        thread?.start()
    }

    /// Waits until the fault thread (if one was started) has applied every fault; idempotent.
    func waitForFaults() {
        guard thread != nil, !joined else { return }
        finished.wait()
        joined = true
    }

    /// The nodes the faults left down, once: whoever takes them starts them again.
    func takeDowned() -> Set<String> {
        waitForFaults()
        defer { downed = [] }
        return downed
    }

    /// After the traffic: waits for the fault thread, reads the holders and the client's entry again.
    func finish(trafficStarted: Date) throws -> VRRPObservation {
        waitForFaults()
        let held = try Self.holders(routes, vip: vip)
        for i in observation.peers.indices { observation.peers[i].heldAfter = held.contains(observation.peers[i].name) }
        observation.neighbourAfter = clientEntry()
        observation.faultAt = faultWall.map { $0 - trafficStarted.timeIntervalSince1970 }
        return observation
    }
}

extension LabRuntime {
    /// The VRRP verdicts of a run: the observation (saved as `vrrp.json` next to `run.json`), the
    /// VIP's ARP at the client's capture point, the connections. Starts again what the faults stopped.
    func judgeVRRP(_ watch: VRRPWatch, _ spec: LabSpec, traffic: TrafficRun, frames: [String: CapturedFrames], directory: String,
                   progress: ((String) -> Void)?) throws -> [RuleVerdict] {
        // After the holders are read, whatever fails below.
        defer { restoreVRRP(watch, spec, progress: progress) }
        let observation = try watch.finish(trafficStarted: traffic.started)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(observation).write(to: URL(fileURLWithPath: "\(directory)/vrrp.json"))
        var announcements: [VIPAnnouncement] = []
        if let client = spec.node(named: spec.traffic.client), let v4 = watch.vip.ipv4,
           let f = frames[LabNames.switchPort(node: client, interface: client.interfaces[0])] {
            announcements = VIPAnnouncement.find(in: RawFrames(bytes: f.bytes, ends: f.ends, timestamps: f.timestamps), vip: v4,
                                                 origin: traffic.started.timeIntervalSince1970)
        }
        for n in watch.notes { progress?(n) }
        return VRRPRules.judge(observation, announcements: announcements, outcomes: traffic.outcomes)
    }

    /// Starts again what the VRRP faults stopped (once: later calls find nothing to do).
    func restoreVRRP(_ watch: VRRPWatch, _ spec: LabSpec, progress: ((String) -> Void)?) {
        let downed = watch.takeDowned()
        if !downed.isEmpty, var state = (try? store.load(spec.name)) ?? nil { restore(downed, state: &state, progress: progress) }
    }
}
