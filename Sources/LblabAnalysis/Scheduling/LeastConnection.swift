/// The schedulers that choose from the counts IPVS holds at the moment a connection arrives, and
/// fo, which chooses by weight alone (`ip_vs_{lc,wlc,sed,nq,fo,ovf}.c`). Ties go to the first in
/// list order: each comparison is strict.
struct CountRule: SchedulerRule {
    enum Kind: Sendable { case lc, wlc, sed, nq, fo, ovf }
    let kind: Kind
    let destinations: [OracleDestination]

    var needsCounts: Bool {
        switch kind {
        case .fo: destinations.contains { $0.upperThreshold > 0 }
        case .lc, .wlc, .sed, .nq, .ovf: true
        }
    }

    func text(_ i: Int, _ c: OracleCounts) -> String {
        "\(destinations[i].server) a\(c.active) i\(c.inactive) w\(destinations[i].weight)\(c.overloaded ? " overloaded" : "")"
    }

    mutating func choose(_ conn: OracleConnection, counts: [OracleCounts]?) -> (Prediction, String) {
        let n = destinations.count
        let zero = Array(repeating: OracleCounts(), count: n)
        let cs = counts ?? zero
        let w = destinations.map(\.weight)
        var least: Int?
        var loh = 0
        let why: String
        switch kind {
        case .lc:
            for i in 0..<n where !cs[i].overloaded && w[i] != 0 {
                if least == nil || cs[i].overhead < loh { least = i; loh = cs[i].overhead }
            }
            why = "least active*256+inactive"
        case .wlc, .sed:
            let oh: (OracleCounts) -> Int = kind == .sed ? { $0.active + 1 } : { $0.overhead }
            for i in 0..<n where !cs[i].overloaded {
                if least == nil {
                    if w[i] > 0 { least = i; loh = oh(cs[i]) }
                    continue
                }
                if loh * w[i] > oh(cs[i]) * w[least!] { least = i; loh = oh(cs[i]) }
            }
            why = kind == .sed ? "least (active+1)/weight" : "least (active*256+inactive)/weight"
        case .nq:
            var idle: Int?
            for i in 0..<n where !cs[i].overloaded && w[i] != 0 {
                let doh = cs[i].active + 1
                if cs[i].active == 0 { idle = i; break }
                if least == nil || loh * w[i] > doh * w[least!] { least = i; loh = doh }
            }
            if let idle { least = idle; why = "first with no active connection" } else { why = "none idle: least (active+1)/weight" }
        case .fo:
            var hw = 0
            for i in 0..<n where !cs[i].overloaded && w[i] > hw { least = i; hw = w[i] }
            why = "highest weight not overloaded"
        case .ovf:
            for i in 0..<n where !cs[i].overloaded && cs[i].active <= w[i] && w[i] != 0 {
                if least == nil || w[i] > w[least!] { least = i }
            }
            why = "highest weight with active <= weight"
        }
        let shown = counts == nil ? (kind == .fo ? "" : " (counts not recorded)")
            : ": " + (0..<n).map { text($0, cs[$0]) }.joined(separator: ", ")
        guard let least else { return (.noDestination, "no destination available\(shown)") }
        return (.server(destinations[least].server), why + shown)
    }
}

/// sh, dh and mh: a table filled from the destinations, looked up by the client's (sh, mh) or the
/// destination's (dh) address. A table entry whose destination has weight 0 or is overloaded
/// gives no server (lblab sets no fallback flag).
struct HashRule: SchedulerRule {
    enum Kind: Sendable { case sh, dh, mh }
    let kind: Kind
    let destinations: [OracleDestination]
    let table: [Int]

    init(kind: Kind, destinations: [OracleDestination]) {
        self.kind = kind
        self.destinations = destinations
        switch kind {
        case .sh: table = KernelHash.shTable(weights: destinations.map(\.weight))
        case .dh: table = KernelHash.dhTable(count: destinations.count)
        case .mh:
            table = KernelHash.mhTable(destinations.map { ($0.address ?? .v4(.init(0)), $0.port, $0.weight) })
        }
    }

    var needsCounts: Bool { destinations.contains { $0.upperThreshold > 0 } }

    mutating func choose(_ c: OracleConnection, counts: [OracleCounts]?) -> (Prediction, String) {
        guard !table.isEmpty else { return (.noDestination, "no destinations") }
        let bucket: Int
        let key: String
        switch kind {
        case .sh:
            guard let a = c.client else { return (.unknown, "source address not recorded") }
            bucket = KernelHash.shBucket(a); key = "source \(a)"
        case .dh:
            bucket = KernelHash.dhBucket(c.destination); key = "destination \(c.destination)"
        case .mh:
            guard let a = c.client else { return (.unknown, "source address not recorded") }
            bucket = Int(KernelHash.mhHash(a, key: KernelHash.mhKey1) % UInt32(KernelHash.mhTableSize)); key = "source \(a)"
        }
        let i = table[bucket]
        guard i >= 0 else { return (.noDestination, "\(key): bucket \(bucket) empty") }
        let d = destinations[i]
        if d.weight <= 0 || (counts?[i].overloaded ?? false) {
            return (.noDestination, "\(key): bucket \(bucket) is \(d.server), which has weight 0 or is overloaded")
        }
        return (.server(d.server), "\(key): bucket \(bucket) of \(table.count) -> \(d.server)")
    }
}

/// twos (`ip_vs_twos.c`, Linux 6.2 and later): two weighted random picks, the one with less
/// overhead/weight wins. Random: any destination with weight > 0 that is not overloaded.
struct RandomRule: SchedulerRule {
    let destinations: [OracleDestination]
    var needsCounts: Bool { false }

    mutating func choose(_ c: OracleConnection, counts: [OracleCounts]?) -> (Prediction, String) {
        let ok = destinations.indices.filter { destinations[$0].weight > 0 && !(counts?[$0].overloaded ?? false) }
        guard !ok.isEmpty else { return (.noDestination, "no destination with weight > 0") }
        return (.oneOf(ok.map { destinations[$0].server }), "random (two weighted picks): any with weight > 0")
    }
}
