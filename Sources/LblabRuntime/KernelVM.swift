import Foundation
import LblabSystem

/// A stock distribution kernel with IPVS, booted under QEMU by virtme-ng with this host's
/// root shared read-only: where the running kernel lacks IPVS, lblab runs its labs in there
/// (see `LabVM`). This type finds what that needs and checks each piece for real.
public struct KernelVM: Sendable {
    public var vng: String
    public var kernel: String
    public var qemu: String
    public var busybox: String

    /// Set inside the VM so lblab never tries to boot a VM from the VM.
    public static let insideMarker = "LBLAB_IN_VM"
    public static var isInside: Bool { ProcessInfo.processInfo.environment[insideMarker] != nil }

    /// Kernel modules the VM needs: IPVS for the labs, 9p and virtio for the shared root
    /// and the control channel, overlay for virtme-ng's writable /etc, /var, /tmp.
    public static let requiredModules = ["ip_vs", "9p", "9pnet_virtio", "virtio_net", "overlay"]

    /// One prerequisite of the VM and what was found.
    public struct Check: Sendable, Equatable {
        public var name: String
        public var ok: Bool
        public var detail: String
        public var fix: String?
    }

    /// Where to look: overridable so tests can build a fake machine.
    public struct Places: Sendable {
        public var environment: [String: String]
        public var boot: String
        public var modules: String
        /// Directories virtme-ng searches for busybox besides PATH.
        public var systemBin: [String]
        /// Directories searched for QEMU after PATH.
        public var qemuDirectories: [String]
        /// Where ci/setup.sh installs virtme-ng (searched after $LBLAB_VNG, before PATH).
        public var defaultVng: String?

        public init(environment: [String: String] = ProcessInfo.processInfo.environment, boot: String = "/boot",
                    modules: String = "/lib/modules",
                    systemBin: [String] = ["/usr/local/bin", "/usr/local/sbin", "/usr/bin", "/usr/sbin", "/bin", "/sbin"],
                    qemuDirectories: [String] = ["/usr/bin"], defaultVng: String? = "/opt/lblab-vng/bin/vng") {
            self.environment = environment
            self.boot = boot
            self.modules = modules
            self.systemBin = systemBin
            self.qemuDirectories = qemuDirectories
            self.defaultVng = defaultVng
        }

        var path: [String] { (environment["PATH"] ?? "").split(separator: ":").map(String.init) }
    }

    /// Checks every prerequisite: QEMU, a static busybox (virtme-ng's initramfs), virtme-ng,
    /// and a kernel whose modules include IPVS, 9p and virtio. With `runPrograms`, QEMU and
    /// virtme-ng are run (`--version`) so "ok" means they start, not only that a file exists.
    /// The VM is returned when every check holds.
    public static func inspect(_ places: Places = Places(), runPrograms: Bool = false) -> (checks: [Check], vm: KernelVM?) {
        let fm = FileManager.default
        var checks: [Check] = []

        // QEMU (virtme-ng runs qemu-system-<arch> from PATH).
        let qemuName = "qemu-system-x86_64"
        let qemu = places.environment["LBLAB_QEMU"] ?? (places.path + places.qemuDirectories).map { "\($0)/\(qemuName)" }.first { fm.isExecutableFile(atPath: $0) }
        if let qemu, fm.isExecutableFile(atPath: qemu) {
            if runPrograms {
                let (status, out) = HostProcess.capture([qemu, "--version"], timeout: 20)
                let version = out.split(separator: "\n").first.map(String.init) ?? ""
                checks.append(Check(name: "qemu", ok: status == 0, detail: status == 0 ? "\(qemu) (\(version))" : "\(qemu) --version failed (status \(status)): \(version)",
                                    fix: status == 0 ? nil : "reinstall QEMU: apt-get install --reinstall qemu-system-x86"))
            } else {
                checks.append(Check(name: "qemu", ok: true, detail: qemu))
            }
        } else {
            checks.append(Check(name: "qemu", ok: false, detail: "no \(qemuName) on PATH", fix: "apt-get install qemu-system-x86 (or run ci/setup.sh)"))
        }

        // busybox, found the way virtme-ng finds it; its initramfs has no C library, so it must be static.
        let busybox = findBusybox(places)
        if let busybox {
            switch ELFFile.isStatic(busybox) {
            case true?: checks.append(Check(name: "busybox", ok: true, detail: "\(busybox) (statically linked)"))
            case false?: checks.append(Check(name: "busybox", ok: false, detail: "\(busybox) is dynamically linked: it cannot run in virtme-ng's initramfs",
                                             fix: "apt-get install busybox-static"))
            case nil: checks.append(Check(name: "busybox", ok: false, detail: "\(busybox) is not an ELF executable", fix: "apt-get install busybox-static"))
            }
        } else {
            checks.append(Check(name: "busybox", ok: false, detail: "no busybox (virtme-ng builds the VM's initramfs with it)",
                                fix: "apt-get install busybox-static (or run ci/setup.sh)"))
        }

        // `file`: virtme-ng runs it on the busybox and the kernel before it boots (a fresh machine
        // without it fails there).
        if let file = places.path.map({ "\($0)/file" }).first(where: { fm.isExecutableFile(atPath: $0) }) {
            checks.append(Check(name: "file", ok: true, detail: file))
        } else {
            checks.append(Check(name: "file", ok: false, detail: "no `file` on PATH (virtme-ng runs it on the kernel and busybox)",
                                fix: "apt-get install file (or run ci/setup.sh)"))
        }

        // virtme-ng.
        let vng = findVng(places)
        if let vng {
            if runPrograms {
                let bin = URL(fileURLWithPath: vng).deletingLastPathComponent().path
                let (status, out) = HostProcess.capture([vng, "--version"], environment: ["PATH": "\(bin):\(places.environment["PATH"] ?? "/usr/bin:/bin")"], timeout: 30)
                let version = out.trimmingCharacters(in: .whitespacesAndNewlines)
                checks.append(Check(name: "virtme-ng", ok: status == 0, detail: status == 0 ? "\(vng) (\(version))" : "\(vng) --version failed (status \(status)): \(version.suffix(300))",
                                    fix: status == 0 ? nil : "reinstall it: rm -rf /opt/lblab-vng && ci/setup.sh"))
            } else {
                checks.append(Check(name: "virtme-ng", ok: true, detail: vng))
            }
        } else {
            checks.append(Check(name: "virtme-ng", ok: false, detail: "no vng ($LBLAB_VNG, /opt/lblab-vng/bin/vng or PATH)",
                                fix: "python3 -m venv /opt/lblab-vng && /opt/lblab-vng/bin/pip install virtme-ng (or run ci/setup.sh)"))
        }

        // A kernel with every module the VM needs.
        let kernels = candidateKernels(places)
        let usable = kernels.last { $0.missing.isEmpty }
        if let usable {
            checks.append(Check(name: "VM kernel", ok: true, detail: "\(usable.path) (modules \(requiredModules.joined(separator: ", ")))"))
        } else if let forced = places.environment["LBLAB_VM_KERNEL"], kernels.isEmpty {
            checks.append(Check(name: "VM kernel", ok: false, detail: "LBLAB_VM_KERNEL=\(forced): no such kernel, or no modules for it under \(places.modules)",
                                fix: "point LBLAB_VM_KERNEL at a /boot/vmlinuz-* with modules, or unset it"))
        } else if let newest = kernels.last {
            checks.append(Check(name: "VM kernel", ok: false, detail: "\(newest.path) lacks the modules \(newest.missing.joined(separator: ", ")) (in \(places.modules)/\(newest.release))",
                                fix: "apt-get install linux-image-amd64 (the -cloud flavour lacks 9p)"))
        } else {
            checks.append(Check(name: "VM kernel", ok: false, detail: "no kernel under \(places.boot) with modules under \(places.modules)",
                                fix: "apt-get install linux-image-amd64 (or run ci/setup.sh)"))
        }

        guard checks.allSatisfy(\.ok), let vng, let qemu, let busybox, let usable else { return (checks, nil) }
        return (checks, KernelVM(vng: vng, kernel: usable.path, qemu: qemu, busybox: busybox))
    }

    /// The VM when every prerequisite is there (without running anything).
    public static func locate() -> KernelVM? { inspect().vm }

    static func findVng(_ places: Places) -> String? {
        let fm = FileManager.default
        let candidates = [places.environment["LBLAB_VNG"], places.defaultVng].compactMap { $0 } + places.path.map { "\($0)/vng" }
        return candidates.first { fm.isExecutableFile(atPath: $0) }
    }

    /// virtme-ng's search: each name on PATH, then in the system's bin directories.
    static func findBusybox(_ places: Places) -> String? {
        let fm = FileManager.default
        for name in ["busybox-static", "busybox.static", "busybox"] {
            for dir in places.path + places.systemBin {
                let p = "\(dir)/\(name)"
                var isDir: ObjCBool = false
                if fm.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue, fm.isExecutableFile(atPath: p) { return p }
            }
        }
        return nil
    }

    /// Kernels under `boot` that have a module tree, oldest first, each with the required
    /// modules it lacks (`$LBLAB_VM_KERNEL` picks one).
    static func candidateKernels(_ places: Places) -> [(path: String, release: String, missing: [String])] {
        let fm = FileManager.default
        var paths = ((try? fm.contentsOfDirectory(atPath: places.boot)) ?? []).filter { $0.hasPrefix("vmlinuz-") }
            .sorted { $0.compare($1, options: .numeric) == .orderedAscending }.map { "\(places.boot)/\($0)" }
        if let forced = places.environment["LBLAB_VM_KERNEL"] { paths = [forced] }
        return paths.compactMap { path in
            let name = URL(fileURLWithPath: path).lastPathComponent
            guard name.hasPrefix("vmlinuz-") else { return nil }
            let release = String(name.dropFirst("vmlinuz-".count))
            guard fm.fileExists(atPath: path), fm.fileExists(atPath: "\(places.modules)/\(release)") else { return nil }
            let have = modules(of: release, in: places.modules)
            return (path, release, requiredModules.filter { !have.contains($0) })
        }
    }

    /// Module names a kernel can load (modules.dep) or has built in (modules.builtin).
    static func modules(of release: String, in root: String) -> Set<String> {
        var names = Set<String>()
        for file in ["modules.dep", "modules.builtin"] {
            guard let text = try? String(contentsOfFile: "\(root)/\(release)/\(file)", encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") {
                let path = line.split(separator: ":", maxSplits: 1).first ?? ""
                guard let base = path.split(separator: "/").last, let dot = base.range(of: ".ko") else { continue }
                names.insert(String(base[..<dot.lowerBound]).replacingOccurrences(of: "-", with: "_"))
            }
        }
        return names
    }
}

/// Just enough ELF to tell a static executable from a dynamic one.
enum ELFFile {
    /// true: no program interpreter (static); false: dynamic; nil: not a 64-bit little-endian ELF.
    static func isStatic(_ path: String) -> Bool? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let header = try? handle.read(upToCount: 64), header.count == 64,
              header.prefix(4) == Data([0x7f, 0x45, 0x4c, 0x46]), header[4] == 2, header[5] == 1 else { return nil }
        func u16(_ d: Data, _ o: Int) -> Int { Int(d[d.startIndex + o]) | Int(d[d.startIndex + o + 1]) << 8 }
        func u64(_ d: Data, _ o: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(d[d.startIndex + o + $1]) << (8 * UInt64($1)) } }
        let phoff = u64(header, 32), phentsize = u16(header, 54), phnum = u16(header, 56)
        guard phentsize >= 4, phnum < 512, (try? handle.seek(toOffset: phoff)) != nil,
              let table = try? handle.read(upToCount: phentsize * phnum), table.count == phentsize * phnum else { return nil }
        let ptInterp = 3
        for i in 0..<phnum where u16(table, i * phentsize) == ptInterp && u16(table, i * phentsize + 2) == 0 { return false }
        return true
    }
}

public func shellQuote(_ s: String) -> String {
    if !s.isEmpty, s.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,@%+".contains($0) }) { return s }
    return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
