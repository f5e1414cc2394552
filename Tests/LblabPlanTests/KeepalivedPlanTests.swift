import LblabKeepalived
import LblabModel
@testable import LblabPlan
import LblabTypes
import Testing

@Suite struct KeepalivedPlanTests {
    /// dr-basic with a health check on its service (`--set`).
    static func lab(_ check: [String] = ["type=http", "path=/health", "interval=2", "timeout=0.5", "retries=2", "retry_delay=0.5"]) throws -> LabSpec {
        try loadLab("dr-basic", check.map { "service.health_check.\($0)" })
    }

    @Test func keepalivedOwnsTheServiceAndStartsAfterTheAgents() throws {
        let steps = Planner.plan(try Self.lab()).steps
        #expect(!steps.contains { if case .addService = $0 { true } else { false } })
        #expect(!steps.contains { if case .addDestination = $0 { true } else { false } })
        let daemons = steps.enumerated().compactMap { i, s -> (Int, PlannedDaemon)? in if case .startDaemon(_, _, let d) = s { (i, d) } else { nil } }
        try #require(daemons.count == 1)
        let (at, d) = daemons[0]
        #expect(d.kind == .keepalived)
        #expect(steps[at].namespace == "lblab-dr-basic-dispatcher")
        // Every agent it checks is started before it (plan order).
        let agents = steps.indices.filter { if case .startAgent = steps[$0] { true } else { false } }
        #expect(agents.count == 2 && agents.allSatisfy { $0 < at })
        // The VIP stays the plan's.
        #expect(steps.contains(.addAddress(namespace: "lblab-dr-basic-dispatcher", link: "eth0", address: IPInterface(host: ip("198.51.100.100")))))
    }

    @Test func theConfigurationFollowsTheLab() throws {
        let lab = try Self.lab()
        let dispatcher = try #require(lab.node(named: "dispatcher"))
        let config = try #require(Planner.keepalivedConfig(of: dispatcher, lab))
        #expect(config.global.routerID == "dr_basic_dispatcher")
        let vs = try #require(config.virtualServers.first)
        #expect(vs.address == ip("198.51.100.100") && vs.port == 80 && vs.proto == .tcp && vs.scheduler == .rr && vs.forwarding == .route)
        #expect(vs.delayLoop == 2 && vs.alpha)
        #expect(vs.realServers.map(\.address) == [ip("198.51.100.21"), ip("198.51.100.22")])
        #expect(vs.realServers.allSatisfy { $0.check == HealthCheck(kind: .http(path: "/health", status: 200), port: 80, connectTimeout: 0.5, retry: 2,
                                                                    delayBeforeRetry: 0.5, bindTo: ip("198.51.100.2")) })
        let d = try #require(Planner.daemon(of: dispatcher, lab))
        #expect(d.config == config.rendered && d.keepalived == config)
        #expect(d.arguments.contains("--use-file={config}") && d.arguments.contains("--pid={dir}/dispatcher.keepalived.pid"))
    }

    @Test func explainPrintsTheConfiguration() throws {
        let text = Planner.plan(try Self.lab(["type=tcp"])).explained()
        #expect(text.contains("cat > /run/lblab/dr-basic/dispatcher.keepalived.conf <<'EOF'\nglobal_defs {"))
        #expect(text.contains("TCP_CHECK {"))
        #expect(text.contains("ip netns exec lblab-dr-basic-dispatcher keepalived --dont-fork"))
        #expect(text.contains("--pid=/run/lblab/dr-basic/dispatcher.keepalived.pid"))
        #expect(!text.contains("ipvsadm -A"))
    }

    /// IPv6 DR: the dispatcher holds the VIP on the servers' segment; the checks leave from its own address.
    @Test func checksLeaveFromTheDispatchersOwnAddress() throws {
        let lab = try loadLab("dr-ipv6", ["service.health_check.type=tcp"])
        let d6 = try #require(lab.node(named: "dispatcher"))
        let config = try #require(Planner.keepalivedConfig(of: d6, lab))
        #expect(config.virtualServers[0].realServers.map(\.check.bindTo) == [ip("2001:db8::2"), ip("2001:db8::2")])
        #expect(config.rendered.contains("bindto 2001:db8::2\n"))
        let nat = try loadLab("nat-basic", ["service.health_check.type=tcp"])
        let d4 = try #require(nat.node(named: "dispatcher"))
        let back = try #require(Planner.keepalivedConfig(of: d4, nat))
        #expect(back.virtualServers[0].realServers.map(\.check.bindTo) == [ip("203.0.113.1"), ip("203.0.113.1")])
    }

    @Test func withoutAHealthCheckThereIsNoKeepalived() throws {
        let lab = try loadLab("dr-basic")
        #expect(Planner.keepalivedConfig(of: lab.node(named: "dispatcher")!, lab) == nil)
        #expect(!Planner.plan(lab).steps.contains { if case .startDaemon = $0 { true } else { false } })
    }
}
