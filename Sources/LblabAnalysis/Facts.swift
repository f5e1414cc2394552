import LblabTypes

/// One lab node as the analysis sees it. `name` is also the name of its capture point.
public struct LabHost: Sendable, Codable, Equatable {
    public var name: String
    public var address: IPv4Address
    public var mac: MACAddress

    public init(name: String, address: IPv4Address, mac: MACAddress) {
        self.name = name
        self.address = address
        self.mac = mac
    }
}

/// What the lab was built with: the service and the nodes whose wires were captured.
public struct LabFacts: Sendable, Codable, Equatable {
    public var vip: IPv4Address
    public var port: UInt16
    public var client: LabHost
    public var dispatcher: LabHost
    public var realServers: [LabHost]

    public init(vip: IPv4Address, port: UInt16, client: LabHost, dispatcher: LabHost, realServers: [LabHost]) {
        self.vip = vip
        self.port = port
        self.client = client
        self.dispatcher = dispatcher
        self.realServers = realServers
    }
}

/// One client connection as the traffic generator saw it.
public struct ConnectionOutcome: Sendable, Codable, Equatable {
    /// The client's TCP source port (identifies the flow in the captures).
    public var localPort: UInt16
    /// The real server that answered (its node name, from the response), `nil` if none did.
    public var server: String?
    public var error: String?
    /// Seconds from connect to the end of the response.
    public var latency: Double

    public init(localPort: UInt16, server: String?, error: String? = nil, latency: Double = 0) {
        self.localPort = localPort
        self.server = server
        self.error = error
        self.latency = latency
    }
}

/// How answered connections should spread over the real servers.
public enum DistributionExpectation: Sendable, Codable, Equatable {
    /// max - min <= 1 among these servers; every other server gets 0.
    case equal(servers: [String])
    /// |count - N*w/W| <= max weight for each listed server; weight-0 servers and unlisted servers get 0.
    case weighted([String: Int])
    /// Only the client/capture agreement is checked.
    case none
}

public enum PathExpectation: Sendable, Codable, Equatable {
    /// Requests through the dispatcher, replies straight from the real server (LVS-DR).
    case directRouting
    case none
}

public enum ARPExpectation: Sendable, Codable, Equatable {
    /// Only the dispatcher may answer ARP for the VIP (no ARP flux).
    case dispatcherOnly
    case none
}

public struct Expectations: Sendable, Codable, Equatable {
    public var distribution: DistributionExpectation
    public var path: PathExpectation
    public var arp: ARPExpectation

    public init(distribution: DistributionExpectation = .none, path: PathExpectation = .none, arp: ARPExpectation = .none) {
        self.distribution = distribution
        self.path = path
        self.arp = arp
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
