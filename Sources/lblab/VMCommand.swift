import ArgumentParser
import Foundation
import LblabModel
import LblabPlan
import LblabRuntime
import LblabSystem

/// `lblab vm ...`: the lab VM lblab runs labs in where this kernel has no IPVS.
struct VM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vm",
        abstract: "The lab VM: where this kernel has no IPVS, `lblab up` runs the lab in a kernel VM that lblab starts and owns.",
        discussion: """
        The VM boots with the first `lblab up` (or `lblab test`) on a kernel without IPVS, and stops once its last
        lab is down, with `lblab vm stop`, or with `lblab clean`. `status`, `exec`, `test` and `down` reach the labs in it.
        It is a stock kernel under QEMU (virtme-ng) seeing this host's root read-only, with no network but a
        control channel on 127.0.0.1 that only lblab (as root) can use.
        """,
        subcommands: [VMStatus.self, VMStop.self, VMExec.self, VMShell.self, VMServe.self])
}

struct VMStatus: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the lab VM: its processes, kernel, control channel and labs.")
    @OptionGroup var output: OutputOptions

    struct Out: Encodable {
        var state: String
        var qemuPID: Int32?
        var vngPID: Int32?
        var kernel: String?
        var port: UInt16?
        var bootedAt: Date?
        var bootSeconds: Double?
        var answers: Bool?
        var labs: [String]?
        var directory: String
    }

    func run() throws {
        try reportingErrors {
            let vm = LabVM()
            var out = Out(state: "absent", directory: vm.directory)
            switch vm.condition() {
            case .absent:
                break
            case .gone(let r):
                out.state = "gone"
                out.vngPID = r?.pid
                out.labs = r?.labs
            case .running(let r, let qemu):
                out = Out(state: r.ready ? "running" : "booting", qemuPID: qemu, vngPID: r.pid, kernel: r.kernel, port: r.port, bootedAt: r.bootedAt,
                          bootSeconds: r.bootSeconds, answers: nil, labs: r.labs, directory: vm.directory)
                if r.ready, let session = try? vm.attach(note: { _ in }) {
                    out.answers = true
                    out.labs = try? session.client.labs()
                } else if r.ready {
                    out.answers = false
                }
            }
            if output.json { return try printJSON(out) }
            switch out.state {
            case "absent":
                print("no lab VM is running (the first `lblab up LAB` on a kernel without IPVS boots one)")
            case "gone":
                print("the lab VM (vng pid \(out.vngPID.map(String.init) ?? "?")) is gone: QEMU crashed or was killed; its state is left in \(out.directory)")
                print("the next lblab command removes it, or `lblab vm stop` now")
            default:
                print("lab VM \(out.state): QEMU pid \(out.qemuPID!), vng pid \(out.vngPID!), kernel \(out.kernel ?? "?")")
                if let t = out.bootedAt {
                    print("booted \(ISO8601DateFormatter().string(from: t))" + (out.bootSeconds.map { String(format: " in %.1f s", $0) } ?? ""))
                }
                print("control channel 127.0.0.1:\(out.port ?? 0) (QEMU user networking, restrict=on)" + (out.answers == false ? ": NOT ANSWERING (`lblab vm stop`)" : ""))
                let labs = out.labs ?? []
                print("labs: \(labs.isEmpty ? "none" : labs.joined(separator: ", "))")
                print("by hand: lblab vm shell (a shell in the VM), lblab vm exec -- CMD; state and console log in \(out.directory)")
            }
        }
    }
}

struct VMStop: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop the lab VM, and with it every lab in it.")

    func run() throws {
        try reportingErrors {
            try LabRuntime.requireRoot()
            guard let (condition, labs) = try LabVM().stop() else { return print("no lab VM is running") }
            switch condition {
            case .running(_, let qemu):
                print("stopped the lab VM (QEMU pid \(qemu))" + (labs.isEmpty ? "" : " and the labs in it: \(labs.joined(separator: ", "))"))
            case .gone(let r):
                print("removed the state of a lab VM that was gone already" + (r.map { " (vng pid \($0.pid))" } ?? ""))
            case .absent:
                print("no lab VM is running")
            }
        }
    }
}

struct VMExec: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec", abstract: "Run a command in the lab VM (its root namespace), e.g. lblab vm exec -- ip netns list.")
    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.") var command: [String] = []

    func run() throws {
        guard !command.isEmpty else { throw ValidationError("give the command after --, e.g. lblab vm exec -- ip netns list") }
        guard try VMForward.run(command, kind: .exec, boot: false, lab: nil, stdin: true, passStatus: true, quiet: true) else {
            try reportingErrors { throw LabVMError.notRunning }
            return
        }
    }
}

struct VMShell: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shell", abstract: "A shell in the lab VM (no terminal: line by line; `exit` or Ctrl-D leaves).")

    func run() throws {
        guard VMForward.vmMayRun else { return try reportingErrors { throw LabVMError.notRunning } }
        FileHandle.standardError.write(Data("lblab: a shell in the lab VM: labs are in `ip netns list`, e.g. ip netns exec lblab-LAB-NODE sh; lblab is on PATH; exit or Ctrl-D leaves\n".utf8))
        guard try VMForward.run(["/bin/sh", "-i"], kind: .exec, boot: false, lab: nil, stdin: true, passStatus: true, quiet: true,
                                environment: ["PS1": "lblab-vm# "]) else {
            try reportingErrors { throw LabVMError.notRunning }
            return
        }
    }
}

/// The agent inside the VM (started by the VM's boot command, not by users).
struct VMServe: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the lab VM's agent (inside the VM).", shouldDisplay: false)
    @Option(help: "The lab VM's state directory (shared with the host).") var dir: String

    func run() throws {
        do {
            guard KernelVM.isInside else { throw LabVMError.agent("`lblab vm serve` runs inside the lab VM only") }
            try LabVMAgent.configureNetwork()
            let token = try String(contentsOfFile: "\(dir)/token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let agent = LabVMAgent(token: token, lblabPath: executablePath, workDirectory: "/run/lblab-vm/requests",
                                   path: "/run/lblab-vm/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            let (fd, port) = try agent.listen()
            let uptime = (try? String(contentsOfFile: "/proc/uptime", encoding: .utf8))?.split(separator: " ").first ?? "?"
            print("lblab vm serve: listening on \(agent.listenAddress):\(port) (\(uptime) s after the VM's kernel started)")
            fflush(nil)  // every C stream: the console log shows this line at once
            try agent.serve(listening: fd)
            print("lblab vm serve: stopped")
        } catch {
            print("lblab vm serve: \(error)")
            throw Exit.error
        }
    }
}

// MARK: - Forwarding the lab commands

/// How the lab commands reach a lab in the lab VM. Each command calls its hook first; the
/// hook returns false when the command runs natively (the kernel has IPVS, or we are in the VM).
enum VMForward {
    /// True when a command that builds a lab must use the lab VM.
    static var ipvsMissing: Bool { !KernelVM.isInside && !Kernel.loadIPVS() }

    /// True when a lab VM may be there (its state directory exists): one stat, so where the
    /// kernel has IPVS the commands run exactly as before.
    static var vmMayRun: Bool { !KernelVM.isInside && FileManager.default.fileExists(atPath: LabVM().directory) }

    static func note(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// The lab file, to send with the request (the VM does not see the host's /run, and
    /// sees its /tmp only as it was at boot).
    static func labFile(_ spec: LabSpec) throws -> [String: Data] {
        guard let source = spec.source, let data = FileManager.default.contents(atPath: source) else {
            throw LabVMError.agent("cannot read the lab file of \(spec.name) to send it to the lab VM")
        }
        return ["\(spec.name).yaml": data]
    }

    /// Runs `argv` in the lab VM (lblab's own command, or with `.exec` a program), output and
    /// exit status passed through, standard input and Ctrl-C passed on. With `boot`, boots
    /// the VM when none runs; otherwise returns false when none runs. `captures` names a
    /// host directory the command's `--captures` output goes to.
    static func run(_ argv: [String], kind: LabVMRequest.Kind = .lblab, files: [String: Data] = [:], boot: Bool, lab: String?, node: String? = nil,
                    stdin: Bool = false, passStatus: Bool = false, quiet: Bool = false, captures: String? = nil,
                    junit: String? = nil, environment extra: [String: String] = [:]) throws -> Bool {
        guard boot || vmMayRun else { return false }
        var handled = true
        // With a JUnit report to write, the caller reports the error itself (and puts it in the report).
        try (junit == nil ? reportingErrors : { try $0() }) {
            let signals = try SignalRelay()
            defer { signals.restore() }
            let vm = LabVM()
            let session: LabVM.Session
            do {
                if boot {
                    session = try vm.ensureRunning(binary: executablePath, signals: signals, note: note)
                } else {
                    guard let s = try vm.attach(signals: signals, note: note) else { handled = false; return }
                    session = s
                }
            } catch LabVMError.interrupted(let sig) {
                note("lblab: \(LabVMError.interrupted(signal: sig))")
                throw ExitCode(128 + sig)  // as the shell reports a command ended by a signal
            }
            if vm.runsOtherBuild(session.record, than: executablePath) {
                note("lblab: note: the lab VM runs another lblab build (\(session.record.binary) as it was at its boot): `lblab vm stop` (its labs go with it) makes the next command use this one")
            }
            if !quiet {
                let reach = lab.map { "`lblab vm shell`, then `ip netns exec \(LabNames.namespace(lab: $0, node: node ?? "NODE")) CMD`" } ?? "`lblab vm shell`"
                note("lblab: \(lab.map { "lab \($0) lives" } ?? "the labs live") in the lab VM (QEMU pid \(session.qemuPID), kernel \(URL(fileURLWithPath: session.record.kernel).lastPathComponent.replacingOccurrences(of: "vmlinuz-", with: ""))) as this kernel has no IPVS; by hand: \(reach)")
            }

            // Captures: written into the shared state directory, then moved where the user asked.
            var args = argv
            var rewrites: [(String, String)] = []
            var share: String?
            if let captures {
                let dir = "\(vm.shareDirectory)/\(getpid())-\(Int(Date().timeIntervalSince1970))"
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                share = dir
                args += ["--captures", dir]
                let target = URL(fileURLWithPath: captures).standardizedFileURL.path
                rewrites = [(dir, target), (dir.replacingOccurrences(of: "/", with: "\\/"), target.replacingOccurrences(of: "/", with: "\\/"))]
                // The JUnit report too, next to them, then moved to where the user asked.
                if junit != nil { args += ["--junit", "\(dir)/\(junitShareName)"] }
            }
            var env = extra
            for key in ["TERM", "LANG", "LC_ALL", "LBLAB_LOG", "COLUMNS"] {
                if let v = ProcessInfo.processInfo.environment[key] { env[key] = v }
            }
            let request = LabVMRequest(token: session.client.token, kind: kind, argv: args, cwd: FileManager.default.currentDirectoryPath,
                                       environment: env, files: files, stdin: stdin)
            let writer = OutputRewriter(rewrites)
            let outcome = try session.client.run(request, stdinFD: 0, signals: signals) { writer.write($0, $1) }
            writer.flush()
            if let share, let junit {
                let written = "\(share)/\(junitShareName)"
                if FileManager.default.fileExists(atPath: written) {
                    try? FileManager.default.removeItem(atPath: junit)
                    try FileManager.default.moveItem(atPath: written, toPath: junit)
                }
            }
            if let share, let captures { try moveCaptures(from: share, to: captures) }

            var stoppedRecord: LabVM.Record?
            if outcome == .lost, case .gone = vm.condition() {
                note(vm.goneNote())
                _ = try? vm.stop()
            } else {
                stoppedRecord = vm.stopIfIdle(session)
            }
            if stoppedRecord != nil {
                note("lblab: no lab is left in the lab VM: stopped it (QEMU pid \(session.qemuPID))")
            }
            let command = (kind == .lblab ? ["lblab"] : []) + argv
            switch outcome {
            case .exited(let code):
                // lblab's own statuses (0, 1, 2) pass; so does what a forwarded signal caused.
                if passStatus || code <= 2 || signals.received.contains(code - 128) {
                    if code != 0 { throw ExitCode(code) }
                } else {
                    throw LabVMError.agent("`\(command.joined(separator: " "))` ended with status \(code) in the lab VM: lblab could not run there (see its messages above)")
                }
            case .killed(let sig):
                if passStatus || signals.received.contains(sig) { throw ExitCode(128 + sig) }
                throw LabVMError.agent("lblab crashed in the lab VM (signal \(sig)) running `\(command.joined(separator: " "))`")
            case .failed(let why):
                throw LabVMError.agent(why)
            case .lost:
                throw LabVMError.lost(command: command.joined(separator: " "), stillRunning: stoppedRecord == nil && { if case .running = vm.condition() { return true }; return false }(),
                                      log: vm.consolePath)
            }
        }
        return handled
    }

    /// The name of `lblab test --junit`'s report in the share directory.
    static let junitShareName = "lblab-junit.xml"

    /// Moves the files a command wrote into `share` to the user's `target` directory.
    static func moveCaptures(from share: String, to target: String) throws {
        let fm = FileManager.default
        defer { try? fm.removeItem(atPath: share) }
        try fm.createDirectory(atPath: target, withIntermediateDirectories: true)
        for name in (try? fm.contentsOfDirectory(atPath: share)) ?? [] {
            let dest = "\(target)/\(name)"
            try? fm.removeItem(atPath: dest)
            try fm.copyItem(atPath: "\(share)/\(name)", toPath: dest)
        }
    }
}

extension LabVM {
    func goneNote() -> String {
        "lblab: the lab VM stopped under the command (QEMU crashed or was killed): its labs are gone; removed its state"
    }
}

/// Writes a command's output through, replacing host paths the VM printed for the paths the
/// user sees (whole lines at a time when there is something to replace).
final class OutputRewriter {
    let pairs: [(String, String)]
    var pending: [LabVMClient.Stream: [UInt8]] = [:]

    init(_ pairs: [(String, String)]) { self.pairs = pairs }

    func write(_ stream: LabVMClient.Stream, _ bytes: [UInt8]) {
        let fd: Int32 = stream == .stdout ? 1 : 2
        guard !pairs.isEmpty else { return emit(fd, bytes) }
        var buf = (pending[stream] ?? []) + bytes
        if let last = buf.lastIndex(of: UInt8(ascii: "\n")) {
            emit(fd, rewrite(Array(buf[...last])))
            buf.removeFirst(last + 1)
        }
        pending[stream] = buf
    }

    func flush() {
        for (stream, buf) in pending where !buf.isEmpty { emit(stream == .stdout ? 1 : 2, rewrite(buf)) }
        pending = [:]
    }

    func rewrite(_ bytes: [UInt8]) -> [UInt8] {
        var text = String(decoding: bytes, as: UTF8.self)
        for (from, to) in pairs { text = text.replacingOccurrences(of: from, with: to) }
        return Array(text.utf8)
    }

    private func emit(_ fd: Int32, _ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 { if errno == EINTR { continue }; return }
            off += n
        }
    }
}

// MARK: - The hooks at the top of each lab command

extension Up {
    /// `lblab up` on a kernel without IPVS: builds the lab in the lab VM (booting it first).
    func forwardedToVM() throws -> Bool {
        guard !dryRun, VMForward.ipvsMissing else { return false }
        var spec: LabSpec?
        try reportingErrors {
            spec = try loadLab(lab, settings: settings.settings)  // the lab file is checked here, natively
            try LabRuntime.requireRoot()
        }
        guard let spec, spec.mode.usesIPVS else { return false }   // a DNS lab needs no IPVS: it runs here
        let args = ["up", LabVMRequest.fileArgument("\(spec.name).yaml")] + settings.settings.flatMap { ["--set", $0] }
            + (explain ? ["--explain"] : []) + (output.json ? ["--json"] : [])
        var files: [String: Data] = [:]
        try reportingErrors { files = try VMForward.labFile(spec) }
        return try VMForward.run(args, files: files, boot: true, lab: spec.name)
    }
}

extension Test {
    /// `lblab test` on a kernel without IPVS: the same lab VM as `up` (booted for the test
    /// when none runs, and stopped after it when it holds no lab). Errors are thrown, not printed:
    /// `run()` prints them and puts them in the JUnit report.
    func forwardedToVM() throws -> Bool {
        guard !noVM, VMForward.ipvsMissing else { return false }
        let spec = try loadLab(lab, settings: settings.settings)
        guard spec.mode.usesIPVS else { return false }   // a DNS lab needs no IPVS: it runs here
        try LabRuntime.requireRoot()
        let args = ["test", LabVMRequest.fileArgument("\(spec.name).yaml")] + settings.settings.flatMap { ["--set", $0] }
            + (keep ? ["--keep"] : []) + (output.json ? ["--json"] : [])
        let files = try VMForward.labFile(spec)
        do {
            return try VMForward.run(args, files: files, boot: true, lab: spec.name, captures: captures ?? "/tmp/lblab-captures/\(spec.name)",
                                     junit: junit)
        } catch let exit as ExitCode {
            // lblab in the VM writes the report whatever its verdicts: none means it never got that
            // far (the VM ended under it, or lblab could not run there).
            if let junit, !FileManager.default.fileExists(atPath: junit) { throw VMWroteNoReport(status: exit.rawValue) }
            throw exit
        }
    }
}

extension Status {
    func forwardedToVM() throws -> Bool {
        guard VMForward.vmMayRun else { return false }
        var name: String?
        if let lab { try reportingErrors { name = try labName(lab).name } }
        return try VMForward.run(["status"] + (name.map { [$0] } ?? []) + (output.json ? ["--json"] : []), boot: false, lab: name)
    }
}

extension Exec {
    func forwardedToVM() throws -> Bool {
        guard VMForward.vmMayRun, !command.isEmpty else { return false }
        var name = lab
        try reportingErrors { name = try labName(lab).name }
        return try VMForward.run(["exec", name, node, "--"] + command, boot: false, lab: name, node: node, stdin: true, passStatus: true)
    }
}

extension Down {
    func forwardedToVM() throws -> Bool {
        guard VMForward.vmMayRun else { return false }
        var name = lab
        try reportingErrors { name = try labName(lab).name }
        return try VMForward.run(["down", name] + (explain ? ["--explain"] : []) + (output.json ? ["--json"] : []), boot: false, lab: name)
    }
}

extension Clean {
    /// `lblab clean` stops the lab VM (and so every lab in it) before cleaning the host.
    func forwardedToVM() throws -> Bool {
        guard VMForward.vmMayRun else { return false }
        try reportingErrors {
            try LabRuntime.requireRoot()
            guard let (condition, labs) = try LabVM().stop() else { return }
            switch condition {
            case .running(_, let qemu):
                VMForward.note("lblab: stopped the lab VM (QEMU pid \(qemu))" + (labs.isEmpty ? "" : " and with it its labs (\(labs.joined(separator: ", ")))") + "; now this host:")
            case .gone, .absent:
                VMForward.note("lblab: removed the state of a lab VM that was gone already; now this host:")
            }
        }
        return false
    }
}
