/// One scheduler's kernel rule as a state machine: `choose` predicts the next connection's server
/// from the state and the counts IPVS held (`nil`: not recorded), `chose` moves the state on to
/// what the kernel did (so one wrong choice does not make every later one wrong too).
protocol SchedulerRule: Sendable {
    /// Whether the rule reads the active/inactive counts (then a run without them cannot be judged).
    var needsCounts: Bool { get }
    mutating func choose(_ c: OracleConnection, counts: [OracleCounts]?) -> (Prediction, String)
    mutating func chose(_ server: String, for c: OracleConnection)
}

extension SchedulerRule {
    mutating func chose(_ server: String, for c: OracleConnection) {}
}

/// `ip_vs_rr.c`: from the destination after the last chosen one (at first, the list head), the
/// first with weight > 0 that is not overloaded, wrapping once.
struct RoundRobinRule: SchedulerRule {
    let destinations: [OracleDestination]
    /// Index of the last chosen destination; `nil`: the cursor is at the list head.
    var cursor: Int?

    init(destinations: [OracleDestination], cursor: Int? = nil) {
        self.destinations = destinations
        self.cursor = cursor
    }

    var needsCounts: Bool { destinations.contains { $0.upperThreshold > 0 } }

    mutating func choose(_ c: OracleConnection, counts: [OracleCounts]?) -> (Prediction, String) {
        let n = destinations.count
        let start = cursor.map { $0 + 1 } ?? 0
        let after = cursor.map { "after \(destinations[$0].server)" } ?? "from the list head"
        for k in 0..<n {
            let i = (start + k) % n
            let d = destinations[i]
            if d.weight > 0 && !(counts?[i].overloaded ?? false) {
                cursor = i
                return (.server(d.server), "\(after): next with weight > 0\(k > 0 ? " (skipped \(k))" : "")")
            }
        }
        return (.noDestination, "no destination with weight > 0 and not overloaded")
    }

    mutating func chose(_ server: String, for c: OracleConnection) {
        if let i = destinations.firstIndex(where: { $0.server == server }) { cursor = i }
    }
}

/// `ip_vs_wrr.c`: a cursor and a current weight `cw` stepping down by the gcd of the weights from
/// the maximum; a destination is chosen when its weight >= cw. The state starts as the kernel's
/// after lblab added the destinations one by one (each add resets the cursor to the head).
struct WeightedRoundRobinRule: SchedulerRule {
    let destinations: [OracleDestination]
    var cl: Int?   // nil: list head
    var cw = 0
    var mw = 0
    var di = 1

    var needsCounts: Bool { destinations.contains { $0.upperThreshold > 0 } }

    /// `addedInOrder`: the destinations in the order lblab added them (the reverse of list order).
    init(destinations: [OracleDestination]) {
        self.destinations = destinations
        // init_svc with no destinations: di = 1, mw = 0, cw = 0; then one dest_changed per add.
        for k in 1...max(1, destinations.count) where !destinations.isEmpty {
            let present = Array(destinations.suffix(k))   // added so far: the tail of the list
            changed(present.map(\.weight))
        }
    }

    mutating func changed(_ weights: [Int]) {
        cl = nil
        var g = 0
        for w in weights where w > 0 { g = g > 0 ? KernelHash.gcd(w, g) : w }
        di = g > 0 ? g : 1
        mw = (weights.max() ?? 0) - (di - 1)
        if cw > mw || cw == 0 { cw = mw } else if di > 1 { cw = (cw / di) * di + 1 }
    }

    mutating func choose(_ c: OracleConnection, counts: [OracleCounts]?) -> (Prediction, String) {
        guard mw > 0 else { return (.noDestination, "every weight is 0") }
        let n = destinations.count
        var dest = cl            // nil = head
        let last = cl
        var stop: Int? = nil
        var lastPass = false, restarted = false
        for _ in 0..<(4 * (mw / di + 2) * (n + 1)) {
            var i = (dest ?? -1) + 1
            while i < n {
                let d = destinations[i]
                if !(counts?[i].overloaded ?? false) && d.weight >= cw {
                    cl = i
                    return (.server(d.server), "cw \(cw) (max \(mw), step \(di)): first at or after the cursor with weight >= \(cw)")
                }
                if i == stop { cl = nil; return (.noDestination, "all destinations overloaded") }
                i += 1
            }
            dest = nil
            cw -= di
            if cw <= 0 {
                cw = mw
                if lastPass || last == nil { cl = nil; return (.noDestination, "all destinations overloaded") }
                restarted = true
            }
            lastPass = cw <= di
            if lastPass && restarted && last != nil { stop = last }
        }
        return (.noDestination, "no destination found")
    }

    mutating func chose(_ server: String, for c: OracleConnection) {
        if let i = destinations.firstIndex(where: { $0.server == server }) { cl = i }
    }
}
