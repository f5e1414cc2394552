import LblabModel
import LblabTypes

/// One verdict rule: its name, the labs it applies to, and its judgement of a run.
public protocol VerdictRule: Sendable {
    /// The name reports use (`answered`, `dr-path`, ...).
    static var name: String { get }
    /// The rule as lab `spec` asks for it, or `nil` when the lab does not select it.
    static func selected(by spec: LabSpec) -> Self?
    /// Judges one run of that lab.
    func judge(_ run: AnalyzedRun) -> RuleVerdict
}

/// A packet-path rule: the path one LVS forwarding method produces.
public protocol PacketPathRule: VerdictRule {
    static var mode: LabMode { get }
    init(spec: LabSpec)
}

extension PacketPathRule {
    /// Selected when the lab's expected path (its mode, or `expect.path`) is this rule's mode, as
    /// `RuleCatalog.pathRule(for:)` maps it.
    public static func selected(by spec: LabSpec) -> Self? {
        guard let mode = spec.expect.path.mode(in: spec.mode), let rule = RuleCatalog.pathRule(for: mode),
              ObjectIdentifier(rule) == ObjectIdentifier(Self.self) else { return nil }
        return Self(spec: spec)
    }
}

/// The rules lblab knows, and which of them a lab gets.
public enum RuleCatalog {
    /// Every rule, in report order.
    public static let all: [any VerdictRule.Type] = [
        Rules.Answered.self, Rules.Health.self, Rules.Distribution.self, Rules.DRPath.self, Rules.NATPath.self, Rules.TUNPath.self,
        Rules.ARP.self, Rules.NDP.self,
    ]

    /// The rules lab `spec` selects, in report order: always `answered` and `distribution`, the path
    /// rule of its expected path unless `expect.path` is `none`, `arp` (IPv4 VIP) or `ndp` (IPv6 VIP)
    /// when it expects that only the dispatcher answers for the VIP.
    public static func rules(for spec: LabSpec) -> [any VerdictRule] {
        all.compactMap { $0.selected(by: spec) }
    }

    /// The path rule of each mode. The switch is exhaustive: a new `LabMode` does not compile until
    /// it has a path rule, so no IPVS mode is ever judged by none. DNS labs have no IPVS path (the
    /// DNS rules in LblabDNS judge them).
    public static func pathRule(for mode: LabMode) -> (any PacketPathRule.Type)? {
        switch mode {
        case .dr: Rules.DRPath.self
        case .nat: Rules.NATPath.self
        case .tun: Rules.TUNPath.self
        case .dns: nil
        }
    }
}

/// The verdict rules (one file each).
public enum Rules {}

extension RuleVerdict {
    /// Up to `limit` examples, after a count line, for evidence.
    static func examples(_ lines: [String], count: Int, of what: String) -> [String] {
        count == 0 ? [] : ["\(count) \(what), e.g.:"] + lines.map { "  " + $0 }
    }
}

extension RuleVerdict {
    /// `liveness`, which every lab gets (IPVS and DNS labs alike): the server processes the lab
    /// runs were alive before and after the traffic; `dead` names those that were not.
    public static func liveness(dead: [String]) -> RuleVerdict {
        RuleVerdict(rule: "liveness", passed: dead.isEmpty,
                    summary: dead.isEmpty ? "every server process of the lab was alive before and after the traffic"
                                          : "\(dead.count) server process(es) of the lab were not running: this run is not that lab",
                    evidence: dead)
    }
}
