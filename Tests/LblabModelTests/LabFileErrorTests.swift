import Foundation
import Testing
@testable import LblabModel
import LblabTypes

/// Every error names the file, the key, the line and (where there is a list) what is valid.
@Suite struct LabFileErrorTests {
    /// Checks the parts every error must carry and that `description` shows them.
    func checkNames(_ e: LabFileError, key: String, line: Int?, file: String = badFile,
                    sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(e.file == file, sourceLocation: sourceLocation)
        #expect(e.key == key, sourceLocation: sourceLocation)
        #expect(e.line == line, sourceLocation: sourceLocation)
        #expect(e.description.contains(file), "description names the file: \(e.description)", sourceLocation: sourceLocation)
        if !key.isEmpty {
            #expect(e.description.contains(key), "description names the key: \(e.description)", sourceLocation: sourceLocation)
        }
        if let line {
            #expect(e.description.contains("\(file):\(line)"), "description shows file:line: \(e.description)", sourceLocation: sourceLocation)
        }
        #expect(!e.problem.isEmpty, sourceLocation: sourceLocation)
    }

    // MARK: keys

    @Test func unknownTopLevelKey() throws {
        let e = try #require(labError("""
            service: {vip: 10.0.0.100}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24}
            colour: blue
            """))
        checkNames(e, key: "colour", line: 6)
        #expect(e.problem.contains("colour"))
        let valid = try #require(e.valid)
        for k in ["service", "nodes", "name", "mode", "arp_fix", "traffic", "expect"] {
            #expect(valid.contains(k), "valid keys list \(k): \(valid)")
        }
        #expect(e.description.contains("service"))
    }

    /// An unknown key whose value is a block mapping: the line should be the key's own line.
    /// (Yams marks a block mapping at its first inner key, one line below.)
    @Test func unknownTopLevelKeyWithBlockValuePointsAtTheKey() throws {
        let e = try #require(labError("""
            service: {vip: 10.0.0.100}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24}
            trafic:
              connections: 10
            """))
        #expect(e.key == "trafic")
        // A block mapping's own mark is its first inner key (line 7): the error must use the key's line.
        #expect(e.line == 6)
    }

    /// Node-level errors point at the key too: a block-style node and the `nodes` mapping itself.
    @Test func blockStyleNodeErrorsPointAtTheKey() throws {
        let badName = try #require(labError("""
            service: {vip: 10.0.0.100}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              RS1:
                role: real
                address: 10.0.0.21/24
            """))
        #expect(badName.key == "nodes.RS1")
        #expect(badName.line == 5)

        let noClient = try #require(labError("""
            service: {vip: 10.0.0.100}
            nodes:
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24}
            """))
        #expect(noClient.key == "nodes")
        #expect(noClient.line == 2)
    }

    @Test func unknownNodeKey() throws {
        let e = try #require(labError("""
            service: {vip: 10.0.0.100}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24, colour: red}
            """))
        checkNames(e, key: "nodes.rs1.colour", line: 5)
        let valid = try #require(e.valid)
        for k in ["role", "address", "weight", "forward"] { #expect(valid.contains(k)) }
    }

    @Test func unknownServiceKey() throws {
        let e = try #require(labError("""
            service:
              vip: 10.0.0.100
              sched: wrr
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24}
            """))
        checkNames(e, key: "service.sched", line: 3)
        #expect(e.valid?.contains("scheduler") == true)
    }

    @Test func missingService() throws {
        let e = try #require(labError("""
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24}
            """))
        #expect(e.key == "service")
        #expect(e.file == badFile)
        #expect(e.problem.contains("missing"))
    }

    @Test func missingNodes() throws {
        let e = try #require(labError("service: {vip: 10.0.0.100}\n"))
        #expect(e.key == "nodes")
        #expect(e.problem.contains("missing"))
    }

    @Test func missingRole() throws {
        let e = try #require(labError("""
            service: {vip: 10.0.0.100}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {address: 10.0.0.21/24}
            """))
        #expect(e.key == "nodes.rs1.role")
        #expect(e.line == 5)
        #expect(e.valid?.contains("real") == true)
    }

    @Test func unknownRole() throws {
        let e = try #require(labError("""
            service: {vip: 10.0.0.100}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: server, address: 10.0.0.21/24}
            """))
        checkNames(e, key: "nodes.rs1.role", line: 5)
        let valid = try #require(e.valid)
        for r in ["client", "dispatcher", "real"] { #expect(valid.contains(r)) }
    }

    // MARK: addresses

    @Test(arguments: ["10.0.0.300", "10.0.0", "vip", "10.0.0.100/32"])
    func badVIP(vip: String) throws {
        let e = try #require(labError("""
            service: {vip: \(vip)}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24}
            """))
        checkNames(e, key: "service.vip", line: 1)
        #expect(e.problem.contains(vip))
        #expect(e.valid != nil)
    }

    /// A VIP in no subnet the client shares with the dispatcher, and no route to it.
    @Test(arguments: ["10.0.1.100", "192.168.219.100"])
    func vipTheClientCannotReach(vip: String) throws {
        let e = try #require(labError("""
            service:
              vip: \(vip)
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24}
            """))
        checkNames(e, key: "service.vip", line: 2)
        #expect(e.problem.contains("client client cannot reach \(vip)"))
        #expect(e.valid?.contains("routes: [{to: \(vip)/32, via: <dispatcher address>}]") == true, "shows the route that would fix it")
    }

    @Test(arguments: ["10.0.0.0", "10.0.0.255"])
    func vipOnTheNetworkOrBroadcastAddress(vip: String) throws {
        let e = try #require(labError("""
            service:
              vip: \(vip)
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24}
            """))
        checkNames(e, key: "service.vip", line: 2)
        #expect(e.problem == "\(vip) is the network or broadcast address of 10.0.0.0/24")
    }

    @Test func nodeAddressWithoutPrefix() throws {
        let e = try #require(labError("""
            service: {vip: 10.0.0.100}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21}
            """))
        checkNames(e, key: "nodes.rs1.address", line: 5)
        #expect(e.problem.contains("10.0.0.21"))
        #expect(e.valid?.contains("/24") == true, "shows an address with a prefix")
    }

    @Test(arguments: ["10.0.0.21/31", "10.0.0.21/7", "10.0.0.21/33", "10.0.0.21/x", "10.0.0.0/24", "10.0.0.255/24"])
    func unusableNodeAddress(address: String) throws {
        let e = try #require(labError("""
            service: {vip: 10.0.0.100}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: "\(address)"}
            """))
        checkNames(e, key: "nodes.rs1.address", line: 5)
    }

    @Test func nodeInAnotherSubnet() throws {
        let e = try #require(labError("""
            service: {vip: 10.0.0.100}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.1.21/24}
            """))
        checkNames(e, key: "nodes.rs1.address", line: 5)
        #expect(e.problem.contains("real server rs1 shares no subnet and segment with its dispatcher dispatcher (10.0.0.0/24 on lan)"))
        #expect(e.valid == "an address on a segment and subnet of dispatcher")
    }

    @Test func duplicateNodeAddress() throws {
        let e = try #require(labError("""
            service: {vip: 10.0.0.100}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24}
              rs2: {role: real, address: 10.0.0.21/24}
            """))
        checkNames(e, key: "nodes.rs2.address", line: 6)
        #expect(e.problem.contains("10.0.0.21"))
        #expect(e.problem.contains("rs1"), "names the node that already has it: \(e.problem)")
    }

    @Test func vipUsedAsANodeAddress() throws {
        let e = try #require(labError("""
            service: {vip: 10.0.0.2}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24}
            """))
        checkNames(e, key: "nodes.dispatcher.address", line: 4)
        #expect(e.problem == "10.0.0.2 is already used by service svc1")
    }

    // MARK: roles

    /// Several dispatchers are allowed; a service then names its own.
    @Test func twoDispatchersNeedTheServiceToNameOne() throws {
        let e = try #require(labError("""
            service: {vip: 10.0.0.100}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              d1: {role: dispatcher, address: 10.0.0.2/24}
              d2: {role: dispatcher, address: 10.0.0.3/24}
              rs1: {role: real, address: 10.0.0.21/24}
            """))
        checkNames(e, key: "service.dispatcher", line: 1)
        #expect(e.problem.contains("several dispatchers"))
        #expect(e.valid == "d1, d2")
        let spec = try parse("""
            service: {vip: 10.0.0.100, dispatcher: d2}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              d1: {role: dispatcher, address: 10.0.0.2/24}
              d2: {role: dispatcher, address: 10.0.0.3/24}
              rs1: {role: real, address: 10.0.0.21/24}
            """)
        #expect(spec.services[0].dispatcher == "d2")
        #expect(spec.dispatchers.map(\.name) == ["d1", "d2"])
    }

    /// Several clients are allowed; traffic comes from the first unless `traffic.client` names one.
    @Test func twoClients() throws {
        let text = """
            service: {vip: 10.0.0.100}
            nodes:
              c1: {role: client, address: 10.0.0.10/24}
              c2: {role: client, address: 10.0.0.11/24}
              d: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24}
            """
        #expect(try parse(text).traffic.client == "c1")
        #expect(try parse(text, overrides: ["client=c2"]).traffic.client == "c2")
        let e = try #require(labError(text, overrides: ["client=c3"]))
        #expect(e.key == "traffic.client" && e.file == "--set client=c3" && e.valid == "c1, c2")
        let inFile = try #require(labError(text + "\ntraffic: {client: d}"))
        checkNames(inFile, key: "traffic.client", line: 7)
        #expect(inFile.problem == "node 'd' is a dispatcher, not a client")
    }

    @Test(arguments: [("client", "client"), ("dispatcher", "dispatcher"), ("rs1", "real")])
    func everyRoleIsNeeded(dropped: String, role: String) throws {
        var lines = [
            "service: {vip: 10.0.0.100}", "nodes:",
            "  client: {role: client, address: 10.0.0.10/24}",
            "  dispatcher: {role: dispatcher, address: 10.0.0.2/24}",
            "  rs1: {role: real, address: 10.0.0.21/24}",
        ]
        lines.removeAll { $0.hasPrefix("  \(dropped):") }
        let e = try #require(labError(lines.joined(separator: "\n")))
        checkNames(e, key: "nodes", line: 2)
        #expect(e.problem == "a lab needs at least one node with role \(role)")
        #expect(e.valid == "client, dispatcher, real")
    }

    @Test func emptyNodes() throws {
        let e = try #require(labError("""
            service: {vip: 10.0.0.100}
            nodes: {}
            """))
        #expect(e.key == "nodes")
        #expect(e.line == 2)
    }

    // MARK: service

    @Test func unknownScheduler() throws {
        let e = try #require(labError("""
            service: {vip: 10.0.0.100, scheduler: fastest}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24}
            """))
        checkNames(e, key: "service.scheduler", line: 1)
        #expect(e.problem.contains("fastest"))
        let valid = try #require(e.valid)
        for s in ["rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "dh", "lblc", "lblcr"] {
            #expect(valid.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.contains(s),
                    "valid schedulers include \(s): \(valid)")
        }
    }

    @Test(arguments: ["0", "65536", "http", "-1"])
    func badPort(port: String) throws {
        let e = try #require(labError("""
            service:
              vip: 10.0.0.100
              port: \(port)
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24}
            """))
        checkNames(e, key: "service.port", line: 3)
        #expect(e.problem.contains(port))
    }

    @Test func udpServiceParses() throws {
        let spec = try parse("""
            service: {vip: 10.0.0.100, port: 53, protocol: udp}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24}
            """)
        #expect(spec.services[0].proto == .udp && spec.services[0].label == "UDP 10.0.0.100:53")
    }

    // MARK: nodes

    @Test(arguments: ["70000", "65536", "-1", "heavy", "1.5"])
    func weightOutOfRange(weight: String) throws {
        let e = try #require(labError("""
            service: {vip: 10.0.0.100}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24, weight: \(weight)}
            """))
        checkNames(e, key: "nodes.rs1.weight", line: 5)
        #expect(e.problem.contains(weight))
        #expect(e.problem.contains("65535"), "says the range: \(e.problem)")
    }

    @Test(arguments: [("client", "weight: 2"), ("client", "forward: route"), ("dispatcher", "weight: 1"), ("dispatcher", "forward: masq")])
    func weightOrForwardOnANonRealNode(node: String, setting: String) throws {
        let clientExtra = node == "client" ? ", \(setting)" : ""
        let dispatcherExtra = node == "dispatcher" ? ", \(setting)" : ""
        let e = try #require(labError("""
            service: {vip: 10.0.0.100}
            nodes:
              client: {role: client, address: 10.0.0.10/24\(clientExtra)}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24\(dispatcherExtra)}
              rs1: {role: real, address: 10.0.0.21/24}
            """))
        let k = String(setting.prefix { $0 != ":" })
        checkNames(e, key: "nodes.\(node).\(k)", line: node == "client" ? 3 : 4)
        #expect(e.problem.contains("real"))
    }

    @Test func unknownForwarding() throws {
        let e = try #require(labError("""
            service: {vip: 10.0.0.100}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24, forward: gate}
            """))
        checkNames(e, key: "nodes.rs1.forward", line: 5)
        #expect(e.valid?.contains("masq") == true)
    }

    /// Tunnel forwarding is supported: a tunnel real server in a DR lab gets its ipip interface.
    @Test func tunnelForwardingIsSupported() throws {
        let spec = try parse("""
            service: {vip: 10.0.0.100}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24, forward: tunnel}
            """)
        #expect(spec.node(named: "rs1") == host("rs1", .real, "10.0.0.21/24", forward: .tunnel, rpFilter: 0, tunnel: true))
    }

    @Test(arguments: ["RS1", "Rs1", "switch", "lo", "1rs", "rs-", "rs-1", "rs_1", "abcdefghijklmnop"])
    func badNodeName(name: String) throws {
        let e = try #require(labError("""
            service: {vip: 10.0.0.100}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              \(name): {role: real, address: 10.0.0.21/24}
            """))
        checkNames(e, key: "nodes.\(name)", line: 5)
        #expect(e.problem.contains(name))
        let valid = try #require(e.valid)
        #expect(valid.contains("switch"), "valid text names the reserved names: \(valid)")
    }

    @Test func fifteenCharacterNodeNameIsFine() throws {
        let spec = try LabFile.parse("""
            service: {vip: 10.0.0.100}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              abcdefghijklmno: {role: real, address: 10.0.0.21/24}
            """, file: badFile)
        #expect(spec.realServers.map(\.name) == ["abcdefghijklmno"])
    }

    // MARK: mode, name, expect

    /// NAT and TUN are supported. A one-segment NAT lab: the real servers route through the
    /// dispatcher's address on their shared subnet.
    @Test func natOnOneSegment() throws {
        let spec = try parse("""
            mode: nat
            service: {vip: 10.0.0.100}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24}
            """)
        #expect(spec.mode == .nat)
        #expect(spec.node(named: "rs1") == host("rs1", .real, "10.0.0.21/24", routes: [defaultRoute(via: "10.0.0.2")], forward: .masq))
    }

    @Test func unknownMode() throws {
        let e = try #require(labError("""
            service: {vip: 10.0.0.100}
            mode: direct
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24}
            """))
        checkNames(e, key: "mode", line: 2)
        #expect(e.valid == "dr, nat, tun, dns")
    }

    @Test(arguments: ["Lab", "1lab", "lab_x", "abcdefghijklmnopqrstuvwxy"])
    func badLabName(name: String) throws {
        let e = try #require(labError("""
            name: \(name)
            service: {vip: 10.0.0.100}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24}
            """))
        checkNames(e, key: "name", line: 1)
    }

    @Test func badFileStemWithoutNameIsAnError() throws {
        let e = try #require(labError("""
            service: {vip: 10.0.0.100}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24}
            """, file: "labs/My_Lab.yaml"))
        #expect(e.key == "name")
        #expect(e.file == "labs/My_Lab.yaml")
        #expect(e.problem.contains("My_Lab"))
    }

    @Test func schedulerDistributionIsValidForEveryScheduler() throws {
        for scheduler in Scheduler.allCases {
            let spec = try LabFile.parse("""
                service: {vip: 10.0.0.100, scheduler: \(scheduler.rawValue)}
                nodes:
                  client: {role: client, address: 10.0.0.10/24}
                  dispatcher: {role: dispatcher, address: 10.0.0.2/24}
                  rs1: {role: real, address: 10.0.0.21/24}
                expect: {distribution: scheduler}
                """, file: "labs/ok.yaml")
            #expect(spec.services[0].scheduler == scheduler && spec.expect.distribution == .scheduler)
        }
    }

    @Test(arguments: ["equal", "weights", "none"])
    func lcWithAnotherDistributionIsFine(rule: String) throws {
        let spec = try LabFile.parse("""
            service: {vip: 10.0.0.100, scheduler: lc}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24}
            expect: {distribution: \(rule)}
            """, file: badFile)
        #expect(spec.services[0].scheduler == .lc)
        #expect(spec.expect.distribution.rawValue == rule)
    }

    @Test(arguments: ["0", "301", "soon"])
    func badTimeout(timeout: String) throws {
        let e = try #require(labError("""
            service: {vip: 10.0.0.100}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24}
            traffic: {timeout: \(timeout)}
            """))
        checkNames(e, key: "traffic.timeout", line: 6)
    }

    @Test func badBoolean() throws {
        let e = try #require(labError("""
            arp_fix: maybe
            service: {vip: 10.0.0.100}
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24}
            """))
        checkNames(e, key: "arp_fix", line: 1)
        #expect(e.valid == "true, false")
    }

    // MARK: documents

    @Test func badYAML() throws {
        let e = try #require(labError("""
            service: {vip: 10.0.0.100
            nodes: [
            """))
        #expect(e.file == badFile)
        #expect(e.key == "")
        #expect(e.problem.contains("YAML"))
        #expect(e.description.hasPrefix(badFile))
        #expect(e.description.contains("(top level)"))
    }

    @Test(arguments: ["- a\n- b\n", "just a string\n", "", "42\n"])
    func nonMappingDocument(text: String) throws {
        let e = try #require(labError(text))
        #expect(e.file == badFile)
        #expect(e.key == "")
        #expect(e.problem.contains("mapping"))
        #expect(e.valid?.contains("service") == true)
        #expect(e.description.contains(badFile))
    }

    @Test func serviceMustBeAMapping() throws {
        let e = try #require(labError("""
            service: 10.0.0.100
            nodes:
              client: {role: client, address: 10.0.0.10/24}
              dispatcher: {role: dispatcher, address: 10.0.0.2/24}
              rs1: {role: real, address: 10.0.0.21/24}
            """))
        checkNames(e, key: "service", line: 1)
        #expect(e.valid?.contains("vip") == true)
    }

    @Test func loadOfAMissingFile() throws {
        let path = "/nonexistent-\(UUID().uuidString)/lab.yaml"
        do {
            _ = try LabFile.load(path)
            Issue.record("loaded a file that does not exist")
        } catch let e as LabFileError {
            #expect(e.file == path)
            #expect(e.valid != nil)
        }
    }

    // MARK: description format

    @Test func descriptionFormat() {
        let e = LabFileError(file: "a.yaml", key: "service.vip", line: 3, problem: "bad", valid: "x, y")
        #expect(e.description == "a.yaml:3: service.vip: bad (valid: x, y)")
        let top = LabFileError(file: "b.yaml", key: "", problem: "empty")
        #expect(top.description == "b.yaml: (top level): empty")
    }
}
