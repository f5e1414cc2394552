import LblabTypes

/// lblc and lblcr (`ip_vs_lblc.c`, `ip_vs_lblcr.c`): a cache per destination address. lblc keeps
/// one server per address and moves it only when that server is overloaded: more active
/// connections than its weight while some server has fewer than half its weight active. lblcr
/// keeps a set per address, uses the set's least loaded member, and adds the least loaded server
/// of all when that member is overloaded. The least loaded is wlc's: least (active*256+inactive)/weight.
struct LocalityRule: SchedulerRule {
    let replicated: Bool
    let destinations: [OracleDestination]
    /// Per destination address: lblc's server, or lblcr's set (most recently added first).
    var cache: [IPAddress: [Int]] = [:]

    var needsCounts: Bool { true }

    func overloaded(_ i: Int, _ cs: [OracleCounts]) -> Bool {
        guard cs[i].active > destinations[i].weight else { return false }
        return cs.indices.contains { cs[$0].active * 2 < destinations[$0].weight }
    }

    /// wlc over `among` (indices in list order), skipping overloaded ones (the `-x` flag).
    func least(_ among: [Int], _ cs: [OracleCounts]) -> Int? {
        var least: Int?
        var loh = 0
        for i in among where !cs[i].overloaded {
            if least == nil {
                if destinations[i].weight > 0 { least = i; loh = cs[i].overhead }
                continue
            }
            if loh * destinations[i].weight > cs[i].overhead * destinations[least!].weight { least = i; loh = cs[i].overhead }
        }
        return least
    }

    mutating func choose(_ c: OracleConnection, counts: [OracleCounts]?) -> (Prediction, String) {
        let cs = counts ?? Array(repeating: OracleCounts(), count: destinations.count)
        let shown = counts == nil ? " (counts not recorded)"
            : ": " + destinations.indices.map { "\(destinations[$0].server) a\(cs[$0].active) i\(cs[$0].inactive) w\(destinations[$0].weight)" }.joined(separator: ", ")
        let key = c.destination
        if let entry = cache[key] {
            let current = replicated ? least(entry, cs) : entry.first
            if let d = current, destinations[d].weight > 0, !overloaded(d, cs) {
                return (.server(destinations[d].server), "\(key) cached on \(destinations[d].server), not overloaded\(shown)")
            }
            guard let fresh = least(Array(destinations.indices), cs) else { return (.noDestination, "no destination available\(shown)") }
            cache[key] = replicated ? [fresh] + entry.filter { $0 != fresh } : [fresh]
            let was = current.map { destinations[$0].server } ?? "none"
            return (.server(destinations[fresh].server), "\(key) cached on \(was), overloaded: least loaded of all\(replicated ? " joins the set" : "")\(shown)")
        }
        guard let fresh = least(Array(destinations.indices), cs) else { return (.noDestination, "no destination available\(shown)") }
        cache[key] = [fresh]
        return (.server(destinations[fresh].server), "\(key) not cached: least loaded\(shown)")
    }

    /// A server the kernel chose that the oracle did not: take it as the cache's entry, so a cache
    /// left by an earlier run (entries live 24 h) is judged once and then followed.
    mutating func chose(_ server: String, for c: OracleConnection) {
        guard let i = destinations.firstIndex(where: { $0.server == server }) else { return }
        let entry = cache[c.destination] ?? []
        if !entry.contains(i) || !replicated { cache[c.destination] = [i] + entry.filter { $0 != i } }
    }
}
