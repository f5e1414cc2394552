import ArgumentParser
import Foundation
import LblabAnalysis
import LblabModel
import LblabPlan
import LblabRuntime

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",abstract: "List the labs lblab knows and which are up.")
    @OptionGroup var output: OutputOptions

    struct Entry: Encodable { var name: String; var path: String; var description: String; var up: Bool; var error: String? }

    func run() throws {
        try reportingErrors {
            let catalog = LabCatalog.standard(executablePath: executablePath)
            let upLabs = Set(StateStore().labs())
            let entries = catalog.all().map { lab -> Entry in
                do {
                    let spec = try LabFile.load(lab.path)
                    return Entry(name: lab.name, path: lab.path, description: spec.description, up: upLabs.contains(spec.name))
                } catch {
                    return Entry(name: lab.name, path: lab.path, description: "", up: false, error: "\(error)")
                }
            }
            if output.json { return try printJSON(entries) }
            if entries.isEmpty { print("no labs found in \(catalog.directories.joined(separator: ", "))") }
            for e in entries {
                let status = e.up ? "up" : (e.error == nil ? "" : "invalid")
                print("\(e.name.padding(16)) \(status.padding(8)) \(e.error ?? e.description)")
            }
        }
    }
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",abstract: "Show a lab with every default filled in, and its plan.")
    @Argument(help: "The lab.") var lab: String
    @OptionGroup var settings: SettingOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        try reportingErrors {
            let spec = try loadLab(lab, settings: settings.settings)
            if output.json { return try printJSON(spec) }
            print(Describe.lab(spec))
            print("\nplan (`lblab up \(spec.name) --explain` runs it step by step):")
            print(Planner.plan(spec).explained())
        }
    }
}

/// Text renderings of models for the terminal.
enum Describe {
    /// The lab with every default filled in, in the lab file's own shape.
    static func lab(_ s: LabSpec) -> String {
        var out = [
            "name: \(s.name)",
            "description: \(Self.quoted(s.description))",
            "file: \(s.source ?? "-")",
            "mode: \(s.mode.rawValue)",
            "segments: [\(s.segments.map(\.name).joined(separator: ", "))]",
        ]
        if s.mode.usesIPVS { out.append("services:") }
        for v in s.services {
            var options = ""
            if let p = v.persistence { options += ", persistence: {timeout: \(p.timeout), netmask: \(p.prefixLength)}" }
            if v.onePacket == true { options += ", one_packet: true" }
            if let h = v.healthCheck {
                options += ", health_check: {type: \(h.type.rawValue), port: \(h.port)" + (h.type == .http ? ", path: \(h.path), status: \(h.status)" : "")
                    + ", interval: \(h.interval), timeout: \(h.timeout), retries: \(h.retries), retry_delay: \(h.retryDelay)}"
            }
            out.append("  - {name: \(v.name), vip: \(v.vip), port: \(v.port), protocol: \(v.proto.rawValue), scheduler: \(v.scheduler.rawValue), "
                       + "dispatcher: \(v.dispatcher), servers: [\(v.servers.joined(separator: ", "))]\(options)}")
            out.append("    # " + SchedulerOracle.explanation(v.scheduler))
        }
        if s.mode.usesIPVS { out.append("arp_fix: \(s.arpFix)") }
        if let sync = s.sync { out.append("sync: \(sync)") }
        out.append("nodes:")
        for n in s.nodes {
            var fields = ["role: \(n.role.rawValue)"]
            let ifs = n.interfaces.map { i in
                "\(i.name): {segment: \(i.segment), " + (i.addresses.count == 1 ? "address: \(i.addresses[0])" : "addresses: [\(i.addresses.map(\.description).joined(separator: ", "))]") + "}"
            }
            fields.append("interfaces: {\(ifs.joined(separator: ", "))}")
            if !n.routes.isEmpty {
                fields.append("routes: [" + n.routes.map { r in
                    "{to: \(r.isDefault ? "default" : r.destination.description)" + (r.gateway.map { ", via: \($0)" } ?? "") + (r.interface.map { ", dev: \($0)" } ?? "") + "}"
                }.joined(separator: ", ") + "]")
            }
            switch n.role {
            case .real:
                fields += ["weight: \(n.weight)", "forward: \(n.forward.rawValue)"]
                if let u = n.upperThreshold, u > 0 { fields.append("u_threshold: \(u)") }
                if let l = n.lowerThreshold, l > 0 { fields.append("l_threshold: \(l)") }
                if n.forward == .tunnel { fields.append("tunnel: \(n.tunnel)") }
            case .client:
                if let r = n.dns?.resolver { fields.append("resolver: \(r)") }
            case .resolver:
                fields += ["upstream: \(n.dns?.upstream ?? "-")", "cache: \(n.dns?.cache ?? true)", "round_robin: \(n.dns?.roundRobin ?? true)"]
            case .web:
                fields.append("delay_ms: \(n.dns?.delayMillis ?? 0)")
            case .dispatcher:
                if let v = n.vrrp {
                    fields.append("vrrp: {priority: \(v.priority), router_id: \(v.routerID), advert_int: \(v.advertInterval), interface: \(v.interface)}")
                }
                if let t = n.ipvsTimeouts {
                    let set = [("tcp", t.tcp), ("tcpfin", t.tcpfin), ("udp", t.udp)].compactMap { k, v in v.map { "\(k): \($0)" } }
                    fields.append("ipvs_timeouts: {\(set.joined(separator: ", "))}")
                }
            case .dns: break
            }
            if n.ipForward || n.role == .dispatcher { fields.append("ip_forward: \(n.ipForward)") }
            if let rp = n.rpFilter { fields.append("rp_filter: \(rp)") }
            // The group as a comment after the mapping: inside it, `#` would swallow the closing brace.
            out.append("  \(n.name): {\(fields.joined(separator: ", "))}" + (n.group.map { "  # count: group \($0)" } ?? ""))
        }
        if let d = s.dns {
            out.append("dns: {name: \(d.name), ttl: \(d.ttl), lookups: \(d.lookups), interval_ms: \(d.intervalMillis), timeout: \(s.traffic.timeout), claim: \(Self.quoted(d.claim))}")
            if let faults = s.faults, !faults.isEmpty {
                out.append("faults:")
                for f in faults { out.append("  - {at: \(f.at), node: \(f.node), action: \(f.action.rawValue)}") }
            }
            out.append("expect: {distribution: \(s.expect.distribution.rawValue), errors: \((s.expect.errors ?? .none).rawValue), cache: \((s.expect.cache ?? .any).rawValue)}")
            return out.joined(separator: "\n")
        }
        out += Self.traffic(s.traffic)
        if let faults = s.faults, !faults.isEmpty {
            out.append("faults:")
            for f in faults { out.append("  - {at: \(f.at), node: \(f.node), action: \(f.action.rawValue)" + (f.delayMillis.map { ", delay_ms: \($0)" } ?? "") + "}") }
        }
        out.append("expect: {distribution: \(s.expect.distribution.rawValue), path: \(s.expect.path.rawValue), arp: \(s.expect.arp.rawValue)}")
        return out.joined(separator: "\n")
    }

    /// `traffic:` as a lab file gives it: one line for one phase, else the list of phases.
    /// A YAML double-quoted scalar (a claim such as `2: a cache ...` is no plain scalar).
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func traffic(_ t: TrafficSpec) -> [String] {
        func fields(_ p: TrafficPhase, named: Bool) -> String {
            var f = named ? ["name: \(p.name)"] : []
            f += ["clients: [\(p.clients.joined(separator: ", "))]", "service: \(p.service)", "connections: \(p.connections)",
                  "concurrency: \(p.concurrency)"]
            switch p.hold {
            case .none: break
            case .seconds(let s): f.append("hold: \(s)")
            case .untilPhase(let i): f.append("hold: {until: \(i < t.phases.count ? t.phases[i].name : "end")}")
            case .end: f.append("hold: {until: end}")
            }
            if p.trace { f.append("trace: true") }
            if p.pause > 0 { f.append("pause: \(p.pause)") }
            if p.datagramsPerSocket > 1 { f.append("datagrams_per_socket: \(p.datagramsPerSocket)") }
            if let i = p.intervalMillis { f.append("interval_ms: \(i)") }
            if p.reuse == true { f.append("reuse: true") }
            return f.joined(separator: ", ")
        }
        if t.phases.count == 1 { return ["traffic: {\(fields(t.phases[0], named: false)), timeout: \(t.timeout)}"] }
        return ["traffic:", "  timeout: \(t.timeout)", "  phases:"] + t.phases.map { "    - {\(fields($0, named: true))}" }
    }
}
