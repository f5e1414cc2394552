import Foundation
import LblabSystem

/// The lab VM: where the running kernel has no IPVS, lblab boots a kernel that has it
/// (`KernelVM`) in the background, once, and runs its labs in there until the last one is
/// down. lblab owns it: its state is `<state dir>/.vm/` (`/run/lblab/.vm`), its processes
/// (vng, virtme-run, QEMU) form one process group tagged `lblab-vm`.
///
/// The host talks to an agent in the VM (`lblab vm serve`, the host's binary copied into the
/// VM's memory) over QEMU user networking restricted to one forward, 127.0.0.1:PORT on the
/// host to the agent; the agent only answers requests that carry the token kept in the
/// state directory (root only). The VM sees the host's root read-only, and the state
/// directory read-write.
public struct LabVM: Sendable {
    /// The state directory (shared with the VM at the same path).
    public var directory: String
    let lockRoot: String

    /// Tags the VM's processes (vng --name, QEMU -name) and its host name.
    public static let name = "lblab-vm"
    /// Where the agent keeps lblab and request files inside the VM (its own memory).
    static let guestHome = "/run/lblab-vm"

    public init(store: StateStore = StateStore()) {
        directory = "\(store.root)/.vm"
        lockRoot = store.root
    }

    var recordPath: String { "\(directory)/vm.json" }
    var tokenPath: String { "\(directory)/token" }
    public var consolePath: String { "\(directory)/console.log" }
    /// Host directory for files a command in the VM writes for the host (captures).
    public var shareDirectory: String { "\(directory)/share" }

    // MARK: - State

    /// What lblab knows about the running VM.
    public struct Record: Codable, Sendable {
        /// vng's pid: the leader of the VM's process group.
        public var pid: Int32
        public var port: UInt16
        public var kernel: String
        public var vng: String
        /// The lblab binary the VM runs, and its size and modification time when booted.
        public var binary: String
        public var binaryStamp: String
        public var bootedAt: Date
        public var bootSeconds: Double?
        /// Whether the agent answered once (a record that never did is a boot that died).
        public var ready: Bool
        /// The labs in the VM, as last seen.
        public var labs: [String]
        public var memory: String
        public var cpus: Int
        public var kvm: Bool
    }

    /// Where the VM stands.
    public enum Condition: Sendable {
        case absent
        /// QEMU is running (`qemuPID`).
        case running(Record, qemuPID: Int32)
        /// State is left but QEMU is gone (crashed, killed, or a boot that was cut short).
        case gone(Record?)
    }

    func loadRecord() -> Record? {
        guard let data = FileManager.default.contents(atPath: recordPath) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return try? decoder.decode(Record.self, from: data)
    }

    func save(_ record: Record) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(record).write(to: URL(fileURLWithPath: recordPath), options: .atomic)
    }

    /// The VM's processes still alive (vng, virtme-run, QEMU).
    func processes(_ record: Record) -> [(pid: Int32, commandLine: String)] {
        HostProcess.members(ofGroup: record.pid, marker: Self.name)
    }

    public func condition() -> Condition {
        guard FileManager.default.fileExists(atPath: directory) else { return .absent }
        guard let record = loadRecord() else { return .gone(nil) }
        let isQEMU = { (line: String) in (line.split(separator: " ").first?.split(separator: "/").last ?? "").hasPrefix("qemu-system") }
        if let qemu = processes(record).first(where: { isQEMU($0.commandLine) }) {
            return .running(record, qemuPID: qemu.pid)
        }
        return .gone(record)
    }

    func token() throws -> String {
        guard let t = try? String(contentsOfFile: tokenPath, encoding: .utf8), !t.isEmpty else {
            throw LabVMError.noToken(path: tokenPath)
        }
        return t.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func client(_ record: Record) throws -> LabVMClient { LabVMClient(port: record.port, token: try token()) }

    // MARK: - Locks

    /// `.vm.lock` serializes boot and stop; `.vm.users` is held shared by every command
    /// using the VM, so the VM is stopped for being idle only when nobody uses it.
    final class FileLock {
        let fd: Int32
        init?(_ path: String, exclusive: Bool, wait: Bool) throws {
            fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw SystemCallError(call: "open \(path)", errno: errno) }
            var op = exclusive ? LOCK_EX : LOCK_SH
            if !wait { op |= LOCK_NB }
            while flock(fd, op) != 0 {
                if errno == EINTR { continue }
                close(fd)
                return nil
            }
        }
        deinit { close(fd) }
    }

    func bootLock(wait: Bool = true) throws -> FileLock? {
        try FileManager.default.createDirectory(atPath: lockRoot, withIntermediateDirectories: true)
        return try FileLock("\(lockRoot)/.vm.lock", exclusive: true, wait: wait)
    }

    /// The boot lock, waiting (and saying so) while another lblab process boots or stops the
    /// VM; a signal taken meanwhile ends the wait.
    func bootLock(signals: SignalRelay?, note: (String) -> Void) throws -> FileLock {
        if let lock = try bootLock(wait: false) { return lock }
        note("lblab: another lblab process is booting or stopping the lab VM: waiting for it")
        while true {
            if let sig = signals?.take() { throw LabVMError.interrupted(signal: sig) }
            usleep(200_000)
            if let lock = try bootLock(wait: false) { return lock }
        }
    }

    func usersLock(exclusive: Bool) throws -> FileLock? {
        try FileLock("\(lockRoot)/.vm.users", exclusive: exclusive, wait: !exclusive)
    }

    /// A command's use of the running VM: holds it against an idle stop until released.
    public final class Session {
        public let record: Record
        public let client: LabVMClient
        /// Whether this command booted the VM.
        public let booted: Bool
        public let qemuPID: Int32
        var users: FileLock?

        init(record: Record, client: LabVMClient, booted: Bool, qemuPID: Int32, users: FileLock?) {
            self.record = record
            self.client = client
            self.booted = booted
            self.qemuPID = qemuPID
            self.users = users
        }

        func release() { users = nil }
    }

    // MARK: - Use

    /// The running VM for a command that needs one, booting it when there is none. A VM
    /// that is gone (crashed) is cleaned away first, and `note` says so.
    public func ensureRunning(binary: String, signals: SignalRelay?, note: (String) -> Void) throws -> Session {
        let mutex = try bootLock(signals: signals, note: note)
        return try withExtendedLifetime(mutex) {
            if let session = try attachLocked(note: note) { return session }
            let record = try boot(binary: binary, signals: signals, note: note)
            let users = try usersLock(exclusive: false)
            guard case .running(_, let qemu) = condition() else {
                throw LabVMError.bootFailed(reason: "QEMU ended right after the boot", log: consolePath, tail: consoleTail(), fix: Self.genericFix)
            }
            return Session(record: record, client: try client(record), booted: true, qemuPID: qemu, users: users)
        }
    }

    /// The running VM, or nil when there is none (a VM that is gone is cleaned away, and
    /// `note` says so).
    public func attach(signals: SignalRelay? = nil, note: (String) -> Void) throws -> Session? {
        guard FileManager.default.fileExists(atPath: directory) else { return nil }  // the common case, without a lock
        let mutex = try bootLock(signals: signals, note: note)
        return try withExtendedLifetime(mutex) { try attachLocked(note: note) }
    }

    private func attachLocked(note: (String) -> Void) throws -> Session? {
        switch condition() {
        case .absent:
            return nil
        case .gone(let record):
            note(goneMessage(record))
            removeAll(record)
            return nil
        case .running(let record, let qemu):
            guard record.ready else {
                // The boot lock is ours, so whoever booted this VM stopped waiting for it.
                note("lblab: a boot of the lab VM (QEMU pid \(qemu)) was cut short: stopped it")
                removeAll(record)
                return nil
            }
            let client = try client(record)
            guard client.ping(timeout: 20) else { throw LabVMError.notAnswering(qemuPID: qemu, port: record.port, log: consolePath) }
            return Session(record: record, client: client, booted: false, qemuPID: qemu, users: try usersLock(exclusive: false))
        }
    }

    func goneMessage(_ record: Record?) -> String {
        guard let record else { return "lblab: found the state of a lab VM that is gone (\(directory)): removed it" }
        let labs = record.labs.isEmpty ? "" : "; its labs (\(record.labs.joined(separator: ", "))) went with it"
        return "lblab: the lab VM (vng pid \(record.pid), booted \(Self.clock(record.bootedAt))) is gone: QEMU crashed or was killed\(labs). Removed its state"
    }

    static func clock(_ date: Date) -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return f.string(from: date)
    }

    /// After a command: when nobody else uses the VM and no lab is left in it, stops it and
    /// returns its record. Also records which labs it holds.
    @discardableResult
    public func stopIfIdle(_ session: Session) -> Record? {
        session.release()
        guard let mutex = (try? bootLock(wait: false)) ?? nil, let users = (try? usersLock(exclusive: true)) ?? nil else { return nil }
        return withExtendedLifetime((mutex, users)) {
            guard case .running(var record, _) = condition() else { return nil }
            guard let labs = try? session.client.labs() else { return nil }
            if labs.isEmpty {
                removeAll(record)
                return record
            }
            if labs != record.labs {
                record.labs = labs
                try? save(record)
            }
            return nil
        }
    }

    /// Stops the VM whatever it is doing (`lblab vm stop`, `lblab clean`): what it was, or nil.
    public func stop() throws -> (Condition, labs: [String])? {
        guard FileManager.default.fileExists(atPath: directory) else { return nil }
        // A boot in progress holds the lock: wait for it, then stop what it booted.
        let mutex = try bootLock()
        return withExtendedLifetime(mutex) {
            let condition = condition()
            var labs: [String] = []
            switch condition {
            case .absent: return nil
            case .gone(let record): removeAll(record)
            case .running(let record, _):
                labs = (try? client(record).labs(timeout: 5)) ?? record.labs
                removeAll(record)
            }
            return (condition, labs)
        }
    }

    /// Ends the VM's processes (SIGTERM, then SIGKILL after 10 s) and removes its state.
    func removeAll(_ record: Record?) {
        if let record {
            var left = processes(record)
            for p in left { kill(p.pid, SIGTERM) }
            let deadline = Date().addingTimeInterval(10)
            while !left.isEmpty && Date() < deadline {
                _ = waitpid(record.pid, nil, WNOHANG)
                usleep(20_000)
                left = processes(record)
            }
            for p in left { kill(p.pid, SIGKILL) }
            for _ in 0..<250 where !processes(record).isEmpty {
                _ = waitpid(record.pid, nil, WNOHANG)
                usleep(20_000)
            }
            _ = waitpid(record.pid, nil, WNOHANG)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// What `lblab doctor --vm` found.
    public struct Probe: Sendable {
        public var booted: Bool
        public var bootSeconds: Double
        public var qemuPID: Int32
        /// The first line of /proc/net/ip_vs in the VM after `modprobe ip_vs`.
        public var ipvs: String
        public var stoppedAgain: Bool
    }

    /// Boots the VM (or takes the running one), loads ip_vs in it, and stops it again when it
    /// holds no lab.
    public func probe(binary: String, note: (String) -> Void) throws -> Probe {
        let session = try ensureRunning(binary: binary, signals: nil, note: note)
        let request = LabVMRequest(token: session.client.token, kind: .exec,
                                   argv: ["/bin/sh", "-c", "modprobe ip_vs 2>&1 && head -n 1 /proc/net/ip_vs 2>&1"])
        let result = Result { try session.client.call(request, timeout: 120) }
        let stopped = stopIfIdle(session) != nil
        let (outcome, text) = try result.get()
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard outcome == .exited(0), line.hasPrefix("IP Virtual Server") else {
            throw LabVMError.agent("the lab VM booted, but `modprobe ip_vs` failed in it (\(outcome)): \(line)")
        }
        return Probe(booted: session.booted, bootSeconds: session.record.bootSeconds ?? 0, qemuPID: session.qemuPID, ipvs: line, stoppedAgain: stopped)
    }

    // MARK: - Boot

    static let genericFix = "`lblab doctor --vm` checks every prerequisite and boots the VM once; ci/setup.sh installs them"

    /// Boots the VM (with the boot lock held) and waits until its agent answers.
    func boot(binary: String, signals: SignalRelay?, note: (String) -> Void) throws -> Record {
        let (checks, found) = KernelVM.inspect()
        guard let vm = found else {
            let missing = checks.filter { !$0.ok }
            throw LabVMError.missing(missing.map { "\($0.name): \($0.detail)" }, fixes: missing.compactMap(\.fix))
        }
        let env = ProcessInfo.processInfo.environment
        let memory = env["LBLAB_VM_MEMORY"] ?? "2G"
        let cpus = Int(env["LBLAB_VM_CPUS"] ?? "") ?? 2
        let kvm = env["LBLAB_VM_KVM"] == "1"
        let timeout = Double(env["LBLAB_VM_BOOT_TIMEOUT"] ?? "") ?? 300
        note("lblab: this kernel (\(Kernel.release)) has no IPVS: booting the lab VM (\(vm.kernel), QEMU \(kvm ? "with KVM" : "without KVM"), \(cpus) vCPUs, \(memory); it stays up while a lab is up)")

        var lastError: Error?
        for _ in 0..<2 {  // a second try only when the port was taken in between
            do {
                return try bootOnce(vm: vm, binary: binary, memory: memory, cpus: cpus, kvm: kvm, timeout: timeout, signals: signals, note: note)
            } catch LabVMError.portTaken {
                lastError = LabVMError.portTaken
                continue
            }
        }
        throw lastError ?? LabVMError.portTaken
    }

    private func bootOnce(vm: KernelVM, binary: String, memory: String, cpus: Int, kvm: Bool, timeout: Double,
                          signals: SignalRelay?, note: (String) -> Void) throws -> Record {
        let fm = FileManager.default
        try? fm.removeItem(atPath: directory)
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try fm.createDirectory(atPath: shareDirectory, withIntermediateDirectories: true)
        let token = try Self.randomToken()
        guard fm.createFile(atPath: tokenPath, contents: Data(token.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw LabVMError.noToken(path: tokenPath)
        }
        let port = try Self.freePort()
        // The binary the VM copies into its memory: the VM sees the host's root, but not its /run.
        var source = binary
        if binary.hasPrefix("/run/") || binary.hasPrefix("/dev/") {
            source = "\(directory)/lblab"
            try fm.copyItem(atPath: binary, toPath: source)
        }
        let bin = "\(Self.guestHome)/bin/lblab"
        // (The uptimes show where a slow boot spends its time: the kernel and init, or the copy.)
        let script = "read up _ < /proc/uptime; echo \"lblab vm: kernel up $up s, copying lblab into memory\"; "
            + "mkdir -p \(Self.guestHome)/bin && cp \(shellQuote(source)) \(bin) && "
            + "\(KernelVM.insideMarker)=1 exec \(bin) vm serve --dir \(shellQuote(directory))"
        var argv = [vm.vng, "-r", vm.kernel]
        if !kvm { argv.append("--disable-kvm") }
        argv += ["--force-9p", "--memory", memory, "--cpus", "\(cpus)", "--name", Self.name, "--cwd", "/", "--rwdir", directory,
                 // User networking with no way out (restrict=on) but the host's forward to the agent.
                 "--qemu-opts=-netdev user,id=lblab,restrict=on,hostfwd=tcp:127.0.0.1:\(port)-\(LabVMAgent.guestAddress):\(LabVMAgent.guestPort) -device virtio-net-pci,netdev=lblab",
                 "--exec", script]
        let log = open(consolePath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard log >= 0 else { throw SystemCallError(call: "open \(consolePath)", errno: errno) }
        defer { close(log) }
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: KernelVM.insideMarker)
        // vng starts virtme-run through /bin/sh, so its own directory must be on PATH.
        let vngBin = URL(fileURLWithPath: vm.vng).deletingLastPathComponent().path
        environment["PATH"] = "\(vngBin):\(environment["PATH"] ?? "/usr/bin:/bin"):/usr/sbin:/sbin"
        let t0 = Date()
        let pid = try HostProcess.startDetached(argv, environment: environment, logFD: log)
        var record = Record(pid: pid, port: port, kernel: vm.kernel, vng: vm.vng, binary: binary, binaryStamp: Self.stamp(binary),
                            bootedAt: t0, bootSeconds: nil, ready: false, labs: [], memory: memory, cpus: cpus, kvm: kvm)
        try save(record)
        let client = LabVMClient(port: port, token: token)
        while true {
            if let sig = signals?.take() {
                removeAll(record)
                throw LabVMError.interrupted(signal: sig)
            }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let tail = consoleTail()
                removeAll(record)
                if tail.contains(where: { $0.contains("host forwarding rule") || $0.contains("Could not set up host forwarding") }) { throw LabVMError.portTaken }
                throw Self.diagnose(tail, log: consolePath)
            }
            if client.ping(timeout: 3) { break }
            if Date().timeIntervalSince(t0) > timeout {
                let tail = consoleTail()
                removeAll(record)
                throw LabVMError.bootTimeout(seconds: timeout, log: consolePath, tail: tail)
            }
            usleep(250_000)
        }
        record.ready = true
        record.bootSeconds = Date().timeIntervalSince(t0)
        try save(record)
        if source != binary { try? fm.removeItem(atPath: source) }
        note(String(format: "lblab: the lab VM is up (booted in %.1f s; QEMU user networking with no way out, control channel 127.0.0.1:%d)", record.bootSeconds!, port))
        return record
    }

    /// The cause and the fix of a boot that ended, from the console's last lines.
    static func diagnose(_ tail: [String], log: String) -> LabVMError {
        let text = tail.joined(separator: "\n")
        let known: [(String, String, String)] = [
            ("no busybox was found", "virtme-ng found no busybox for the VM's initramfs", "apt-get install busybox-static"),
            ("qemu-system", "QEMU could not start", "apt-get install qemu-system-x86; " + genericFix),
            ("virtme-run: not found", "vng could not start virtme-run", "reinstall virtme-ng: rm -rf /opt/lblab-vng && ci/setup.sh"),
            ("Kernel panic", "the VM's kernel panicked", "check the kernel named in the log (`lblab doctor --vm`), or set LBLAB_VM_KERNEL to another /boot/vmlinuz-*"),
            ("lblab vm serve:", "the agent in the VM could not start", genericFix),
        ]
        for (needle, reason, fix) in known where text.contains(needle) {
            return .bootFailed(reason: reason, log: log, tail: tail, fix: fix)
        }
        return .bootFailed(reason: "the VM stopped before its agent answered", log: log, tail: tail, fix: genericFix)
    }

    /// The console log's last lines (QEMU pads the guest's output with NULs).
    public func consoleTail(_ lines: Int = 12) -> [String] {
        guard let data = FileManager.default.contents(atPath: consolePath) else { return [] }
        let text = String(decoding: data.filter { $0 != 0 && $0 != 0x0d }, as: UTF8.self)
        return Array(text.split(separator: "\n").map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.suffix(lines))
    }

    static func randomToken() throws -> String {
        guard let h = FileHandle(forReadingAtPath: "/dev/urandom"), let bytes = try h.read(upToCount: 32), bytes.count == 32 else {
            throw SystemCallError(call: "read /dev/urandom", errno: EIO)
        }
        try? h.close()
        return bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// A TCP port free on 127.0.0.1 right now (the kernel picks it).
    static func freePort() throws -> UInt16 {
        let probe = LabVMAgent(listenAddress: "127.0.0.1", port: 0, token: "", lblabPath: "", workDirectory: "")
        let (fd, port) = try probe.listen()
        close(fd)
        return port
    }

    /// Size and modification time of a file, to tell builds apart.
    static func stamp(_ path: String) -> String {
        guard let a = try? FileManager.default.attributesOfItem(atPath: path) else { return "" }
        let size = (a[.size] as? NSNumber)?.int64Value ?? 0
        let mtime = (a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return "\(size)@\(Int64(mtime))"
    }

    /// Whether the VM runs another build of lblab than `binary`.
    public func runsOtherBuild(_ record: Record, than binary: String) -> Bool {
        record.binary != binary || record.binaryStamp != Self.stamp(binary)
    }
}

/// Why the lab VM could not do what was asked; each names the cause and the fix.
public enum LabVMError: Error, CustomStringConvertible {
    case missing([String], fixes: [String])
    case bootFailed(reason: String, log: String, tail: [String], fix: String)
    case bootTimeout(seconds: Double, log: String, tail: [String])
    case portTaken
    case interrupted(signal: Int32)
    case notAnswering(qemuPID: Int32, port: UInt16, log: String)
    case noAnswer(port: UInt16, seconds: Double)
    case noToken(path: String)
    case busy
    case lost(command: String, stillRunning: Bool, log: String)
    case agent(String)
    case unexpected(what: String, outcome: String)
    case notRunning

    public var description: String {
        switch self {
        case .missing(let what, let fixes):
            return "the lab VM cannot boot: \(what.joined(separator: "; ")). Fix: \(fixes.joined(separator: "; "))"
        case .bootFailed(let reason, let log, let tail, let fix):
            return "the lab VM did not boot: \(reason). Fix: \(fix). Last lines of its console (\(log)):\n" + tail.map { "  | \($0)" }.joined(separator: "\n")
        case .bootTimeout(let s, let log, let tail):
            return "the lab VM did not answer within \(Int(s)) s of starting to boot (a busy host? set LBLAB_VM_BOOT_TIMEOUT to wait longer); stopped it. Last lines of its console (\(log)):\n"
                + tail.map { "  | \($0)" }.joined(separator: "\n")
        case .portTaken:
            return "QEMU could not listen on the port lblab picked for the lab VM (taken twice in a row): run the command again"
        case .interrupted(let sig):
            return "interrupted (signal \(sig)) while waiting for the lab VM (a VM this command was booting is stopped)"
        case .notAnswering(let qemu, let port, let log):
            return "the lab VM (QEMU pid \(qemu)) does not answer on 127.0.0.1:\(port) (console: \(log)): `lblab vm stop` stops it (its labs go with it), then run the command again"
        case .noAnswer(let port, let s):
            return "the lab VM did not answer on 127.0.0.1:\(port) within \(Int(s)) s: `lblab vm status` shows it, `lblab vm stop` stops it"
        case .noToken(let path):
            return "the lab VM's token \(path) cannot be read or written: run lblab as root; `lblab vm stop` removes a broken lab VM"
        case .busy:
            return "another lblab process holds the lab VM's lock: wait for it to finish"
        case .lost(let command, let running, let log):
            return running
                ? "the lab VM's agent closed the connection while running `\(command)`: `lblab vm status` checks it, `lblab vm stop` stops it (console: \(log))"
                : "the lab VM stopped (QEMU crashed or was killed) while running `\(command)`: its labs are gone; the next `lblab up` boots a new one"
        case .agent(let why):
            return why
        case .unexpected(let what, let outcome):
            return "could not \(what): the agent answered \(outcome): `lblab vm stop` stops the lab VM"
        case .notRunning:
            return "no lab VM is running: `lblab up LAB` starts one where this kernel has no IPVS"
        }
    }
}
