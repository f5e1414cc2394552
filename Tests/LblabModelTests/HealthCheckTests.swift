import Testing
@testable import LblabModel

@Suite struct HealthCheckTests {
    @Test func defaultsAndBounds() throws {
        let lab = try LabFile.load(labPath("dr-basic"), overrides: ["service.health_check=tcp"])
        let hc = try #require(lab.services[0].healthCheck)
        #expect(hc == HealthCheckSpec(type: .tcp, port: 80, path: "/", status: 200, interval: 1, timeout: 1, retries: 1, retryDelay: 1))
        #expect(hc.detectionBound == 4 && hc.readdBound == 3)
        let http = try LabFile.load(labPath("dr-basic"), overrides: ["service.health_check=http"]).services[0].healthCheck
        #expect(http?.type == .http)
        let full = try LabFile.load(labPath("dr-basic"), overrides: ["type=http", "port=8080", "path=/ok", "status=204", "interval=0.5", "timeout=0.25", "retries=0", "retry_delay=2"].map { "service.health_check.\($0)" })
        #expect(full.services[0].healthCheck == HealthCheckSpec(type: .http, port: 8080, path: "/ok", status: 204, interval: 0.5, timeout: 0.25, retries: 0, retryDelay: 2))
        #expect(try LabFile.load(labPath("dr-basic")).services[0].healthCheck == nil)
    }

    @Test(arguments: [
        (["type=udp"], "service.health_check.type", "unknown type 'udp'"),
        (["port=0"], "service.health_check.port", "'0' is not a whole number in 1...65535"),
        (["path=/x"], "service.health_check.path", "a path is what an HTTP check asks for; this check is tcp"),
        (["type=http", "path=nope"], "service.health_check.path", "'nope' is not a URL path"),
        (["interval=0"], "service.health_check.interval", "'0' is not a number of seconds in 0.1...3600"),
        (["retries=11"], "service.health_check.retries", "'11' is not a whole number in 0...10"),
        (["colour=red"], "service.health_check.colour", "unknown key 'colour'"),
    ])
    func errors(value: [String], key: String, problem: String) throws {
        do {
            _ = try LabFile.load(labPath("dr-basic"), overrides: value.map { "service.health_check.\($0)" })
            Issue.record("\(value) parsed")
        } catch let e as LabFileError {
            #expect(e.key == key)
            #expect(e.problem == problem)
        }
    }
}
