import LblabModel
import LblabTypes

/// What the kernel holds for one interface of a lab node, read back after the lab was built.
public struct InterfaceFacts: Sendable, Codable, Equatable {
    /// The name inside the node (`eth0`, `lo`, `ipip0`).
    public var name: String
    /// The link kind the kernel reports (`veth`, `ipip`), `nil` for loopback.
    public var kind: String?
    public var up: Bool
    /// The lab segment it is plugged into (`nil`: on no segment, like `lo` or a tunnel).
    public var segment: String?
    /// Its capture point: the switch port on the segment's bridge (`nil` when on no segment).
    public var point: String?
    public var mac: MACAddress?
    /// Its addresses (loopback addresses left out).
    public var addresses: [IPInterface]

    public init(name: String, kind: String? = nil, up: Bool = true, segment: String? = nil, point: String? = nil,
                mac: MACAddress? = nil, addresses: [IPInterface] = []) {
        self.name = name
        self.kind = kind
        self.up = up
        self.segment = segment
        self.point = point
        self.mac = mac
        self.addresses = addresses
    }
}

/// What the kernel holds for one lab node.
public struct NodeFacts: Sendable, Codable, Equatable {
    public var name: String
    public var role: NodeRole
    public var interfaces: [InterfaceFacts]

    public init(name: String, role: NodeRole, interfaces: [InterfaceFacts]) {
        self.name = name
        self.role = role
        self.interfaces = interfaces
    }

    /// The interfaces on a lab segment (the ones with a capture point).
    public var segmentInterfaces: [InterfaceFacts] { interfaces.filter { $0.point != nil } }
    /// Every address of the node, on any interface.
    public var addresses: [IPAddress] { interfaces.flatMap { $0.addresses.map(\.address) } }
}

/// The facts of one run: where its traffic went (the traffic's client node and service, with the
/// service's VIP, port and protocol, as the lab resolved them) and what the kernel held per node.
public struct RunFacts: Sendable, Codable, Equatable {
    public var client: String
    public var service: String
    public var vip: IPAddress
    public var port: UInt16
    public var `protocol`: TransportProtocol
    public var nodes: [NodeFacts]

    public init(client: String, service: String, vip: IPAddress, port: UInt16, protocol: TransportProtocol, nodes: [NodeFacts]) {
        self.client = client
        self.service = service
        self.vip = vip
        self.port = port
        self.protocol = `protocol`
        self.nodes = nodes
    }

    public func node(named name: String) -> NodeFacts? { nodes.first { $0.name == name } }

    /// Every capture point, in node and interface order.
    public var points: [String] { nodes.flatMap { $0.interfaces.compactMap(\.point) } }
}

/// One client connection as the traffic generator saw it.
public struct ConnectionOutcome: Sendable, Codable, Equatable {
    /// The client node that opened it.
    public var client: String
    /// The connection's source address and port (its end of the flow in the captures).
    public var localAddress: IPAddress?
    public var localPort: UInt16
    /// The service it went to.
    public var service: String
    /// The real server that answered (its node name, from the response), `nil` if none did.
    public var server: String?
    public var error: String?
    /// Seconds from the start of the traffic to this connection's connect (`nil` in runs recorded
    /// before lblab kept it).
    public var start: Double?
    /// Seconds from connect to the end of the response.
    public var latency: Double
    /// The traffic phase it belonged to (index into the lab's phases; `nil` means the only one).
    public var phase: Int?
    /// Seconds from the start of the traffic to when the client closed it, for a connection held
    /// open after its response (`nil`: closed as soon as the response ended).
    public var closed: Double?
    /// What IPVS held for the service's destinations just before this connection was opened, read
    /// from the dispatcher's IPVS table, in the kernel's list order; `nil` when the phase did not
    /// trace. The scheduler rules predict each choice from these counts.
    public var seen: [DestinationCounts]?
    /// A held connection of a `reuse` phase: what its second request, sent when the hold was over,
    /// got (`nil` for every other connection).
    public var reused: SecondRequest?
    /// A UDP datagram's number in its phase (what its payload carries: `lblab N`); `nil` for TCP.
    /// With one-packet scheduling each datagram is a flow of its own in the captures.
    public var datagram: Int?

    public init(client: String, localAddress: IPAddress?, localPort: UInt16, service: String, server: String?,
                error: String? = nil, start: Double? = nil, latency: Double = 0, phase: Int? = nil, closed: Double? = nil,
                seen: [DestinationCounts]? = nil, datagram: Int? = nil) {
        self.client = client
        self.localAddress = localAddress
        self.localPort = localPort
        self.service = service
        self.server = server
        self.error = error
        self.start = start
        self.latency = latency
        self.phase = phase
        self.closed = closed
        self.seen = seen
        self.datagram = datagram
    }
}

/// One destination of a virtual service as IPVS showed it at one moment: the counts the
/// connection-based schedulers read.
public struct DestinationCounts: Sendable, Codable, Equatable {
    /// The real server's node name.
    public var server: String
    public var weight: Int
    public var active: Int
    public var inactive: Int
    /// Persistence templates pointing at it.
    public var persistent: Int

    public init(server: String, weight: Int, active: Int, inactive: Int, persistent: Int = 0) {
        self.server = server
        self.weight = weight
        self.active = active
        self.inactive = inactive
        self.persistent = persistent
    }
}

/// The outcome of one rule, with the counts it was decided on.
public struct RuleVerdict: Sendable, Codable, Equatable {
    public var rule: String
    public var passed: Bool
    public var summary: String
    public var evidence: [String]

    public init(rule: String, passed: Bool, summary: String, evidence: [String]) {
        self.rule = rule
        self.passed = passed
        self.summary = summary
        self.evidence = evidence
    }
}

public struct AnalysisReport: Sendable, Codable, Equatable {
    public var verdicts: [RuleVerdict]
    /// Answered connections per server, from the client outcomes.
    public var fromClient: [String: Int]
    /// Client flows per real server, from the captures. Flows no real server received are counted
    /// under `(unseen)`, flows several received under `(several)`.
    public var fromCapture: [String: Int]
    public var sent: Int
    public var answered: Int
    public var failed: Int
    /// All verdicts passed.
    public var passed: Bool

    public init(verdicts: [RuleVerdict], fromClient: [String: Int], fromCapture: [String: Int], sent: Int, answered: Int, failed: Int) {
        self.verdicts = verdicts
        self.fromClient = fromClient
        self.fromCapture = fromCapture
        self.sent = sent
        self.answered = answered
        self.failed = failed
        self.passed = !verdicts.isEmpty && verdicts.allSatisfy(\.passed)
    }

    public func verdict(_ rule: String) -> RuleVerdict? { verdicts.first { $0.rule == rule } }

    /// Plain text: one `PASS`/`FAIL` line per rule with its evidence indented.
    public func render() -> String {
        var lines: [String] = []
        for v in verdicts {
            lines.append("\(v.passed ? "PASS" : "FAIL") \(v.rule): \(v.summary)")
            for e in v.evidence { lines.append("    \(e)") }
        }
        lines.append(passed ? "all rules passed" : "\(verdicts.filter { !$0.passed }.count) of \(verdicts.count) rules failed")
        return lines.joined(separator: "\n")
    }
}

/// A captured frame as the analysis takes it, one at a time (tests, small captures).
public struct RawFrame: Sendable, Equatable {
    public var timestamp: Double
    public var bytes: [UInt8]

    public init(timestamp: Double, bytes: [UInt8]) {
        self.timestamp = timestamp
        self.bytes = bytes
    }
}

/// One capture point's frames as the analysis takes them: every frame's bytes back to back in one
/// array, `ends[i]` the end of frame `i` (which starts at `ends[i - 1]`, or 0), and its timestamp.
/// LblabCapture's `CapturedFrames` hands over its arrays as they are (no copy).
public struct RawFrames: Sendable, Equatable {
    public let bytes: [UInt8]
    public let ends: [Int]
    public let timestamps: [Double]

    /// `ends` must rise (or stay) from 0 to at most `bytes.count`, with one timestamp per frame.
    public init(bytes: [UInt8], ends: [Int], timestamps: [Double]) {
        precondition(ends.count == timestamps.count, "RawFrames: \(ends.count) frame ends but \(timestamps.count) timestamps")
        var last = 0
        for e in ends {
            precondition(e >= last && e <= bytes.count, "RawFrames: frame end \(e) out of order or past \(bytes.count) bytes")
            last = e
        }
        self.bytes = bytes
        self.ends = ends
        self.timestamps = timestamps
    }

    public init(_ frames: [RawFrame]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(frames.reduce(0) { $0 + $1.bytes.count })
        var ends: [Int] = []
        ends.reserveCapacity(frames.count)
        for f in frames {
            bytes += f.bytes
            ends.append(bytes.count)
        }
        self.init(bytes: bytes, ends: ends, timestamps: frames.map(\.timestamp))
    }

    public var count: Int { ends.count }

    /// Where frame `i` lies in `bytes`.
    @inline(__always) public func range(of i: Int) -> Range<Int> { (i == 0 ? 0 : ends[i - 1])..<ends[i] }

    public subscript(i: Int) -> RawFrame { RawFrame(timestamp: timestamps[i], bytes: Array(bytes[range(of: i)])) }
}

/// The second request of a held connection (a traffic phase with `reuse`).
public struct SecondRequest: Sendable, Codable, Equatable {
    /// The real server that answered it, `nil` if none did.
    public var server: String?
    public var error: String?
    /// Seconds from the start of the traffic to when it was sent.
    public var at: Double

    public init(server: String?, error: String?, at: Double) {
        self.server = server
        self.error = error
        self.at = at
    }
}
