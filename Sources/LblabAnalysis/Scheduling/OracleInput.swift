import LblabModel
import LblabTypes

extension SchedulerOracle {
    /// The service as lab `spec` asks for it, destinations in the kernel's list order: the reverse
    /// of the order lblab added them (IPVS adds each destination at the head of its list; rr
    /// starts with the last added, recorded in Fixtures/kernel-choices; `ipvsadm -Ln` prints
    /// them in the order added).
    public static func service(_ s: ServiceSpec, in spec: LabSpec, scheduler: Scheduler? = nil) -> OracleService {
        let names = Array(s.servers.reversed())
        let dispatcher = spec.node(named: s.dispatcher)
        let destinations = names.compactMap { name -> OracleDestination? in
            guard let rs = spec.node(named: name) else { return nil }
            let onLink = rs.interfaces.flatMap(\.addresses).first { a in
                dispatcher?.interfaces.contains { $0.addresses.contains { $0.contains(a.address) } } ?? false
            }
            return OracleDestination(server: name, address: (onLink ?? rs.address)?.address, port: s.port, weight: rs.weight,
                                     upperThreshold: rs.upperThreshold ?? 0, lowerThreshold: rs.lowerThreshold ?? 0)
        }
        var o = OracleService(name: s.name, scheduler: scheduler ?? s.scheduler, vip: s.vip, destinations: destinations,
                              persistence: s.persistence?.timeout, persistencePrefix: s.persistence?.prefixLength ?? 32)
        o.datagramsShareEntry = s.proto == .udp && s.onePacket != true
        o.entryLinger = entryLinger(s, in: spec)
        return o
    }

    /// The service's connections in connect order, and whether that order is certain: each
    /// connect came after the previous connection's response ended.
    public static func connections(of s: ServiceSpec, _ outcomes: [ConnectionOutcome]) -> (connections: [OracleConnection], ordered: Bool) {
        let mine = outcomes.enumerated().filter { $0.element.service == s.name }
        let sorted = mine.sorted { a, b in
            let (x, y) = (a.element.start ?? Double(a.offset), b.element.start ?? Double(b.offset))
            return x != y ? x < y : a.offset < b.offset
        }.map(\.element)
        var ordered = true
        for (prev, next) in zip(sorted, sorted.dropFirst()) {
            guard let p = prev.start, let n = next.start, n >= p + prev.latency else { ordered = false; break }
        }
        let cs = sorted.enumerated().map { i, o in
            OracleConnection(number: i + 1, client: o.localAddress, clientPort: o.localPort, destination: s.vip, server: o.server,
                             seen: o.seen, start: o.start, end: o.closed ?? o.start.map { $0 + o.latency })
        }
        return (cs, ordered)
    }

    /// Judges every service the run's traffic went to by `scheduler` (default: each service's own).
    public static func judge(spec: LabSpec, outcomes: [ConnectionOutcome], scheduler: Scheduler? = nil) -> [(service: ServiceSpec, judgement: SchedulerJudgement)] {
        // A lab of several services shows several destinations by itself (each judged on its own).
        let several = spec.services.count > 1
        return spec.services.compactMap { s in
            let (cs, ordered) = connections(of: s, outcomes)
            guard !cs.isEmpty else { return nil }
            var j = judge(service(s, in: spec, scheduler: scheduler), connections: cs, ordered: ordered)
            if several { j.notes.removeAll { $0.hasPrefix(Self.oneDestination) } }
            return (s, j)
        }
    }

    /// The decisions, compactly: one cell per connection (`#3 rs1`, with the counts it saw
    /// `[rs2 1/0 rs1 0/0]`, and `!=rs2` where the kernel went against the rule), at most `limit`
    /// cells, then the first wrong one if it was left out.
    public static func compact(_ j: SchedulerJudgement, limit: Int = 24, perLine: Int = 6) -> [String] {
        func cell(_ d: OracleDecision) -> String {
            var s = "#\(d.connection.number) \(d.connection.server ?? "failed")"
            if d.held == false { s += "!=\(d.expectedText)" }
            if let seen = d.connection.seen { s += " [" + seen.map { "\($0.server) \($0.active)/\($0.inactive)" }.joined(separator: " ") + "]" }
            return s
        }
        var cells = j.decisions.prefix(limit).map(cell)
        if j.decisions.count > limit {
            if let w = j.firstWrong, w.connection.number > limit { cells.append("... #\(w.connection.number) \(w.connection.server ?? "failed")!=\(w.expectedText)") }
            cells.append("... \(j.decisions.count - limit) more")
        }
        var lines: [String] = []
        var i = 0
        while i < cells.count {
            lines.append(cells[i..<min(cells.count, i + perLine)].joined(separator: "  "))
            i += perLine
        }
        return lines
    }
}

extension SchedulerOracle {
    /// How long a closed connection's entry stays in the service's dispatcher (its `ipvs_timeouts`,
    /// else the kernel's): TCP through DR or TUN sees only the client's half, so its entry ends in
    /// FIN_WAIT (`tcpfin`); NAT sees both directions and the entry may end in
    /// a shorter state or in TIME_WAIT (120 s, not settable): unsure in between; UDP `udp` s after the last datagram; one-packet UDP entries go at once.
    static func entryLinger(_ s: ServiceSpec, in spec: LabSpec) -> ClosedRange<Double> {
        let timeouts = spec.node(named: s.dispatcher)?.ipvsTimeouts ?? IPVSTimeouts()
        switch s.proto {
        case .udp:
            if s.onePacket == true { return 0...0 }
            let udp = Double(timeouts.udp ?? IPVSTimeouts.kernelUDP)
            return udp...udp
        case .tcp:
            let fin = Double(timeouts.tcpfin ?? IPVSTimeouts.kernelTCPFin)
            let nat = s.servers.contains { spec.node(named: $0)?.forward == .masq }
            return nat ? 0...max(fin, Double(IPVSTimeouts.kernelTimeWait)) : fin...fin
        }
    }
}
