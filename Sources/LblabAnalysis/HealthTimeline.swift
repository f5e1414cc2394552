import LblabModel

/// What a run with health checks or faults recorded besides its connections: the real servers
/// IPVS held for the traffic's service, sampled over the traffic (every ~100 ms, read over
/// netlink from the dispatcher), and when each fault was applied. Times in seconds from the start
/// of the traffic, like `ConnectionOutcome.start`.
public struct HealthTimeline: Sendable, Codable, Equatable {
    /// The service sampled (the traffic's).
    public var service: String
    public var samples: [HealthSample]
    public var faults: [AppliedFault]
    /// The lab's faults that were never applied (the traffic was over before their time): a run
    /// that did not exercise its faults cannot pass the `health` rule.
    public var missed: [FaultSpec]?

    public init(service: String, samples: [HealthSample], faults: [AppliedFault], missed: [FaultSpec]? = nil) {
        self.service = service
        self.samples = samples
        self.faults = faults
        self.missed = missed
    }
}

/// The real servers (node names) in the service's IPVS destinations with a weight above 0, at `at`.
public struct HealthSample: Sendable, Codable, Equatable {
    public var at: Double
    public var servers: [String]

    public init(at: Double, servers: [String]) {
        self.at = at
        self.servers = servers
    }
}

/// A fault as it was applied: when (a slow machine applies one late: the rules judge from this).
public struct AppliedFault: Sendable, Codable, Equatable {
    public var at: Double
    public var node: String
    public var action: FaultSpec.Action

    public init(at: Double, node: String, action: FaultSpec.Action) {
        self.at = at
        self.node = node
        self.action = action
    }
}
