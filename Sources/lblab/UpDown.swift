import ArgumentParser
import Foundation
import LblabModel
import LblabPlan
import LblabRuntime

struct Up: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",abstract: "Build a lab: namespaces, links, addresses, sysctls, the IPVS table and the HTTP agents.")
    @Argument(help: "The lab.") var lab: String
    @OptionGroup var settings: SettingOptions
    @Flag(help: "Print each step with the equivalent ip / ipvsadm / sysctl command as it runs.") var explain = false
    @Flag(name: .customLong("dry-run"), help: "Print the plan and change nothing (needs neither root nor IPVS).") var dryRun = false
    @OptionGroup var output: OutputOptions

    func run() throws {
        if try forwardedToVM() { return }
        try reportingErrors {
            let spec = try loadLab(lab, settings: settings.settings)
            LabRuntime.logPhase("lab file read")
            if dryRun {
                return output.json ? try printJSON(Planner.plan(spec)) : print(Planner.plan(spec).explained())
            }
            var n = 0
            let result = try LabRuntime().up(spec) { entry, seconds in
                guard explain, !output.json else { return }
                n += 1
                if !entry.why.isEmpty { print(String(format: "%3d  # %@", n, entry.why)) }
                print(String(format: "     %@   (%.1f ms)", entry.step.command, seconds * 1000))
            }
            if output.json {
                struct Out: Encodable { var lab: String; var seconds: Double; var steps: Int; var agents: [LabState.Agent] }
                return try printJSON(Out(lab: spec.name, seconds: result.seconds, steps: result.plan.entries.count, agents: result.agents))
            }
            guard spec.mode.usesIPVS else {
                print(String(format: "lab %@ is up (%d steps in %.3f s). Try: lblab test %@ · lblab fault %@ <web server> down · lblab down %@",
                             spec.name, result.plan.entries.count, result.seconds, spec.name, spec.name, spec.name))
                for line in DNSText.hints(spec) { print("  " + line) }
                return
            }
            let service = spec.service(named: spec.traffic.service) ?? spec.services[0]
            // `-g`: curl takes an IPv6 URL's brackets as an address, not as a glob.
            let curl = service.vip.family == .ipv6 ? "curl -g -s" : "curl -s"
            print(String(format: "lab %@ is up (%d steps in %.3f s). Try: lblab status %@ · lblab test %@ · lblab exec %@ %@ -- %@ http://%@/ · lblab down %@",
                         spec.name, result.plan.entries.count, result.seconds, spec.name, spec.name, spec.name, spec.traffic.client,
                         curl, service.vip.withPort(service.port), spec.name))
        }
    }
}

struct Down: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",abstract: "Remove a lab: its processes, namespaces (with every link, address and IPVS rule) and state.")
    @Argument(help: "The lab.") var lab: String
    @Flag(help: "Print the equivalent commands.") var explain = false
    @OptionGroup var output: OutputOptions

    func run() throws {
        if try forwardedToVM() { return }
        try reportingErrors {
            let (name, spec) = try labName(lab)
            let result = try LabRuntime().down(name, spec: spec)
            if output.json {
                struct Out: Encodable { var lab: String; var seconds: Double; var namespaces: [String]; var stoppedProcesses: [Int32] }
                return try printJSON(Out(lab: name, seconds: result.seconds, namespaces: result.namespaces, stoppedProcesses: result.stoppedProcesses))
            }
            if explain {
                for pid in result.stoppedProcesses { print("     kill \(pid)") }
                for ns in result.namespaces.reversed() { print("     " + Step.deleteNamespace(name: ns).command) }
            }
            print(String(format: "lab %@ is down (%d namespaces, %d processes removed in %.3f s)",
                         name, result.namespaces.count, result.stoppedProcesses.count, result.seconds))
        }
    }
}

struct Clean: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clean",
        abstract: "Remove everything lblab left behind: every lblab-* namespace, every process inside one, and all lab state.",
        discussion: "Only what lblab owns (found by its names and state) is touched.")
    @OptionGroup var output: OutputOptions

    func run() throws {
        if try forwardedToVM() { return }
        try reportingErrors {
            let result = try LabRuntime().clean()
            if output.json { return try printJSON(result) }
            if result.namespaces.isEmpty && result.states.isEmpty && result.stoppedProcesses.isEmpty && result.busy.isEmpty {
                return print("nothing to clean")
            }
            for ns in result.namespaces { print("removed namespace \(ns)") }
            for pid in result.stoppedProcesses { print("stopped process \(pid)") }
            for s in result.states { print("removed state of \(s)") }
            for b in result.busy { print("skipped lab \(b): another lblab process is working on it") }
        }
    }
}

struct Exec: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",abstract: "Run a command inside a node of a running lab.",
                                                    discussion: "Example: lblab exec dr-basic client -- curl -s http://198.51.100.100/")
    @Argument(help: "The lab.") var lab: String
    @Argument(help: "The node.") var node: String
    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.") var command: [String] = []

    func run() throws {
        if try forwardedToVM() { return }
        try reportingErrors {
            guard !command.isEmpty else { throw ValidationError("give the command after --, e.g. lblab exec \(lab) \(node) -- ip addr") }
            try LabRuntime().exec(lab: try labName(lab).name, node: node, command: command)
        }
    }
}
