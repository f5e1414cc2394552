/// A persistence template as the kernel keeps it (`ip_vs_sched_persist` in ip_vs_core.c, and
/// `ip_vs_conn_expire` in ip_vs_conn.c), to tell when a client's next connection is scheduled anew.
///
/// - The first connection of a client (masked by the persistence netmask) creates the template
///   with the service's timeout T; it and every later connection the template sends are
///   *controlled* by it.
/// - Every later connection that finds it re-arms its timer: it fires T after its last use.
/// - When the timer fires and the template still controls an entry, it is re-armed for 60 s
///   (`expire_later`), and keeps that 60 s from then on; otherwise it is gone.
/// - A controlled entry lives past the connection's close: after the client's FIN a TCP entry
///   waits `tcpfin` s (FIN_WAIT; NAT entries end in TIME_WAIT, 120 s), a UDP entry `udp` s after
///   its last datagram, a one-packet UDP entry not at all.
///
/// Times come from the client's clock, and kernel timers fire late by up to 1/8 of their length
/// (the timer wheel's granularity): near a firing the answer is "unsure", and either server is
/// right there.
public struct PersistenceTemplate: Sendable, Equatable {
    public var server: String
    /// Seconds from the start of the traffic.
    public var lastUse: Double
    /// The timer's length: the service's timeout, 60 s once re-armed by `expire_later`.
    public var timeout: Double
    /// When each controlled entry goes, at the earliest and at the latest.
    public var entries: [ClosedRange<Double>]

    public init(server: String, lastUse: Double, timeout: Double, entries: [ClosedRange<Double>] = []) {
        self.server = server
        self.lastUse = lastUse
        self.timeout = timeout
        self.entries = entries
    }

    public enum Life: Sendable, Equatable {
        /// Still there: it sends the connection to its server. `timeout`: the timer's length now.
        case alive(timeout: Double)
        /// Gone since about `since` (its timer fired with no controlled entry left).
        case expired(since: Double)
        /// Its timer fires from `from` on, close to when it may or may not still control an entry.
        case unsure(from: Double)
    }

    /// The kernel re-arms a template that still controls entries for this long.
    static let rearm = 60.0
    /// How far the client's clock and the kernel's view of a packet may differ.
    static let margin = 0.25

    /// How late a kernel timer of `length` seconds may fire.
    static func slack(_ length: Double) -> Double { length / 8 + 0.05 }

    /// The template at time `t` (seconds from the start of the traffic).
    public func life(at t: Double) -> Life {
        var early = lastUse + timeout
        var late = early + Self.slack(timeout)
        var length = timeout
        while early <= t + Self.margin {
            let allGone = entries.allSatisfy { $0.upperBound + Self.margin < early }
            let someKept = entries.contains { $0.lowerBound - Self.margin > late }
            if allGone { return t > late + Self.margin ? .expired(since: early) : .unsure(from: early) }
            if !someKept { return .unsure(from: early) }
            length = Self.rearm
            early += Self.rearm
            late += Self.rearm + Self.slack(Self.rearm)
        }
        return .alive(timeout: length)
    }

    /// When a connection's entry goes, given its close (or last datagram) at `end`.
    public static func entryLife(end: Double, linger: ClosedRange<Double>) -> ClosedRange<Double> {
        (end + linger.lowerBound)...(end + linger.upperBound + slack(linger.upperBound))
    }
}
