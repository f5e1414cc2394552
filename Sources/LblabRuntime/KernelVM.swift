import Foundation
import LblabSystem

/// A stock distribution kernel with IPVS, booted under QEMU by virtme-ng with this host's
/// root shared read-only: where the running kernel lacks IPVS, lblab runs itself in there.
public struct KernelVM: Sendable {
    public var vng: String
    public var kernel: String

    /// Set inside the VM so lblab never tries to boot a VM from the VM.
    public static let insideMarker = "LBLAB_IN_VM"
    public static var isInside: Bool { ProcessInfo.processInfo.environment[insideMarker] != nil }

    /// Finds virtme-ng (`$LBLAB_VNG`, /opt/lblab-vng/bin/vng, or `vng` on PATH) and the newest
    /// /boot/vmlinuz-* whose modules include IPVS (`$LBLAB_VM_KERNEL` overrides).
    public static func locate() -> KernelVM? {
        let env = ProcessInfo.processInfo.environment
        let fm = FileManager.default
        var candidates = [env["LBLAB_VNG"], "/opt/lblab-vng/bin/vng"].compactMap { $0 }
        candidates += (env["PATH"] ?? "").split(separator: ":").map { "\($0)/vng" }
        guard let vng = candidates.first(where: { fm.isExecutableFile(atPath: $0) }) else { return nil }
        if let k = env["LBLAB_VM_KERNEL"], fm.fileExists(atPath: k) { return KernelVM(vng: vng, kernel: k) }
        let kernels = ((try? fm.contentsOfDirectory(atPath: "/boot")) ?? []).filter { $0.hasPrefix("vmlinuz-") }.filter {
            let release = String($0.dropFirst("vmlinuz-".count))
            return fm.fileExists(atPath: "/lib/modules/\(release)/kernel/net/netfilter/ipvs")
        }
        guard let newest = kernels.sorted(by: { $0.compare($1, options: .numeric) == .orderedAscending }).last else { return nil }
        return KernelVM(vng: vng, kernel: "/boot/\(newest)")
    }

    /// Boots the kernel, runs `command` in it (through /bin/sh, quoted), and returns its exit
    /// status. `writable` directories of the host stay writable inside.
    public func run(_ command: [String], writable: [String] = [], cwd: String = FileManager.default.currentDirectoryPath) throws -> Int32 {
        let script = "cd \(shellQuote(cwd)) && \(Self.insideMarker)=1 " + command.map(shellQuote).joined(separator: " ")
        var argv = [vng, "-r", kernel, "--disable-kvm", "--force-9p", "--memory", "2G", "--cpus", "2"]
        for w in writable { argv += ["--rwdir", w] }
        argv += ["--exec", script]
        let bin = URL(fileURLWithPath: vng).deletingLastPathComponent().path
        // vng starts virtme-run through /bin/sh, so its own directory must be on PATH.
        return try Processes.runInheriting(argv, environment: ["PATH": "\(bin):\(ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")"])
    }
}

public func shellQuote(_ s: String) -> String {
    if !s.isEmpty, s.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,@%+".contains($0) }) { return s }
    return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
