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
}

extension LabRuntime {
    /// Checks what lblab needs: privileges, named namespaces, veth, bridge, IPVS.
    public static func doctor() -> [DoctorCheck] {
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
        } else {
            let vm = KernelVM.locate()
            checks.append(DoctorCheck(
                name: "IPVS", ok: false,
                detail: "kernel \(release) has no IPVS (no /proc/net/ip_vs\(Kernel.ipvsModuleAvailable ? "; a module exists but did not load" : ", no ip_vs module"))",
                fix: vm.map { "`lblab test` runs labs in a kernel VM here (\($0.kernel) via \($0.vng))" }
                    ?? "install a kernel VM with ci/setup.sh (QEMU, linux-image-amd64, virtme-ng), or boot a kernel with CONFIG_IP_VS"))
            if let vm {
                checks.append(DoctorCheck(name: "kernel VM", ok: true, detail: "\(vm.kernel) via \(vm.vng)"))
            }
        }
        return checks
    }
}
