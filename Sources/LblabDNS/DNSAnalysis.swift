import LblabAnalysis
import LblabTypes

/// The answer a client's lookup received, as the capture saw it.
public struct MatchedAnswer: Sendable, Codable, Equatable {
    public var record: ClientRecord
    /// The captured response to that lookup, if one was captured in its window.
    public var answer: DNSPacket?
    /// glibc's order of that answer for this client: the address the client should have chosen first.
    public var predicted: IPv4Address?
}

/// Judges a DNS round-robin run: the rules, the numbers of its table row and the capture evidence.
public enum DNSAnalysis {
    public static func analyze(_ run: DNSRun) -> DNSReport {
        let matched = match(run)
        var verdicts: [RuleVerdict] = [.liveness(dead: run.deadDaemons)]
        switch run.expect.spread {
        case .even: verdicts.append(evenSpread(run))
        case .predicted: verdicts.append(predictedSpread(run, matched))
        case .none: break
        }
        switch run.expect.errors {
        case .none: verdicts.append(noErrors(run))
        case .fault: verdicts.append(faultErrors(run))
        case .any: break
        }
        switch run.expect.cache {
        case .on, .off: verdicts.append(cacheRule(run))
        case .any: break
        }
        return DNSReport(lab: run.lab, verdicts: verdicts, stats: DNSStats(run), evidence: evidence(run, matched))
    }

    /// Each record with the captured answer it used: the client's first query for the name sent
    /// after the record's lookup started, and the response with that query's id and port. A
    /// client's lookups are sequential, so neither the previous nor the next lookup's answer can
    /// be taken for it (both were seen when lookups were only 0.5 ms apart).
    public static func match(_ run: DNSRun) -> [MatchedAnswer] {
        let name = run.name.lowercased()
        return run.records.map { r in
            let client = run.clients.first { $0.node == r.client }
            let packets = (run.clientPackets[r.client] ?? []).filter {
                $0.message.question == name && $0.message.questionType == DNSMessage.typeA
            }
            let end = r.start + r.latencyMillis / 1000
            let query = packets.first { !$0.message.isResponse && $0.source == client?.address.address && $0.time >= r.start && $0.time <= end }
            let answer = query.flatMap { q in
                packets.first { $0.message.isResponse && $0.message.id == q.message.id && $0.destinationPort == q.sourcePort && $0.time >= q.time }
            }
            let predicted = answer.flatMap { a in client.map { AddressSorting.glibcOrder(a.message.answers.map(\.address), source: $0.address, sortsIPv4: $0.ipv6).first } } ?? nil
            return MatchedAnswer(record: r, answer: answer, predicted: predicted)
        }
    }

    static func counts(_ run: DNSRun) -> [(node: String, count: Int)] {
        run.servers.map { s in (s.node, run.records.filter { $0.error == nil && $0.server == s.node }.count) }
    }

    static func evenSpread(_ run: DNSRun) -> RuleVerdict {
        let c = counts(run)
        let answered = c.map(\.count).reduce(0, +)
        let fair = Double(answered) / Double(max(run.servers.count, 1))
        let off = c.filter { abs(Double($0.count) - fair) > 0.25 * fair }
        let lines = c.map { "\($0.node): \($0.count) of \(answered) (\(percent(Double($0.count), Double(answered))), fair share \(String(format: "%.0f", fair)))" }
        return RuleVerdict(rule: "spread", passed: answered > 0 && off.isEmpty,
                           summary: off.isEmpty ? "every server got its fair share within 25% (\(answered) connections over \(run.servers.count) servers)"
                                                : "uneven spread: \(off.map(\.node).joined(separator: ", ")) off the fair share of \(String(format: "%.0f", fair)) by more than 25%",
                           evidence: lines)
    }

    static func predictedSpread(_ run: DNSRun, _ matched: [MatchedAnswer]) -> RuleVerdict {
        let resolved = matched.filter { $0.record.chosen != nil }
        let missing = resolved.filter { $0.answer == nil }
        let wrong = resolved.filter { $0.answer != nil && $0.predicted != $0.record.chosen }
        let describe: (MatchedAnswer) -> String = { m in
            let order = m.answer?.message.answers.map { "\($0.address)" }.joined(separator: ",") ?? "none captured"
            return "\(m.record.client) at \(String(format: "%.3f", m.record.start)): answer [\(order)], glibc's first \(m.predicted.map { "\($0)" } ?? "-"), connected to \(m.record.chosen.map { "\($0)" } ?? "-")"
        }
        let passed = !resolved.isEmpty && missing.isEmpty && wrong.isEmpty
        var evidence = RuleVerdict.examplesOf(wrong.prefix(3).map(describe), count: wrong.count, of: "connections went elsewhere than the captured answer predicts")
        evidence += RuleVerdict.examplesOf(missing.prefix(3).map(describe), count: missing.count, of: "lookups with no answer in the capture")
        return RuleVerdict(rule: "spread", passed: passed,
                           summary: passed ? "all \(resolved.count) connections went to the first address of the captured answer, as glibc sorts it"
                                           : "\(wrong.count + missing.count) of \(resolved.count) connections do not follow the captured answers",
                           evidence: evidence)
    }

    static func noErrors(_ run: DNSRun) -> RuleVerdict {
        let failed = run.records.filter { $0.error != nil }
        return RuleVerdict(rule: "errors", passed: failed.isEmpty && !run.records.isEmpty,
                           summary: failed.isEmpty ? "no connection failed (\(run.records.count) sent)" : "\(failed.count) of \(run.records.count) connections failed",
                           evidence: RuleVerdict.examplesOf(failed.prefix(3).map { "\($0.client) at \(String(format: "%.3f", $0.start)) to \($0.chosen.map { "\($0)" } ?? "-"): \($0.error ?? "")" },
                                                            count: failed.count, of: "failed connections"))
    }

    /// After the first `down` fault, about 1/N of connections fail, all of them to the dead server, from the fault on.
    static func faultErrors(_ run: DNSRun) -> RuleVerdict {
        guard let fault = run.faults.first(where: \.down), let dead = run.servers.first(where: { $0.node == fault.node }) else {
            return RuleVerdict(rule: "errors", passed: false, summary: "the lab expects errors after a fault, but has no down fault of a web server",
                               evidence: ["add faults: [{at: 2.0, node: <web server>, action: down}]"])
        }
        let end = run.faults.first { !$0.down && $0.node == fault.node && $0.time > fault.time }?.time ?? .infinity
        let before = run.records.filter { $0.start + $0.latencyMillis / 1000 < fault.time && $0.error != nil }
        let window = run.records.filter { $0.start >= fault.time && $0.start < end }
        let failed = window.filter { $0.error != nil }
        let elsewhere = failed.filter { $0.chosen != dead.address }
        let rate = window.isEmpty ? 0 : Double(failed.count) / Double(window.count)
        let n = Double(run.servers.count)
        let first = run.records.filter { $0.error != nil }.map(\.start).min()
        let startsAtFault = first.map { $0 >= fault.time - run.timeout && $0 <= fault.time + run.timeout + 1 } ?? false
        let rateOK = rate >= 0.5 / n && rate <= 2 / n
        let passed = before.isEmpty && elsewhere.isEmpty && rateOK && startsAtFault
        var evidence = [
            "fault: \(fault.node) (\(dead.address)) down at \(String(format: "%.3f", fault.time))",
            "after it: \(failed.count) of \(window.count) connections failed (\(percent(Double(failed.count), Double(window.count))); 1/N = \(percent(1, n)))",
            "first error at " + (first.map { String(format: "%.3f (%+.3f s from the fault)", $0, $0 - fault.time) } ?? "-"),
        ]
        if !before.isEmpty { evidence.append("\(before.count) connections failed before the fault") }
        if !elsewhere.isEmpty { evidence.append("\(elsewhere.count) failed connections went to a live server, e.g. \(elsewhere[0].chosen.map { "\($0)" } ?? "-"): \(elsewhere[0].error ?? "")") }
        return RuleVerdict(rule: "errors", passed: passed,
                           summary: passed ? "DNS kept handing out \(dead.node)'s address: \(percent(Double(failed.count), Double(window.count))) of connections failed after the fault (about 1/\(run.servers.count))"
                                           : "the errors do not match a dead server still in the DNS answers",
                           evidence: evidence)
    }

    /// Client queries to each resolver against the queries it sent upstream, both from the capture:
    /// a cache sends at most a quarter of them upstream, no cache more.
    static func cacheRule(_ run: DNSRun) -> RuleVerdict {
        var lines: [String] = []
        var cached = true, uncached = true
        for r in run.resolvers {
            let packets = run.resolverPackets[r.node] ?? []
            let fromClients = packets.filter { !$0.message.isResponse && $0.destination == r.address && $0.destinationPort == 53 }.count
            let upstream = packets.filter { !$0.message.isResponse && $0.source == r.address && $0.destination == r.upstream && $0.destinationPort == 53 }.count
            lines.append("\(r.node): \(fromClients) queries from clients, \(upstream) sent upstream to \(r.upstream)")
            // One threshold: unbound also merges identical queries in flight into one upstream query,
            // so without a cache fewer than the clients' queries go upstream too (59% seen in the
            // kernel VM, where answers are slow); a cache sends one per TTL.
            if !(fromClients > 0 && Double(upstream) <= 0.25 * Double(fromClients)) { cached = false }
            if !(fromClients > 0 && Double(upstream) > 0.25 * Double(fromClients)) { uncached = false }
        }
        if run.resolvers.isEmpty { cached = false; uncached = false; lines.append("the lab has no resolver") }
        let on = run.expect.cache == .on
        let passed = on ? cached : uncached
        return RuleVerdict(rule: "cache", passed: passed,
                           summary: on ? (passed ? "the resolvers answered most lookups from their cache" : "the resolvers did not answer from a cache: most lookups went upstream")
                                       : (passed ? "every lookup went upstream (no cache)" : "the resolvers answered lookups from a cache"),
                           evidence: lines)
    }

    /// Per client: the answer orders it received (from the capture) and how many came from a cache (a TTL below the zone's).
    static func evidence(_ run: DNSRun, _ matched: [MatchedAnswer]) -> [String] {
        run.clients.map { c in
            let mine = matched.filter { $0.record.client == c.node }
            var orders: [String: Int] = [:]
            var fromCache = 0, unseen = 0
            for m in mine {
                guard let a = m.answer else { unseen += 1; continue }
                orders[a.message.answers.map { "\($0.address)" }.joined(separator: ","), default: 0] += 1
                if run.ttl > 0, let ttl = a.message.answers.first?.ttl, ttl < UInt32(run.ttl) { fromCache += 1 }
            }
            let top = orders.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(3)
                .map { "[\($0.key)] x\($0.value)" }.joined(separator: " ")
            return "\(c.node) via \(c.nameserver): \(mine.count) lookups, \(orders.count) answer orders \(top)\(orders.count > 3 ? " ..." : "")"
                + (run.ttl > 0 ? ", \(fromCache) cached (TTL below \(run.ttl))" : "") + (unseen > 0 ? ", \(unseen) not captured" : "")
        }
    }

    static func percent(_ a: Double, _ b: Double) -> String { b == 0 ? "-" : String(format: "%.1f%%", 100 * a / b) }
}

extension RuleVerdict {
    /// A count line and a few examples, or nothing.
    static func examplesOf(_ lines: [String], count: Int, of what: String) -> [String] {
        count == 0 ? [] : ["\(count) \(what), e.g.:"] + lines.map { "  " + $0 }
    }
}
