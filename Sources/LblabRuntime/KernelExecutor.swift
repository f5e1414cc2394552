import Foundation
import LblabNetlink
import LblabPlan
import LblabSystem
import LblabTypes

/// Open handles into a lab's namespaces: the namespace descriptors and the netlink sockets
/// opened inside them (a socket stays bound to the namespace it was opened in), and the link
/// indexes known without asking the kernel.
final class LabHandles {
    private var namespaces: [String: NetworkNamespace] = [:]
    private var routes: [String: RouteNetlink] = [:]
    private var ipvs: [String: IPVSNetlink] = [:]
    /// Link indexes known from the links' creation, per namespace; given to the namespace's
    /// rtnetlink socket when it opens, so requests naming those links need no lookup.
    private var indexes: [String: [String: Int32]] = [:]
    /// The next ifindex to ask for, in each namespace this process created (it knows every link
    /// in them). Above the handful of devices a fresh namespace may start with (lo is 1; tunl0,
    /// gre0, sit0 ... when their modules are loaded).
    private var nextIndex: [String: Int32] = [:]
    static let firstRequestedIndex: Int32 = 100

    func namespace(_ name: String) throws -> NetworkNamespace {
        if let ns = namespaces[name] { return ns }
        let ns = try NetworkNamespace(opening: name)
        namespaces[name] = ns
        return ns
    }

    func adopt(_ ns: NetworkNamespace) { namespaces[ns.name] = ns }

    /// A namespace this process has just created: its loopback is ifindex 1 (the first device of
    /// every network namespace), and the indexes of the links made in it can be chosen.
    func adoptCreated(_ ns: NetworkNamespace, route: RouteNetlink? = nil) {
        namespaces[ns.name] = ns
        if let route { routes[ns.name] = route }
        nextIndex[ns.name] = Self.firstRequestedIndex
        remember(index: 1, of: "lo", in: ns.name)
    }

    /// An ifindex to ask for when creating a link in `name`, or 0 when this process did not
    /// create the namespace (then the kernel chooses).
    func requestIndex(in name: String) -> Int32 {
        guard let i = nextIndex[name] else { return 0 }
        nextIndex[name] = i + 1
        return i
    }

    func remember(index: Int32, of link: String, in name: String) {
        indexes[name, default: [:]][link] = index
        routes[name]?.remember(index: index, of: link)
    }

    func route(_ name: String) throws -> RouteNetlink {
        if let r = routes[name] { return r }
        let r = try namespace(name).run { try RouteNetlink() }
        for (link, index) in indexes[name] ?? [:] { r.remember(index: index, of: link) }
        routes[name] = r
        return r
    }

    func ipvs(_ name: String) throws -> IPVSNetlink {
        if let i = ipvs[name] { return i }
        let i = try namespace(name).run { try IPVSNetlink() }
        ipvs[name] = i
        return i
    }

    /// Drops every handle of `name` (before the namespace is deleted).
    func forget(_ name: String) {
        namespaces[name] = nil
        routes[name] = nil
        ipvs[name] = nil
        indexes[name] = nil
        nextIndex[name] = nil
    }
}

/// Carries out plan steps against the kernel: rtnetlink and IPVS generic netlink over libmnl,
/// sysctls and agents inside each namespace (on the namespace thread). Call it from
/// `NamespaceThread.shared.runHere` so each step can switch namespace in place.
///
/// What it does beyond one request per step, to build a lab fast (each has the same result as the
/// plain way: the benchmark compares the kernel state of both):
/// - a batch's namespaces are created, the steps that need only their namespace carried out, and
///   the agents planned in them started, ahead of their steps by a `Prefetcher` thread, so that
///   work runs beside the rest; `createNamespace`, those steps and `startAgent` take the result;
/// - a veth pair is created with its switch end already enslaved to its bridge and up
///   (`LinkFusion`): the later `setMaster` / `setUp` steps it covers are done already;
/// - links get ifindexes chosen at creation in the namespaces lblab created, so no request has
///   to look a link up by name first.
final class KernelExecutor: StepExecutor {
    let handles: LabHandles
    /// Agent pids by node and port: filled as agents start, or from a lab's state for `down`.
    private(set) var agents: [AgentKey: Int32]
    /// DNS labs' server processes by node: filled as they start, or from a lab's state for `down`.
    var daemons: [String: Int32] = [:]

    /// Fault injection for tests of rollback: `LBLAB_FAIL_AFTER_STEPS=N` makes step N+1 fail.
    private let failAfter = ProcessInfo.processInfo.environment["LBLAB_FAIL_AFTER_STEPS"].flatMap(Int.init)
    private var executed = 0
    /// Processes found in namespaces about to be deleted, signalled already (see `willExecute`).
    private var doomed: [String: [Int32]] = [:]
    /// Every process signalled to stop by this executor.
    private(set) var signalled = Set<Int32>()
    /// Namespaces (and agents) of the current batch being made ahead of their steps.
    private var prefetcher: Prefetcher?
    /// Steps of the current batch that an earlier step carries out.
    private var fusion = LinkFusion([])

    init(handles: LabHandles = LabHandles(), agents: [AgentKey: Int32] = [:]) {
        self.handles = handles
        self.agents = agents
        Self.raiseFileLimit()
    }

    deinit { abandonPrefetched() }

    /// Before a batch: plans the fused link steps and starts the prefetcher for the namespaces it
    /// creates. Before a teardown: SIGTERMs every agent and every process in the namespaces it
    /// deletes at once (one /proc scan), so each `stopAgent` / `deleteNamespace` only waits for its own.
    func willExecute(_ steps: [Step]) {
        // A batch after a failed one (its rollback): nothing made ahead may outlive it.
        abandonPrefetched()
        fusion = LinkFusion(steps)
        let creating = steps.compactMap { if case .createNamespace(let n) = $0 { n } else { nil } }
        if !creating.isEmpty {
            var agentsIn: [String: [Prefetcher.Agent]] = [:]
            if Processes.agentExecutable != nil {
                for case .startAgent(let ns, let node, let port, _) in steps {
                    agentsIn[ns, default: []].append(.init(node: node, port: port))
                }
            }
            let ahead = Prefetcher.aheadSteps(steps)
            prefetcher = Prefetcher(creating.map { .init(namespace: $0, ahead: ahead[$0] ?? [], agents: agentsIn[$0] ?? []) },
                                    launcher: Processes.agentExecutable)
        }

        let deleting = steps.compactMap { if case .deleteNamespace(let n) = $0 { n } else { nil } }
        let stopping = steps.compactMap { if case .stopAgent(_, let node, let port) = $0 { agents[AgentKey(node: node, port: port)] } else { nil } }
        guard !deleting.isEmpty || !stopping.isEmpty else { return }
        let existing = deleting.filter(NetworkNamespace.exists)
        var inodes: [UInt64: String] = [:]
        for n in existing { if let i = NetworkNamespace.inode(of: n) { inodes[i] = n } }
        let found = inodes.isEmpty ? [] : Processes.pids(inNamespaceInodes: Set(inodes.keys))
        let agentPIDs = stopping.filter { Processes.isAlive($0) && Processes.commandName($0) == Processes.agentName }
        for pid in Set(found + agentPIDs) where pid != getpid() {
            kill(pid, SIGTERM)
            signalled.insert(pid)
        }
        doomed = [:]
        for pid in found {
            if let inode = Processes.namespaceInode(of: pid), let ns = inodes[inode] { doomed[ns, default: []].append(pid) }
        }
        LabRuntime.logPhase("teardown: \(signalled.count) processes signalled in \(existing.count) namespaces")
    }

    /// Stops the prefetcher and removes what it made that no step took: agents (killed) and
    /// namespaces (deleted with everything in them). Hands back the agent launcher it used,
    /// still open, with the agents asked of it that no step took.
    private func stopPrefetcher() -> (launcher: Processes.AgentLauncher?, untaken: [AgentKey]) {
        guard let p = prefetcher else { return (nil, []) }
        prefetcher = nil
        let (namespaces, agents, requested, launcher) = p.stop()
        for agent in agents { Processes.abandon(agent) }
        // With agents asked of the launcher and not taken, the namespaces go once it has said
        // which pids it forked into them (see `abandonPrefetched`).
        if launcher != nil && !requested.isEmpty { pendingDeletes = namespaces } else { delete(namespaces) }
        return (launcher, requested)
    }
    private var pendingDeletes: [NetworkNamespace] = []

    private func delete(_ namespaces: [NetworkNamespace]) {
        for ns in namespaces {
            do { try NetworkNamespace.delete(ns.name) } catch {
                log.warning("could not remove a namespace made ahead of its step", metadata: ["namespace": "\(ns.name)", "error": "\(error)"])
            }
        }
    }

    /// For a rollback (or an executor dropped part-way): stops the prefetcher and its launcher and
    /// removes everything they made that no step took.
    private func abandonPrefetched() {
        let (launcher, untaken) = stopPrefetcher()
        guard let launcher else { return }
        let pids = launcher.abandon()
        for key in untaken {
            if let pid = pids[Processes.AgentLauncher.Key(node: key.node, port: key.port)] {
                kill(pid, SIGKILL)
            }
        }
        delete(pendingDeletes)
        pendingDeletes = []
    }

    /// Agents started and not yet listening: `finish()` waits for them all at once.
    private var pending: [(agent: Processes.PendingAgent, step: Step, port: UInt16)] = []

    func finish() throws {
        LabRuntime.logPhase("steps done: waiting for \(pending.count) agents to listen")
        defer { LabRuntime.logPhase("agents listening") }
        // Agents from the launcher: it reports, once its input ends, those that did not listen.
        let (launcher, untaken) = stopPrefetcher()
        let failed = launcher?.finish() ?? [:]
        // (After a successful plan every agent was taken; this only guards against a plan whose
        // startAgent steps were not all run.)
        if !untaken.isEmpty { log.warning("agents started ahead were not taken", metadata: ["agents": "\(untaken)"]) }
        delete(pendingDeletes)
        pendingDeletes = []
        defer { pending = [] }
        var failure: DeferredStepError?
        for p in pending {
            do {
                if let err = failed[Processes.AgentLauncher.Key(node: p.agent.node, port: p.port)] {
                    let what = "start the HTTP agent of \(p.agent.node) on port \(p.port)"
                    throw err == ECHILD ? SystemError(what + ": the agent exited before it listened", errno: ECHILD) : SystemError(what, errno: err)
                }
                try Processes.waitUntilListening(p.agent, port: p.port)
            } catch {
                agents[AgentKey(node: p.agent.node, port: p.port)] = nil
                failure = failure ?? DeferredStepError(step: p.step, cause: error)
            }
        }
        if let failure { throw failure }
    }

    func execute(_ step: Step) throws -> StepOutcome {
        if let failAfter, executed >= failAfter, step.undo != .nothing {
            throw RuntimeError.system("injected failure (LBLAB_FAIL_AFTER_STEPS=\(failAfter))", ECANCELED)
        }
        executed += 1
        if fusion.take(step) { return .done }
        switch step {
        case .setSysctl, .setUp(_, "lo"), .addAddress(_, "lo", _):
            if let result = prefetcher?.takeAhead(step) {
                try result.get()
                return .done
            }
        default:
            break
        }
        switch step {
        case .createNamespace(let name):
            if let (made, route) = prefetcher?.namespace(name) {
                handles.adoptCreated(try made.get(), route: route)
            } else {
                handles.adoptCreated(try NetworkNamespace.create(name))
            }
        case .setSysctl(let ns, let key, let value):
            try handles.namespace(ns).run { try NetworkNamespace.setSysctl(key, value) }
        case .createBridge(let ns, let name):
            let index = handles.requestIndex(in: ns)
            try handles.route(ns).createBridge(name: name, index: index)
            if index != 0 { handles.remember(index: index, of: name, in: ns) }
        case .createVeth(let ns, let name, let peerNS, let peer):
            let extras = fusion.extras(of: LinkFusion.Link(namespace: ns, name: name))
            let index = handles.requestIndex(in: ns), peerIndex = handles.requestIndex(in: peerNS)
            let indexed = try handles.route(ns).createVeth(
                name: name, peerName: peer, peerNamespaceFD: try handles.namespace(peerNS).fd, index: index, peerIndex: peerIndex,
                master: extras.master, up: extras.up)
            if indexed {
                handles.remember(index: index, of: name, in: ns)
                handles.remember(index: peerIndex, of: peer, in: peerNS)
            }
        case .setMaster(let ns, let link, let master):
            try handles.route(ns).setMaster(link: link, master: master)
        case .setUp(let ns, let link):
            try handles.route(ns).setUp(link: link)
        case .addAddress(let ns, let link, let address):
            try handles.route(ns).addAddress(address, link: link)
        case .addRoute(let ns, let r):
            try handles.route(ns).addRoute(to: r.destination, via: r.gateway, link: r.link)
        case .createTunnel(let ns, let name, let local):
            guard let v4 = local.ipv4 else { throw RuntimeError.system("create ipip tunnel \(name): IPv6 tunnels are not supported yet", EAFNOSUPPORT) }
            try handles.route(ns).createIPIPTunnel(name: name, local: v4)
        case .addService(let ns, let s):
            try handles.ipvs(ns).addService(IPVSService(key: s.key, scheduler: s.scheduler, flags: s.flags,
                                                        timeout: UInt32(s.persistence ?? 0), netmask: s.netmask))
        case .addDestination(let ns, let s, let d):
            try handles.ipvs(ns).addDestination(
                IPVSDestination(address: d.address, port: d.port, forwarding: IPVSForwarding(d.forward), weight: UInt32(d.weight),
                                upperThreshold: UInt32(d.upperThreshold ?? 0), lowerThreshold: UInt32(d.lowerThreshold ?? 0)), to: s.key)
        case .setIPVSTimeouts(let ns, let t):
            try handles.ipvs(ns).setTimeouts(t)
        case .startAgent(let ns, let node, let port, _):
            // One agent serves both protocols on its port (lblab_agent_serve).
            let key = AgentKey(node: node, port: port)
            let agent = try prefetcher?.agent(key, in: ns)?.get()
                ?? Processes.spawnAgent(in: try handles.namespace(ns), port: port, nodeName: node)
            agents[key] = agent.pid
            pending.append((agent, step, port))
            return .startedAgent(node: node, namespace: ns, port: port, pid: agent.pid)
        case .startDaemon(let ns, let node, let daemon):
            let pid = try Daemons.start(daemon, node: node, in: try handles.namespace(ns))
            daemons[node] = pid
            return .startedDaemon(node: node, namespace: ns, kind: daemon.kind, pid: pid)
        case .stopDaemon(_, let node, let kind):
            if let pid = daemons[node] { Daemons.stop(pid, kind: kind) }
            daemons[node] = nil
        case .stopAgent(_, let node, let port):
            let t0 = ContinuousClock.now
            defer { log.trace("step done", metadata: ["step": "\(step.command)", "ms": "\(Self.ms(since: t0))"]) }
            let key = AgentKey(node: node, port: port)
            if let pid = agents[key], Processes.commandName(pid) == Processes.agentName { Processes.stop(pid) }
            agents[key] = nil
        case .deleteNamespace(let name):
            let t0 = ContinuousClock.now
            defer { log.trace("step done", metadata: ["step": "\(step.command)", "ms": "\(Self.ms(since: t0))"]) }
            handles.forget(name)
            // The processes in it were found and signalled by `willExecute` (one /proc scan for
            // the whole teardown); wait for them, then unmount and remove the name.
            for pid in doomed[name] ?? [] { Processes.stop(pid) }
            try NetworkNamespace.delete(name)
        }
        return .done
    }

    /// Milliseconds since `t0`, for trace logs.
    static func ms(since t0: ContinuousClock.Instant) -> String {
        let d = ContinuousClock.now - t0
        return String(format: "%.2f", Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
    }

    /// A lab holds a descriptor per namespace, a netlink socket per namespace and, while `up`
    /// waits for them, a pipe per agent: hundreds of real servers pass the usual soft limit of
    /// 1024 open files. Raise it to the hard limit (the agents close everything they inherit).
    private static func raiseFileLimit() {
        var limit = rlimit()
        guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(RLIMIT_NOFILE_VALUE, &limit)
    }
}

private let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)

/// The steps of one batch that an earlier step of it carries out. A veth pair's creation can
/// also enslave its first end to a bridge and bring that end up, in the same RTM_NEWLINK: the
/// `setMaster` and `setUp` steps that follow it are then done already. Fused only when nothing
/// between the creation and the step could depend on the link being down or unattached (only
/// `addAddress` on it may lie between) and the bridge exists before the pair. Pure data, built
/// from the batch alone: tests check it without root.
struct LinkFusion {
    struct Link: Hashable {
        var namespace: String
        var name: String
    }

    /// What a veth pair's creation also does (to its first end).
    struct Extras: Equatable {
        var master: String?
        var up = false
    }

    private enum Key: Hashable {
        case master(Link, String)
        case up(Link)
    }

    private var extras: [Link: Extras] = [:]
    /// Steps done by an earlier step: each is skipped once.
    private var absorbed: [Key: Int] = [:]

    init(_ steps: [Step]) {
        /// Where each bridge and each veth pair is created in the batch.
        var bridgeAt: [Link: Int] = [:], vethAt: [Link: Int] = [:]
        /// Links created in this batch and not yet touched by a step other than the fusable ones.
        var open: [Link: Link] = [:]   // a veth end -> the pair's first end
        for (i, step) in steps.enumerated() {
            switch step {
            case .createBridge(let ns, let name):
                bridgeAt[Link(namespace: ns, name: name)] = bridgeAt[Link(namespace: ns, name: name)] ?? i
            case .createVeth(let ns, let name, let peerNS, let peer):
                let first = Link(namespace: ns, name: name)
                extras[first] = Extras()
                vethAt[first] = i
                open[first] = first
                open[Link(namespace: peerNS, name: peer)] = first
            case .setMaster(let ns, let link, let master):
                let l = Link(namespace: ns, name: link)
                // The bridge must exist when the pair is created.
                if let first = open[l], first == l, extras[first]?.master == nil, extras[first]?.up == false,
                   let b = bridgeAt[Link(namespace: ns, name: master)], let v = vethAt[first], b < v {
                    extras[first]?.master = master
                    absorbed[.master(l, master), default: 0] += 1
                } else {
                    open[l] = nil
                }
            case .setUp(let ns, let link):
                // Only the first end: the kernel cannot bring a veth's peer up while creating the
                // pair (veth_open finds no peer yet: ENOTCONN), so the peer's `setUp` stays a step.
                let l = Link(namespace: ns, name: link)
                if let first = open[l], first == l {
                    extras[first]?.up = true
                    absorbed[.up(l), default: 0] += 1
                }
                open[l] = nil
            case .addAddress:
                break
            case .setSysctl(let ns, _, _):
                // A sysctl of the namespace might care whether its links are up yet: stop fusing there.
                for l in open.keys where l.namespace == ns { open[l] = nil }
            default:
                // Any other step naming an open link closes it for fusion (conservative).
                for l in Self.links(named: step) { open[l] = nil }
            }
        }
    }

    /// What the creation of the veth whose first end is `link` also does.
    func extras(of link: Link) -> Extras { extras[link] ?? Extras() }

    /// Whether `step` was carried out by an earlier step (then it is consumed).
    mutating func take(_ step: Step) -> Bool {
        let key: Key
        switch step {
        case .setMaster(let ns, let link, let master): key = .master(Link(namespace: ns, name: link), master)
        case .setUp(let ns, let link): key = .up(Link(namespace: ns, name: link))
        default: return false
        }
        guard let n = absorbed[key], n > 0 else { return false }
        absorbed[key] = n == 1 ? nil : n - 1
        return true
    }

    /// The links a step names (for steps other than the fusable ones).
    private static func links(named step: Step) -> [Link] {
        switch step {
        case .addRoute(let ns, let r): r.link.map { [Link(namespace: ns, name: $0)] } ?? []
        case .createTunnel(let ns, let name, _): [Link(namespace: ns, name: name)]
        case .createBridge(let ns, let name): [Link(namespace: ns, name: name)]
        default: []
        }
    }
}

/// Creates a batch's namespaces, and starts the agents planned in them, ahead of the steps that
/// need them, on a thread of its own: the kernel's namespace setup and the agents' start-up run
/// beside the namespace thread's netlink work (with two CPUs, at the same time). Namespaces are
/// made in plan order; a failure stops it (the step that needed it fails with that error).
///
/// Right after making a namespace, while inside it, it also carries out that namespace's steps
/// that need nothing but the namespace (`aheadSteps`): sysctls that do not name a device other
/// than lo, lo up, addresses on lo. Their results wait for the steps, which take them in order.
final class Prefetcher: @unchecked Sendable {
    struct Agent: Sendable, Equatable {
        var node: String
        var port: UInt16
    }

    struct Job {
        var namespace: String
        var ahead: [Step]
        var agents: [Agent]
    }

    private let cond = NSCondition()
    private let jobs: [Job]
    private var stopped = false
    private var finished = false
    private var namespaces: [String: Result<NetworkNamespace, Error>] = [:]
    /// The rtnetlink socket opened in a namespace for its steps done ahead.
    private var routes: [String: RouteNetlink] = [:]
    /// Per namespace, its steps done ahead with their results (nil: not run), in plan order; the
    /// executor takes them from the front as it reaches them.
    private var ahead: [String: [(step: Step, result: Result<Void, Error>?)]] = [:]
    /// An agent started on its own, or asked of the launcher (its pid is read when it is taken).
    private enum Started {
        case spawned(Processes.PendingAgent)
        case requested
    }
    private var agents: [AgentKey: Result<Started, Error>] = [:]
    private var taken = Set<String>()
    private var takenAgents = Set<AgentKey>()
    private let planned: Set<String>
    private let plannedAgents: Set<AgentKey>
    /// The `lblab-agent` program, started once in `--launch` mode to fork every agent.
    private let launcherExecutable: String?
    private var launcher: Processes.AgentLauncher?
    private var launcherFailed = false

    init(_ jobs: [Job], launcher: String?) {
        self.jobs = jobs
        launcherExecutable = launcher
        planned = Set(jobs.map(\.namespace))
        plannedAgents = Set(jobs.flatMap { $0.agents.map { AgentKey(node: $0.node, port: $0.port) } })
        for job in jobs where !job.ahead.isEmpty { ahead[job.namespace] = job.ahead.map { ($0, nil) } }
        let thread = Thread { [self] in run() }
        thread.name = "lblab-prefetch"
        thread.start()
    }

    /// The steps of a batch that can be carried out right after their namespace is made, by
    /// namespace (for the namespaces the batch creates). They need nothing but the namespace and
    /// give the same result whenever they run after its creation: sysctls of `all`, `lo` and
    /// `ip_forward` (`all` keys and forwarding apply to every device, existing or not; `default`
    /// ones only while the plan has made no link in the namespace yet, as new links copy them),
    /// lo up, addresses on lo (lo exists in every namespace from the start).
    static func aheadSteps(_ steps: [Step]) -> [String: [Step]] {
        var created = Set<String>(), linked = Set<String>()
        var out: [String: [Step]] = [:]
        for step in steps {
            switch step {
            case .createNamespace(let n):
                created.insert(n)
            case .createVeth(let ns, _, let peerNS, _):
                linked.insert(ns)
                linked.insert(peerNS)
            case .createBridge(let ns, _), .createTunnel(let ns, _, _):
                linked.insert(ns)
            case .setSysctl(let ns, let key, _) where created.contains(ns) && canRunAhead(key, linksMade: linked.contains(ns)):
                out[ns, default: []].append(step)
            case .setUp(let ns, "lo") where created.contains(ns), .addAddress(let ns, "lo", _) where created.contains(ns):
                out[ns, default: []].append(step)
            default:
                break
            }
        }
        return out
    }

    static func canRunAhead(_ key: String, linksMade: Bool) -> Bool {
        if key == "net.ipv4.ip_forward" { return true }
        let parts = key.split(separator: ".")
        guard parts.count == 5, parts[0] == "net", parts[1] == "ipv4" || parts[1] == "ipv6", parts[2] == "conf" else { return false }
        switch parts[3] {
        case "all", "lo": return true
        case "default": return !linksMade
        default: return false
        }
    }

    private func run() {
        let t0 = ContinuousClock.now
        var made = 0, started = 0, aheadDone = 0
        var inCreate = Duration.zero, inAhead = Duration.zero, inAgents = Duration.zero
        defer {
            cond.lock()
            finished = true
            cond.broadcast()
            cond.unlock()
            func ms(_ d: Duration) -> String { String(format: "%.0f", Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15) }
            log.debug("prefetch: done", metadata: [
                "namespaces": "\(made) in \(ms(inCreate)) ms", "steps ahead": "\(aheadDone) in \(ms(inAhead)) ms",
                "agents": "\(started) in \(ms(inAgents)) ms", "ms": "\(KernelExecutor.ms(since: t0))"])
        }
        for job in jobs {
            cond.lock()
            let stop = stopped
            cond.unlock()
            if stop { return }
            var t = ContinuousClock.now
            let result = Result { try NetworkNamespace.create(job.namespace, onCallingThread: true) }
            inCreate += ContinuousClock.now - t
            var route: RouteNetlink?
            var results: [Result<Void, Error>] = []
            if case .success(let ns) = result, !job.ahead.isEmpty {
                t = ContinuousClock.now
                (route, results) = runAhead(job.ahead, in: ns)
                inAhead += ContinuousClock.now - t
                aheadDone += results.count
            }
            cond.lock()
            namespaces[job.namespace] = result
            if let route { routes[job.namespace] = route }
            for (i, r) in results.enumerated() { ahead[job.namespace]?[i].result = r }
            if case .failure = result { stopped = true }
            cond.broadcast()
            cond.unlock()
            guard case .success(let ns) = result else { return }
            made += 1
            t = ContinuousClock.now
            defer { inAgents += ContinuousClock.now - t }
            for a in job.agents {
                let r = Result { try startAgent(a, in: ns) }
                if case .success = r { started += 1 }
                cond.lock()
                agents[AgentKey(node: a.node, port: a.port)] = r
                cond.broadcast()
                cond.unlock()
            }
        }
    }

    /// Carries out `steps` inside `ns` on this thread, up to the first failure.
    private func runAhead(_ steps: [Step], in ns: NetworkNamespace) -> (RouteNetlink?, [Result<Void, Error>]) {
        var route: RouteNetlink?
        var results: [Result<Void, Error>] = []
        func rt() throws -> RouteNetlink {
            if let route { return route }
            let r = try RouteNetlink()
            r.remember(index: 1, of: "lo")   // a new namespace's first device
            route = r
            return r
        }
        do {
            try ns.runOnCallingThread {
                for step in steps {
                    let r = Result<Void, Error> {
                        switch step {
                        case .setSysctl(_, let key, let value): try NetworkNamespace.setSysctl(key, value)
                        case .setUp(_, let link): try rt().setUp(link: link)
                        case .addAddress(_, let link, let address): try rt().addAddress(address, link: link)
                        default: throw RuntimeError.system("internal: \(step.command) cannot run ahead", EINVAL)
                        }
                    }
                    results.append(r)
                    if case .failure = r { break }
                }
            }
        } catch {
            // Could not enter the namespace: the steps run the plain way (and meet the same error).
            return (nil, [])
        }
        return (route, results)
    }

    /// An agent asked of the launcher (started at the first agent), else started on its own.
    private func startAgent(_ a: Agent, in ns: NetworkNamespace) throws -> Started {
        cond.lock()
        var l = launcher
        cond.unlock()
        if l == nil, let exe = launcherExecutable, !launcherFailed {
            do { l = try Processes.AgentLauncher(executable: exe) } catch {
                launcherFailed = true
                log.debug("no agent launcher, agents start one by one", metadata: ["error": "\(error)"])
            }
            cond.lock()
            launcher = l
            cond.unlock()
        }
        if let l {
            try l.request(in: ns, port: a.port, nodeName: a.node)
            return .requested
        }
        return .spawned(try Processes.spawnAgent(in: ns, port: a.port, nodeName: a.node))
    }

    /// The namespace `name` and the rtnetlink socket opened in it, once made (nil when it is not
    /// one of this prefetcher's).
    func namespace(_ name: String) -> (Result<NetworkNamespace, Error>, RouteNetlink?)? {
        guard planned.contains(name) else { return nil }
        cond.lock()
        defer { cond.unlock() }
        while namespaces[name] == nil && !finished { cond.wait() }
        guard let r = namespaces[name] else { return nil }   // stopped before it: make it the plain way
        taken.insert(name)
        return (r, routes[name])
    }

    /// The result of `step` if it was carried out ahead (nil: it was not, run it now). Steps are
    /// taken in plan order.
    func takeAhead(_ step: Step) -> Result<Void, Error>? {
        let ns = step.namespace
        cond.lock()
        defer { cond.unlock() }
        guard let head = ahead[ns]?.first, head.step == step else { return nil }
        while ahead[ns]?.first?.result == nil && namespaces[ns] == nil && !finished { cond.wait() }
        let result = ahead[ns]?.first?.result
        ahead[ns]?.removeFirst()
        return result
    }

    /// The agent `key` (in namespace `ns`), once started (nil when it is not one of this prefetcher's).
    func agent(_ key: AgentKey, in ns: String) -> Result<Processes.PendingAgent, Error>? {
        guard plannedAgents.contains(key) else { return nil }
        cond.lock()
        while agents[key] == nil && !finished { cond.wait() }
        guard let r = agents[key] else { cond.unlock(); return nil }
        takenAgents.insert(key)
        let l = launcher
        cond.unlock()
        return r.flatMap { started in
            switch started {
            case .spawned(let agent): return .success(agent)
            case .requested:
                guard let l else { return .failure(SystemError("start the HTTP agent of \(key.node): no launcher", errno: ECHILD)) }
                return Result { try l.agent(of: key.node, port: key.port) }
            }
        }
    }

    /// Stops making more, waits for the thread, and hands back what was made and not taken: the
    /// namespaces, the agents started on their own, the agents asked of the launcher, and the
    /// launcher (whose input is still open: `finish` it, or `abandon` it).
    func stop() -> (namespaces: [NetworkNamespace], agents: [Processes.PendingAgent], requested: [AgentKey],
                    launcher: Processes.AgentLauncher?) {
        cond.lock()
        defer { cond.unlock() }
        stopped = true
        while !finished { cond.wait() }
        let ns = namespaces.compactMap { name, r -> NetworkNamespace? in
            guard !taken.contains(name), case .success(let n) = r else { return nil }
            return n
        }
        var spawned: [Processes.PendingAgent] = [], requested: [AgentKey] = []
        for (key, r) in agents where !takenAgents.contains(key) {
            switch r {
            case .success(.spawned(let a)): spawned.append(a)
            case .success(.requested): requested.append(key)
            case .failure: break
            }
        }
        return (ns, spawned, requested, launcher)
    }
}

/// One agent: a node's server on one port.
struct AgentKey: Hashable {
    var node: String
    var port: UInt16
}

extension PlannedService {
    var key: IPVSServiceKey { IPVSServiceKey(proto: proto, address: address, port: port) }
}
