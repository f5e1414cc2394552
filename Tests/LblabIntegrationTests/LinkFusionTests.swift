import Foundation
import Testing
import LblabModel
import LblabPlan
import LblabTypes
@testable import LblabRuntime

/// `LinkFusion`: which `setMaster` / `setUp` steps the executor folds into the creation of a veth
/// pair. Checked without root on a model of link state: a plan applied step by step and the same
/// plan applied with fusion must leave every link in the same state.
@Suite struct LinkFusionTests {
    static let labs: [String] = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.appendingPathComponent("labs")
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.hasSuffix(".yaml") }
        return files.map { dir.appendingPathComponent($0).path }.sorted()
            + [root.appendingPathComponent("bench/labs/dr-scale-2net.yaml").path]
    }()

    /// Links per namespace: master, up, addresses; what the fused and the plain path must agree on.
    struct Links: Equatable {
        struct State: Equatable {
            var master: String?
            var up = false
            var addresses: [String] = []
        }
        var links: [String: [String: State]] = [:]

        mutating func apply(_ step: Step, extras: LinkFusion.Extras = .init()) {
            switch step {
            case .createBridge(let ns, let name):
                links[ns, default: [:]][name] = State()
            case .createVeth(let ns, let name, let peerNS, let peer):
                links[ns, default: [:]][name] = State(master: extras.master, up: extras.up)
                links[peerNS, default: [:]][peer] = State()
            case .setMaster(let ns, let link, let master):
                links[ns]?[link]?.master = master
            case .setUp(let ns, let link):
                links[ns, default: [:]][link, default: State()].up = true
            case .addAddress(let ns, let link, let a):
                links[ns, default: [:]][link, default: State()].addresses.append(a.description)
            default:
                break
            }
        }
    }

    /// Applies `steps` as the executor does: absorbed steps skipped, creations with their extras.
    static func fused(_ steps: [Step]) -> (Links, absorbed: Int) {
        var fusion = LinkFusion(steps)
        var model = Links()
        var absorbed = 0
        for step in steps {
            if fusion.take(step) { absorbed += 1; continue }
            if case .createVeth(let ns, let name, _, _) = step {
                model.apply(step, extras: fusion.extras(of: .init(namespace: ns, name: name)))
            } else {
                model.apply(step)
            }
        }
        return (model, absorbed)
    }

    static func plain(_ steps: [Step]) -> Links {
        var model = Links()
        for step in steps { model.apply(step) }
        return model
    }

    @Test(arguments: labs)
    func sameLinksAsStepByStep(_ path: String) throws {
        let steps = Planner.plan(try LabFile.load(path, overrides: [])).steps
        let (fused, absorbed) = Self.fused(steps)
        #expect(fused == Self.plain(steps))
        // Every veth of these labs is plugged into its bridge and its switch end up: two steps
        // fewer per veth (the peer's `setUp` stays).
        let veths = steps.filter { if case .createVeth = $0 { true } else { false } }.count
        #expect(veths > 0)
        #expect(absorbed == 2 * veths)
    }

    @Test func extrasOfALabsVeth() throws {
        let lab = Self.labs.first { $0.hasSuffix("/dr-basic.yaml") }!
        let steps = Planner.plan(try LabFile.load(lab, overrides: [])).steps
        let fusion = LinkFusion(steps)
        let extras = fusion.extras(of: .init(namespace: "lblab-dr-basic-switch", name: "rs1"))
        #expect(extras == LinkFusion.Extras(master: "br-lan", up: true))
        // Not a veth: nothing extra.
        #expect(fusion.extras(of: .init(namespace: "lblab-dr-basic-switch", name: "br-lan")) == LinkFusion.Extras())
    }

    let sw = "sw", node = "n1"

    func veth() -> Step { .createVeth(namespace: sw, name: "p1", peerNamespace: node, peerName: "eth0") }

    @Test func aBridgeMadeAfterThePairIsNotFused() {
        let steps: [Step] = [veth(), .createBridge(namespace: sw, name: "br0"), .setMaster(namespace: sw, link: "p1", master: "br0"),
                             .setUp(namespace: sw, link: "p1")]
        var fusion = LinkFusion(steps)
        // Neither the master nor (after a step that was not fused) the port's up: both run as planned.
        #expect(fusion.extras(of: .init(namespace: sw, name: "p1")) == LinkFusion.Extras())
        let took1 = fusion.take(steps[2])
        #expect(!took1)
        let took2 = fusion.take(steps[3])
        #expect(!took2)
        #expect(Self.fused(steps).0 == Self.plain(steps))
    }

    @Test func aSysctlOrRouteInBetweenStopsFusion() {
        let route = PlannedRoute(destination: IPInterface(address: .v4(IPv4Address(0)), prefixLength: 0), gateway: nil, link: "p1")
        for between in [Step.setSysctl(namespace: sw, key: "net.ipv4.conf.p1.rp_filter", value: "0"),
                        Step.addRoute(namespace: sw, route: route)] {
            let steps: [Step] = [veth(), between, .setUp(namespace: sw, link: "p1")]
            var fusion = LinkFusion(steps)
            #expect(fusion.extras(of: .init(namespace: sw, name: "p1")).up == false, "\(between)")
            let took3 = fusion.take(steps[2])
            #expect(!took3)
        }
        // An address in between is fine: the link comes up with it either way.
        let steps: [Step] = [veth(), .addAddress(namespace: sw, link: "p1", address: IPInterface("192.0.2.1/24")!),
                             .setUp(namespace: sw, link: "p1")]
        var fusion = LinkFusion(steps)
        #expect(fusion.extras(of: .init(namespace: sw, name: "p1")).up)
        let took4 = fusion.take(steps[2])
        #expect(took4)
        #expect(Self.fused(steps).0 == Self.plain(steps))
    }

    @Test func thePeersUpIsNeverFused() {
        // The kernel cannot open a veth's peer while creating the pair (ENOTCONN): that step stays.
        let steps: [Step] = [veth(), .setUp(namespace: node, link: "eth0")]
        var fusion = LinkFusion(steps)
        #expect(fusion.extras(of: .init(namespace: sw, name: "p1")) == LinkFusion.Extras())
        let took = fusion.take(steps[1])
        #expect(!took)
    }

    @Test func eachStepIsAbsorbedOnce() {
        let up = Step.setUp(namespace: sw, link: "p1")
        let steps: [Step] = [veth(), up, up]
        var fusion = LinkFusion(steps)
        let took5 = fusion.take(up)
        #expect(took5)
        let took6 = fusion.take(up)
        #expect(!took6)       // the second one runs: it is not covered by the creation
        let took7 = fusion.take(.setUp(namespace: sw, link: "lo"))
        #expect(!took7)
        let took8 = fusion.take(.createNamespace(name: sw))
        #expect(!took8)
    }

    @Test func nothingToFuseInATeardown() {
        var fusion = LinkFusion([.stopAgent(namespace: node, node: "rs1", port: 80), .deleteNamespace(name: node)])
        let took9 = fusion.take(.deleteNamespace(name: node))
        #expect(!took9)
    }
}

/// `Prefetcher.aheadSteps`: the steps the prefetch thread carries out right after making their
/// namespace. Only what needs nothing but the namespace, and gives the same result at any time
/// after its creation.
@Suite struct AheadStepsTests {
    @Test func aDRLabsNamespaces() throws {
        let lab = LinkFusionTests.labs.first { $0.hasSuffix("/dr-basic.yaml") }!
        let steps = Planner.plan(try LabFile.load(lab, overrides: [])).steps
        let ahead = Prefetcher.aheadSteps(steps)
        let ns = { (node: String) in "lblab-dr-basic-\(node)" }
        func keys(_ node: String) -> [String] {
            (ahead[ns(node)] ?? []).map { if case .setSysctl(_, let k, let v) = $0 { "\(k)=\(v)" } else { $0.command } }
        }
        #expect(keys("switch") == ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
        #expect(keys("dispatcher") == ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1",
                                       "ip -n \(ns("dispatcher")) link set lo up", "net.ipv4.ip_forward=1"])
        // A real server: everything but its eth0's rp_filter (eth0 comes from the switch's veth).
        #expect(keys("rs1") == ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1",
                                "ip -n \(ns("rs1")) link set lo up", "ip -n \(ns("rs1")) addr add 198.51.100.100/32 dev lo",
                                "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2",
                                "net.ipv4.conf.lo.arp_ignore=1", "net.ipv4.conf.lo.arp_announce=2",
                                "net.ipv4.conf.all.rp_filter=0"])
        // Each in plan order: a subsequence of the namespace's steps.
        for (n, list) in ahead {
            let own = steps.filter { $0.namespace == n }
            var i = own.startIndex
            for step in list {
                guard let j = own[i...].firstIndex(of: step) else { Issue.record("\(step) out of order in \(n)"); break }
                i = j + 1
            }
        }
    }

    @Test func defaultKeysOnlyBeforeTheFirstLink() {
        let n = "x", sw = "sw"
        let steps: [Step] = [
            .createNamespace(name: sw), .createNamespace(name: n),
            .setSysctl(namespace: n, key: "net.ipv4.conf.default.rp_filter", value: "2"),
            .createVeth(namespace: sw, name: "p", peerNamespace: n, peerName: "eth0"),
            .setSysctl(namespace: n, key: "net.ipv4.conf.default.rp_filter", value: "1"),
            .setSysctl(namespace: n, key: "net.ipv4.conf.all.rp_filter", value: "1"),
            .setSysctl(namespace: n, key: "net.ipv4.conf.eth0.rp_filter", value: "1"),
            .setSysctl(namespace: n, key: "net.ipv4.neigh.default.gc_thresh1", value: "1"),
            .setSysctl(namespace: "elsewhere", key: "net.ipv4.conf.all.rp_filter", value: "1"),
            .setUp(namespace: n, link: "eth0"),
        ]
        let ahead = Prefetcher.aheadSteps(steps)
        #expect(ahead[n] == [steps[2], steps[5]])
        #expect(ahead["elsewhere"] == nil)       // not created by this batch
        #expect(ahead[sw] == nil)
    }
}
