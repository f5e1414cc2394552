import Testing
@testable import LblabModel
import LblabTypes

/// The service and real-server options that change scheduling: persistence, one-packet, thresholds.
@Suite struct SchedulerOptionTests {
    func lab(service: String, rs1: String = "") -> String {
        """
        nodes:
          c: {role: client, address: 10.0.0.10/24}
          d: {role: dispatcher, address: 10.0.0.2/24}
          rs1: {role: real, address: 10.0.0.21/24\(rs1)}
          rs2: {role: real, address: 10.0.0.22/24}
        service: \(service)
        """
    }

    @Test func persistenceAsSecondsOrWithANetmask() throws {
        #expect(try parse(lab(service: "{vip: 10.0.0.100}")).services[0].persistence == nil)
        #expect(try parse(lab(service: "{vip: 10.0.0.100, persistence: 30}")).services[0].persistence == PersistenceSpec(timeout: 30, prefixLength: 32))
        let masked = try parse(lab(service: "{vip: 10.0.0.100, persistence: {timeout: 60, netmask: 255.255.255.0}}")).services[0]
        #expect(masked.persistence == PersistenceSpec(timeout: 60, prefixLength: 24))
        #expect(try parse(lab(service: "{vip: 10.0.0.100, persistence: {netmask: 16}}")).services[0].persistence == PersistenceSpec(timeout: 300, prefixLength: 16))
        let e = try #require(labError(lab(service: "{vip: 10.0.0.100, persistence: {timeout: 60, netmask: 255.0.255.0}}")))
        #expect(e.key == "service.persistence.netmask" && e.problem == "'255.0.255.0' is not a netmask")
        let zero = try #require(labError(lab(service: "{vip: 10.0.0.100, persistence: 0}")))
        #expect(zero.key == "service.persistence")
    }

    @Test func onePacketNeedsUDP() throws {
        let e = try #require(labError(lab(service: "{vip: 10.0.0.100, one_packet: true}")))
        #expect(e.key == "service.one_packet")
        #expect(e.problem.contains("this service is tcp"))
    }

    @Test func thresholdsOnRealServers() throws {
        let spec = try parse(lab(service: "{vip: 10.0.0.100}", rs1: ", u_threshold: 4, l_threshold: 2"))
        #expect(spec.node(named: "rs1")?.upperThreshold == 4 && spec.node(named: "rs1")?.lowerThreshold == 2)
        #expect(spec.node(named: "rs2")?.upperThreshold == nil)
        let e = try #require(labError(lab(service: "{vip: 10.0.0.100}", rs1: ", l_threshold: 2")))
        #expect(e.key == "nodes.rs1.l_threshold" && e.problem == "l_threshold 2 needs an u_threshold at or above it")
        let client = try #require(labError(lab(service: "{vip: 10.0.0.100}").replacingOccurrences(of: "10.0.0.10/24}", with: "10.0.0.10/24, u_threshold: 3}")))
        #expect(client.problem == "only real servers have a u_threshold")
        #expect(try parse(lab(service: "{vip: 10.0.0.100}"), overrides: ["rs2.u_threshold=5"]).node(named: "rs2")?.upperThreshold == 5)
    }

    /// A dispatcher's `ipvs_timeouts` (`ipvsadm --set`): given ones set, the rest the kernel's;
    /// only a dispatcher has them, and they name at least one.
    @Test func ipvsTimeoutsOnTheDispatcher() throws {
        let text = lab(service: "{vip: 10.0.0.100}").replacingOccurrences(of: "10.0.0.2/24}", with: "10.0.0.2/24, ipvs_timeouts: {tcpfin: 1, udp: 5}}")
        let spec = try parse(text)
        #expect(spec.node(named: "d")?.ipvsTimeouts == IPVSTimeouts(tcpfin: 1, udp: 5))
        #expect(spec.node(named: "d")?.ipvsTimeouts?.ipvsadmArguments == "0 1 5")
        #expect(try parse(text, overrides: ["d.ipvs_timeouts.tcpfin=3"]).node(named: "d")?.ipvsTimeouts?.tcpfin == 3)
        #expect(try parse(lab(service: "{vip: 10.0.0.100}")).node(named: "d")?.ipvsTimeouts == nil)
        let onReal = try #require(labError(lab(service: "{vip: 10.0.0.100}", rs1: ", ipvs_timeouts: {tcpfin: 1}")))
        #expect(onReal.key == "nodes.rs1.ipvs_timeouts" && onReal.problem.contains("only a dispatcher"))
        let empty = try #require(labError(text.replacingOccurrences(of: "{tcpfin: 1, udp: 5}", with: "{}")))
        #expect(empty.key == "nodes.d.ipvs_timeouts" && empty.problem == "names no timeout")
        let zero = try #require(labError(text.replacingOccurrences(of: "tcpfin: 1", with: "tcpfin: 0")))
        #expect(zero.key == "nodes.d.ipvs_timeouts.tcpfin")
    }
}
