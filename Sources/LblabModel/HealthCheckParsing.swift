import LblabTypes

/// `health_check:` on a service (IPVS labs): keepalived's checks of its real servers.
extension LabValidator {
    static let healthCheckKeys = ["type", "port", "path", "status", "interval", "timeout", "retries", "retry_delay"]

    /// `health_check: {type: tcp|http, port: 80, path: /, status: 200, interval: 1, timeout: 1,
    /// retries: 1, retry_delay: 1}`, every key optional (`health_check: {}` checks with TCP on the
    /// service's port); `health_check: tcp` or `http` names only the type.
    func parseHealthCheck(_ key: String, _ node: LabTree?, servicePort: UInt16) throws -> HealthCheckSpec? {
        guard let node else { return nil }
        if let s = node.scalar, !s.isEmpty {
            let type: HealthCheckSpec.Kind = try choice("\(key).type", node, default: .tcp)
            return HealthCheckSpec(type: type, port: servicePort)
        }
        let t = try mapping(key, node.scalar != nil ? nil : node, allowed: Self.healthCheckKeys)
        let type: HealthCheckSpec.Kind = try choice("\(key).type", t?["type"], default: .tcp)
        let port = try int("\(key).port", t?["port"], 1...65535, default: Int(servicePort))
        let path = try string("\(key).path", t?["path"]) ?? "/"
        if t?["path"] != nil, type != .http {
            throw fail("\(key).path", t?["path"], "a path is what an HTTP check asks for; this check is \(type.rawValue)", valid: "type: http, or no path")
        }
        if t?["status"] != nil, type != .http {
            throw fail("\(key).status", t?["status"], "a status is what an HTTP check expects; this check is \(type.rawValue)", valid: "type: http, or no status")
        }
        guard path.hasPrefix("/"), !path.contains(where: { $0 == " " || $0 == "{" || $0 == "}" || $0 == "\"" || $0 == "#" || $0 == "!" }) else {
            throw fail("\(key).path", t?["path"], "'\(path)' is not a URL path", valid: "a path starting with /, without spaces, braces, quotes, # or !")
        }
        let status = try int("\(key).status", t?["status"], 100...599, default: 200)
        return HealthCheckSpec(type: type, port: UInt16(port), path: path, status: status,
                               interval: try seconds("\(key).interval", t?["interval"], 0.1...3600, default: 1),
                               timeout: try seconds("\(key).timeout", t?["timeout"], 0.1...60, default: 1),
                               retries: try int("\(key).retries", t?["retries"], 0...10, default: 1),
                               retryDelay: try seconds("\(key).retry_delay", t?["retry_delay"], 0.1...60, default: 1))
    }

    /// A number of seconds in `range` (fractions allowed).
    func seconds(_ key: String, _ node: LabTree?, _ range: ClosedRange<Double>, default def: Double) throws -> Double {
        guard let s = try string(key, node) else { return def }
        guard let v = Double(s), range.contains(v) else {
            throw fail(key, node, "'\(s)' is not a number of seconds in \(Self.show(range.lowerBound))...\(Self.show(range.upperBound))")
        }
        return v
    }

    static func show(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(v) }
}
