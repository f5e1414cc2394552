import ArgumentParser
import Foundation
import LblabRuntime

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",abstract: "Show running labs: nodes, addresses, agents and the IPVS table (as ipvsadm -Ln).")
    @Argument(help: "The lab (all running labs when omitted).") var lab: String?
    @OptionGroup var output: OutputOptions

    func run() throws {
        if try forwardedToVM() { return }
        try reportingErrors {
            let labs = try LabRuntime().status(lab.map { try labName($0).name })
            if output.json { return try printJSON(labs) }
            if labs.isEmpty { return print("no lab is up") }
            for s in labs {
                print("lab \(s.lab) (\(s.mode), \(s.phase) since \(ISO8601DateFormatter().string(from: s.since)))")
                for n in s.nodes {
                    var line = "  \(n.name.padding(12)) \(n.role.padding(10)) \(n.present ? (n.mac ?? "-") : "MISSING namespace \(n.namespace)")"
                    line += "  " + n.addresses.joined(separator: ", ")
                    let what = n.role == "dns" ? "dnsmasq" : n.role == "resolver" ? "unbound" : "agent"
                    if let pid = n.agentPID { line += "  \(what) pid \(pid) \(n.agentAlive == true ? "running" : "NOT RUNNING")" }
                    print(line)
                }
                print("")
                print(s.ipvsTable)
                print("")
            }
        }
    }
}

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check what lblab needs here: privileges, namespaces, veth, bridge, IPVS, or each prerequisite of the lab VM.",
        discussion: "Where the kernel has no IPVS it checks QEMU, busybox, virtme-ng and a kernel with the modules the lab VM needs; `--vm` also boots the VM, loads ip_vs in it and reports the boot time. A check that was not carried out shows `--`, never `ok`.")
    @Flag(name: .customLong("vm"), help: "Boot the lab VM, load ip_vs in it and report the boot time (about 30 s; the running lab VM is used when there is one).")
    var vm = false
    @OptionGroup var output: OutputOptions

    func run() throws {
        try reportingErrors {
            let checks = LabRuntime.doctor(vmBinary: vm ? executablePath : nil) { line in
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            let usable = LabRuntime.usable(checks)
            if output.json {
                struct Out: Encodable { var usable: Bool; var checks: [DoctorCheck] }
                try printJSON(Out(usable: usable, checks: checks))
            } else {
                for c in checks {
                    print("\(c.ok ? "ok  " : c.checked ? "FAIL" : "--  ") \(c.name.padding(20)) \(c.detail)")
                    if let fix = c.fix, !c.ok { print("     \("".padding(20)) fix: \(fix)") }
                }
                print(usable ? "lblab can run labs here" : "lblab cannot run labs here yet: see the fixes above")
            }
            if !usable { throw Exit.error }
        }
    }
}
