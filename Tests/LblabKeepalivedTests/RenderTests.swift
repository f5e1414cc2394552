import Foundation
import LblabKeepalived
import LblabTypes
import Testing

@Suite struct RenderTests {
    static let check = HealthCheck(kind: .tcp, port: 80, connectTimeout: 1, retry: 1, delayBeforeRetry: 0.5, bindTo: IPAddress("198.51.100.2"))

    static func config(check: HealthCheck = check, vrrp: [VRRPInstance] = [], sync: SyncDaemon? = nil) -> KeepalivedConfig {
        let rs = [RealServer(address: IPAddress("198.51.100.21")!, port: 80, weight: 1, forwarding: .route, check: check),
                  RealServer(address: IPAddress("198.51.100.22")!, port: 80, weight: 3, forwarding: .masq, upperThreshold: 10, check: check)]
        let vs = VirtualServer(address: IPAddress("198.51.100.100")!, port: 80, proto: .tcp, scheduler: .wrr, forwarding: .route,
                               delayLoop: 2, persistenceTimeout: 30, persistencePrefix: 24, realServers: rs)
        return KeepalivedConfig(global: GlobalDefs(routerID: "lab_dispatcher", syncDaemon: sync), vrrpInstances: vrrp, virtualServers: [vs])
    }

    @Test func virtualServerWithTCPChecks() {
        let text = Self.config().rendered
        #expect(text.hasPrefix("global_defs {\n    router_id lab_dispatcher\n}\n"))
        #expect(text.contains("virtual_server 198.51.100.100 80 {\n    delay_loop 2\n    lvs_sched wrr\n    lvs_method DR\n    protocol TCP\n"
                              + "    persistence_timeout 30\n    persistence_granularity 255.255.255.0\n    alpha\n"))
        #expect(text.contains("    real_server 198.51.100.21 80 {\n        weight 1\n        TCP_CHECK {\n            connect_port 80\n"
                              + "            bindto 198.51.100.2\n            connect_timeout 1\n            retry 1\n            delay_before_retry 0.5\n        }\n    }\n"))
        // A server whose method differs from the service's names its own; thresholds are written.
        #expect(text.contains("real_server 198.51.100.22 80 {\n        weight 3\n        lvs_method NAT\n        uthreshold 10\n"))
        #expect(!text.contains("lthreshold"))
        #expect(!text.contains("vrrp_instance"))
    }

    @Test func httpCheckHasItsURL() {
        let http = HealthCheck(kind: .http(path: "/health", status: 204), port: 8080, connectTimeout: 0.25, retry: 2, delayBeforeRetry: 1)
        let text = Self.config(check: http).rendered
        #expect(text.contains("HTTP_GET {\n            url {\n                path /health\n                status_code 204\n            }\n"
                              + "            connect_port 8080\n            connect_timeout 0.25\n            retry 2\n"))
        #expect(!text.contains("TCP_CHECK"))
    }

    @Test func vrrpInstanceAndSyncDaemon() {
        let v = VRRPInstance(name: "VI_1", state: .backup, interface: "eth0", virtualRouterID: 51, priority: 100, advertInterval: 0.5,
                             virtualAddresses: [IPInterface(host: IPAddress("198.51.100.100")!)], unicastPeers: [IPAddress("198.51.100.3")!])
        let text = Self.config(vrrp: [v], sync: SyncDaemon(interface: "eth0", instance: "VI_1", syncID: 7)).rendered
        #expect(text.contains("    lvs_sync_daemon eth0 VI_1 id 7\n"))
        #expect(text.contains("vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 100\n"
                              + "    advert_int 0.5\n    unicast_peer {\n        198.51.100.3\n    }\n    virtual_ipaddress {\n"
                              + "        198.51.100.100/32 dev eth0\n    }\n}\n"))
        // global_defs, then VRRP, then the virtual servers.
        let order = ["global_defs", "vrrp_instance", "virtual_server"].map { text.range(of: $0)!.lowerBound }
        #expect(order == order.sorted())
    }

    @Test func commandLineRunsOnlyWhatTheConfigUses() {
        let checker = Self.config().arguments(configPath: "/run/lblab/l/d.keepalived.conf", stateDirectory: "/run/lblab/l", node: "d")
        #expect(checker.contains("--check") && !checker.contains("--vrrp") && checker.contains("--dont-fork"))
        #expect(checker.contains("--pid=/run/lblab/l/d.keepalived.pid") && checker.contains("--use-file=/run/lblab/l/d.keepalived.conf"))
        var vrrpOnly = Self.config(vrrp: [VRRPInstance(name: "VI_1", state: .master, interface: "eth0", virtualRouterID: 1, priority: 150, virtualAddresses: [])])
        vrrpOnly.virtualServers = []
        #expect(vrrpOnly.arguments(configPath: "c", stateDirectory: "s", node: "d").contains("--vrrp"))
    }

    @Test func bounds() {
        // delay_loop 2 + 2 attempts x 1 s + 1 retry x 0.5 s.
        #expect(Self.check.timing(delayLoop: 2).detectionBound == 4.5)
        #expect(Self.check.timing(delayLoop: 2).readdBound == 3.5)
    }

    /// keepalived itself reads the rendered text without a complaint (`keepalived -t`), when installed.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/keepalived")))
    func keepalivedAcceptsIt() throws {
        let http = HealthCheck(kind: .http(path: "/", status: 200), port: 80, connectTimeout: 1, retry: 1, delayBeforeRetry: 1)
        var configs = [Self.config(), Self.config(check: http)]
        // keepalived -t refuses a VRRP instance on an interface this machine lacks (or on lo).
        let links = ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net")) ?? []).filter { $0 != "lo" }.sorted()
        if let link = links.first {
            let v = VRRPInstance(name: "VI_1", state: .master, interface: link, virtualRouterID: 51, priority: 150,
                                 virtualAddresses: [IPInterface(host: IPAddress("198.51.100.100")!)], unicastPeers: [IPAddress("198.51.100.3")!])
            configs.append(Self.config(check: http, vrrp: [v], sync: SyncDaemon(interface: link, instance: "VI_1")))
        }
        for config in configs {
            let path = NSTemporaryDirectory() + "lblab-keepalived-\(getpid()).conf"
            try config.rendered.write(toFile: path, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/keepalived")
            p.arguments = ["--config-test", "--use-file=\(path)"]
            let err = Pipe()
            p.standardError = err
            try p.run()
            p.waitUntilExit()
            let said = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(p.terminationStatus == 0, "keepalived -t: \(said)\n\(config.rendered)")
        }
    }
}
