import LblabTypes

/// `health_check:` of a service: keepalived checks its real servers and owns its IPVS table
/// (the plan does not write the service; keepalived adds each real server once its check passes
/// and removes it when its checks fail).
public struct HealthCheckSpec: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// keepalived's `TCP_CHECK`: a connect to the port.
        case tcp
        /// keepalived's `HTTP_GET`: a request for `path`, answered with `status`.
        case http
    }

    public var type: Kind
    /// The port checked on each real server's own address (default: the service's port).
    public var port: UInt16
    /// HTTP: the path asked for, and the status that counts as healthy.
    public var path: String
    public var status: Int
    /// Seconds between two checks of one server (`delay_loop`).
    public var interval: Double
    /// Seconds before one attempt counts as failed (`connect_timeout`).
    public var timeout: Double
    /// Attempts after a failed one before the server is removed (`retry`).
    public var retries: Int
    /// Seconds between those attempts (`delay_before_retry`).
    public var retryDelay: Double

    public init(type: Kind = .tcp, port: UInt16, path: String = "/", status: Int = 200, interval: Double = 1, timeout: Double = 1,
                retries: Int = 1, retryDelay: Double = 1) {
        self.type = type
        self.port = port
        self.path = path
        self.status = status
        self.interval = interval
        self.timeout = timeout
        self.retries = retries
        self.retryDelay = retryDelay
    }

    public var timing: CheckTiming { CheckTiming(interval: interval, timeout: timeout, retries: retries, retryDelay: retryDelay) }
    /// Seconds within which keepalived removes a dead server (`CheckTiming.detectionBound`).
    public var detectionBound: Double { timing.detectionBound }
    /// Seconds within which keepalived re-adds a server that came back (`CheckTiming.readdBound`).
    public var readdBound: Double { timing.readdBound }
}
