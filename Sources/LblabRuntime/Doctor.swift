import Foundation
import LblabNetlink
import LblabSystem

/// One check of `lblab doctor`.
public struct DoctorCheck: Sendable, Codable {
    public var name: String
    public var ok: Bool
    public var detail: String
    /// What to do when it is not ok.
    public var fix: String?
    /// false when the check was not carried out (it is never `ok` then).
    public var checked: Bool

    public init(name: String, ok: Bool, detail: String, fix: String? = nil, checked: Bool = true) {
        self.name = name
        self.ok = ok && checked
        self.detail = detail
        self.fix = fix
        self.checked = checked
    }
}

extension LabRuntime {
    /// Checks what lblab needs: privileges, named namespaces, veth, bridge, IPVS, and where
    /// IPVS is missing, each prerequisite of the lab VM. With `vmBinary` (`lblab doctor --vm`)
    /// it boots the lab VM with that lblab, loads ip_vs in it and reports the boot time.
    public static func doctor(vmBinary: String? = nil, note: (String) -> Void = { _ in }) -> [DoctorCheck] {
        var checks: [DoctorCheck] = []
        let root = Kernel.isRoot
        checks.append(DoctorCheck(name: "privileges", ok: root, detail: root ? "running as root" : "running as uid \(geteuid())",
                                  fix: root ? nil : "run lblab as root (sudo lblab ...)"))
        if root {
            let name = "lblab-doctor-\(getpid())"
            do {
                let ns = try NetworkNamespace.create(name)
                defer { try? NetworkNamespace.delete(name) }
                checks.append(DoctorCheck(name: "network namespaces", ok: true, detail: "created and removed \(NetworkNamespace.path(of: name))"))
                do {
                    let route = try ns.run { try RouteNetlink() }
                    try route.createBridge(name: "br0")
                    checks.append(DoctorCheck(name: "bridge", ok: true, detail: "created a bridge in a scratch namespace"))
                    try route.createVeth(name: "a0", peerName: "b0", peerNamespaceFD: nil)
                    checks.append(DoctorCheck(name: "veth", ok: true, detail: "created a veth pair in a scratch namespace"))
                } catch {
                    checks.append(DoctorCheck(name: "bridge/veth", ok: false, detail: "\(error)",
                                              fix: "load the bridge and veth modules (modprobe bridge veth)"))
                }
            } catch {
                checks.append(DoctorCheck(name: "network namespaces", ok: false, detail: "\(error)",
                                          fix: "lblab needs a kernel with network namespaces and a writable /run"))
            }
        }
        let loaded = root ? Kernel.loadIPVS() : Kernel.ipvsLoaded
        let release = Kernel.release
        if loaded {
            checks.append(DoctorCheck(name: "IPVS", ok: true, detail: "IPVS is loaded in kernel \(release)"))
            // Natively nothing needs the VM; `--vm` checks it all the same.
            if vmBinary == nil { return checks }
        }
        let (vmChecks, vm) = KernelVM.inspect(runPrograms: true)
        if !loaded {
            checks.append(DoctorCheck(
                name: "IPVS", ok: false,
                detail: "kernel \(release) has no IPVS (no /proc/net/ip_vs\(Kernel.ipvsModuleAvailable ? "; a module exists but did not load" : ", no ip_vs module"))",
                fix: vm != nil ? "none needed: lblab runs the labs in the lab VM (checked below)"
                    : "install what the lab VM needs (below), or boot a kernel with CONFIG_IP_VS"))
        }
        checks += vmChecks.map { DoctorCheck(name: $0.name, ok: $0.ok, detail: $0.detail, fix: $0.fix) }
        guard let binary = vmBinary else {
            checks.append(DoctorCheck(name: "lab VM boot", ok: false, detail: "not tried: `lblab doctor --vm` boots the VM and loads ip_vs in it (about 30 s)",
                                      checked: false))
            return checks
        }
        guard vm != nil, root else {
            checks.append(DoctorCheck(name: "lab VM boot", ok: false, detail: root ? "not tried: a prerequisite above is missing" : "not tried: needs root",
                                      checked: false))
            return checks
        }
        do {
            let probe = try LabVM().probe(binary: binary, note: note)
            let how = probe.booted ? String(format: "booted in %.1f s", probe.bootSeconds)
                : String(format: "already running (QEMU pid %d, booted in %.1f s)", probe.qemuPID, probe.bootSeconds)
            checks.append(DoctorCheck(name: "lab VM boot", ok: true, detail: "\(how); ip_vs loaded: \(probe.ipvs)\(probe.stoppedAgain ? "; stopped it again" : "")"))
        } catch {
            checks.append(DoctorCheck(name: "lab VM boot", ok: false, detail: "\(error)", fix: LabVM.genericFix))
        }
        return checks
    }

    /// Whether lblab can run labs here: every check holds, or only IPVS is missing and the
    /// lab VM's prerequisites (and its boot, when tried) hold.
    public static func usable(_ checks: [DoctorCheck]) -> Bool {
        let vmNames: Set<String> = ["qemu", "busybox", "virtme-ng", "VM kernel", "lab VM boot"]
        let vmOK = checks.contains { $0.name == "VM kernel" } && checks.filter { vmNames.contains($0.name) }.allSatisfy { $0.ok || !$0.checked }
        return checks.allSatisfy { $0.ok || !$0.checked || ($0.name == "IPVS" && vmOK) || (vmNames.contains($0.name) && checks.contains { $0.name == "IPVS" && $0.ok }) }
    }
}
