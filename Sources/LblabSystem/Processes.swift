import CLblabSys
import Foundation

/// Processes lblab starts and stops: the built-in HTTP agent and a few helpers.
public enum Processes {
    /// The command name (`/proc/PID/comm`) of lblab's built-in HTTP agents.
    public static let agentName = "lblab-agent"

    /// An agent started by `spawnAgent` that has not yet said it listens.
    public struct PendingAgent: Sendable {
        public var pid: Int32
        public var node: String
        var readyFD: Int32
    }

    /// The `lblab-agent` program: `$LBLAB_AGENT`, else next to this executable, else on PATH.
    public static let agentExecutable: String? = {
        let env = ProcessInfo.processInfo.environment
        if let p = env["LBLAB_AGENT"], access(p, X_OK) == 0 { return p }
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            let sibling = URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent(agentName).path
            if access(sibling, X_OK) == 0 { return sibling }
        }
        for dir in (env["PATH"] ?? "").split(separator: ":") where access("\(dir)/\(agentName)", X_OK) == 0 {
            return "\(dir)/\(agentName)"
        }
        return nil
    }()

    /// Starts the `lblab-agent` program in `namespace` without waiting for it (posix_spawn: no
    /// fork of lblab); `waitUntilListening` then waits for it. Without the program, falls back to
    /// forking the built-in agent (which waits at once).
    public static func spawnAgent(in namespace: NetworkNamespace, port: UInt16, nodeName: String) throws -> PendingAgent {
        guard let exe = agentExecutable else {
            return PendingAgent(pid: try startHTTPAgent(in: namespace, port: port, nodeName: nodeName), node: nodeName, readyFD: -1)
        }
        var fd: Int32 = -1
        let pid = lblab_spawn_agent(exe, namespace.fd, port, nodeName, &fd)
        if pid < 0 { throw SystemError("start \(exe) for \(nodeName) in \(namespace.name)") }
        return PendingAgent(pid: pid, node: nodeName, readyFD: fd)
    }

    /// Waits (up to `timeout` seconds) until a spawned agent listens; throws its failure.
    public static func waitUntilListening(_ agent: PendingAgent, port: UInt16, timeout: Double = 10) throws {
        guard agent.readyFD >= 0 else { return }
        let err = lblab_agent_wait_ready(agent.pid, agent.readyFD, Int32(timeout * 1000))
        guard err == 0 else {
            let what = "start the HTTP agent of \(agent.node) on port \(port)"
            if err == ECHILD { throw SystemError(what + ": the agent exited before it listened", errno: ECHILD) }
            throw SystemError(what, errno: err)
        }
    }

    /// Starts many agents from one `lblab-agent --launch` process, which forks each (no exec per
    /// agent: the cost of starting a program, several times a namespace's creation under
    /// emulation, is paid once). Requests are pipelined: `request` returns at once, `pid(of:)`
    /// reads the launcher's replies up to that agent's. Thread-safe.
    public final class AgentLauncher: @unchecked Sendable {
        public let pid: Int32
        private let lock = NSLock()
        private var requests: Int32
        private let replies: Int32
        /// Agents ("node port") whose pid reply is still to be read, in request order.
        private var outstanding: [Key] = []
        private var pids: [Key: Result<Int32, SystemError>] = [:]

        /// One agent: a node's server on a port.
        public struct Key: Hashable, Sendable {
            public var node: String
            public var port: UInt16
            public init(node: String, port: UInt16) { self.node = node; self.port = port }
        }
        private var reaped = false

        public init(executable: String) throws {
            var to: Int32 = -1, from: Int32 = -1
            let pid = lblab_spawn_launcher(executable, &to, &from)
            if pid < 0 { throw SystemError("start \(executable) --launch") }
            self.pid = pid
            requests = to
            replies = from
        }

        deinit { _ = abandon() }

        private static func what(_ key: Key) -> String { "start the HTTP agent of \(key.node) on port \(key.port)" }

        /// Asks for the agent of `nodeName` on `port` in `namespace` (entered by its path).
        public func request(in namespace: NetworkNamespace, port: UInt16, nodeName: String) throws {
            lock.lock()
            defer { lock.unlock() }
            let what = Self.what(Key(node: nodeName, port: port)) + " in \(namespace.name)"
            guard requests >= 0, !nodeName.contains(where: \.isWhitespace), !namespace.path.contains(where: \.isWhitespace) else {
                throw SystemError(what, errno: EINVAL)
            }
            let line = "\(nodeName) \(port) \(namespace.path)\n"
            guard lblab_write_all(requests, line, Int32(line.utf8.count)) == 0 else { throw SystemError(what + " (launcher)") }
            outstanding.append(Key(node: nodeName, port: port))
        }

        /// The requested agent of `nodeName` on `port`, once the launcher has forked it: its pid;
        /// its readiness comes with `finish()`.
        public func agent(of nodeName: String, port: UInt16) throws -> PendingAgent {
            lock.lock()
            defer { lock.unlock() }
            let key = Key(node: nodeName, port: port)
            while pids[key] == nil && !outstanding.isEmpty { readPid() }
            guard let r = pids[key] else { throw SystemError(Self.what(key) + ": never asked for", errno: EINVAL) }
            return PendingAgent(pid: try r.get(), node: nodeName, readyFD: -1)
        }

        /// Reads the next pid reply (lock held).
        private func readPid() {
            let key = outstanding.removeFirst()
            guard let reply = readLine(), let value = Int32(reply) else {
                pids[key] = .failure(SystemError(Self.what(key) + ": the launcher stopped", errno: ECHILD))
                return
            }
            pids[key] = value < 0 ? .failure(SystemError(Self.what(key), errno: -value)) : .success(value)
        }

        /// Ends the launcher's input and waits (10 s at most) until every agent it started listens:
        /// the nodes whose agent did not, with the errno it failed with (those agents are gone).
        public func finish() -> [Key: Int32] {
            lock.lock()
            defer { lock.unlock() }
            if requests >= 0 { close(requests); requests = -1 }
            while !outstanding.isEmpty { readPid() }
            var failedPIDs: [Int32: Int32] = [:]
            while let line = readLine() {
                let parts = line.split(separator: " ")
                if parts.count == 4, parts[0] == "fail", let pid = Int32(parts[1]), let err = Int32(parts[3]) { failedPIDs[pid] = err }
            }
            let status = reap(kill: false)
            let died = status & 0x7f != 0 || (status >> 8) & 0xff > 1
            var failed: [Key: Int32] = [:]
            for (key, r) in pids {
                switch r {
                case .failure(let e): failed[key] = e.errno
                case .success(let pid):
                    if let err = failedPIDs[pid] { failed[key] = err }
                    // A launcher that died (not a plain exit) vouches for nothing it did not report.
                    else if died { failed[key] = ECHILD }
                }
            }
            return failed
        }

        /// Stops the launcher at once, for a rollback: the pids of every agent it started, by node
        /// (they keep running: the caller stops them).
        public func abandon() -> [Key: Int32] {
            lock.lock()
            defer { lock.unlock() }
            if requests >= 0 { close(requests); requests = -1 }
            // The launcher answered every request it read before its input ended: read those.
            while !outstanding.isEmpty { readPid() }
            _ = reap(kill: true)
            return pids.compactMapValues { try? $0.get() }
        }

        /// Waits for the launcher to exit (after SIGKILL with `kill`); its wait status.
        private func reap(kill killIt: Bool) -> Int32 {
            guard !reaped else { return 0 }
            if killIt { kill(pid, SIGKILL) }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            reaped = true
            close(replies)
            return status
        }

        private func readLine() -> String? {
            guard !reaped else { return nil }
            var buf = [CChar](repeating: 0, count: 256)
            let n = lblab_read_line(replies, &buf, Int32(buf.count))
            guard n > 0 else { return nil }
            return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// Gives up on a spawned agent that will not be waited for (its lab is being rolled back):
    /// kills it, reaps it, closes its readiness pipe.
    public static func abandon(_ agent: PendingAgent) {
        if agent.pid > 1 {
            kill(agent.pid, SIGKILL)
            _ = waitpid(agent.pid, nil, 0)
        }
        if agent.readyFD >= 0 { close(agent.readyFD) }
    }

    /// Starts the built-in HTTP agent inside `namespace`, listening on `port` on every
    /// address and answering each request with `nodeName`. Returns once it listens.
    public static func startHTTPAgent(in namespace: NetworkNamespace, port: UInt16, nodeName: String) throws -> Int32 {
        let pid = lblab_spawn_http_agent(namespace.fd, port, nodeName)
        if pid < 0 {
            let what = "start the HTTP agent of \(nodeName) on port \(port) in \(namespace.name)"
            if errno == ECHILD { throw SystemError(what + ": the agent exited before it listened", errno: ECHILD) }
            throw SystemError(what)
        }
        return pid
    }

    /// Whether `pid` is a live process (zombies count as gone).
    public static func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        // The state is the field after the command name in parentheses: /proc/PID/stat.
        guard let stat = readSmallFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: UInt8(ascii: ")")),
              close + 2 < stat.count else { return false }
        let state = stat[close + 2]
        return state != UInt8(ascii: "Z") && state != UInt8(ascii: "X")
    }

    /// The first 4 KiB of a (proc) file, without Foundation.
    static func readSmallFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        return n > 0 ? Array(buf[..<n]) : nil
    }

    /// Stops `pid`: SIGTERM, up to `grace` seconds, then SIGKILL; reaps it if it is our child.
    public static func stop(_ pid: Int32, grace: Double = 1) {
        guard pid > 1, isAlive(pid) else { _ = waitpid(pid, nil, WNOHANG); return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while Date() < deadline {
            _ = waitpid(pid, nil, WNOHANG)
            if !isAlive(pid) { return }
            usleep(1_000)
        }
        kill(pid, SIGKILL)
        for _ in 0..<1000 {
            _ = waitpid(pid, nil, WNOHANG)
            if !isAlive(pid) { return }
            usleep(1_000)
        }
    }

    /// Pids of the processes whose network namespace has one of `inodes`, in one pass over /proc.
    public static func pids(inNamespaceInodes inodes: Set<UInt64>) -> [Int32] {
        let targets = Set(inodes.map { "net:[\($0)]" })
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        var out: [Int32] = []
        var link = [CChar](repeating: 0, count: 64)
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = Int32(name) else { continue }
            let n = readlink("/proc/\(pid)/ns/net", &link, link.count - 1)
            guard n > 0 else { continue }
            let target = String(decoding: link[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if targets.contains(target) && isAlive(pid) { out.append(pid) }
        }
        return out.sorted()
    }

    /// The inode of `pid`'s network namespace (`/proc/PID/ns/net -> net:[N]`).
    public static func namespaceInode(of pid: Int32) -> UInt64? {
        var link = [CChar](repeating: 0, count: 64)
        let n = readlink("/proc/\(pid)/ns/net", &link, link.count - 1)
        guard n > 6 else { return nil }
        let text = String(decoding: link[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard text.hasPrefix("net:["), text.hasSuffix("]") else { return nil }
        return UInt64(text.dropFirst(5).dropLast())
    }

    /// The short command name of `pid` (`/proc/PID/comm`).
    public static func commandName(_ pid: Int32) -> String? {
        readSmallFile("/proc/\(pid)/comm").map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// Runs a helper program (PATH lookup) quietly and returns its exit status.
    public static func runQuietly(_ argv: [String]) -> Int32 {
        var cargs = argv.map { strdup($0) } + [nil]
        defer { cargs.forEach { free($0) } }
        return lblab_run_quiet(&cargs)
    }
}

extension Processes {
    /// Runs `argv` (PATH lookup) with this process's stdin/stdout/stderr and `environment`
    /// added to ours, waits, and returns its exit status.
    public static func runInheriting(_ argv: [String], environment: [String: String] = [:]) throws -> Int32 {
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        var cargs = argv.map { strdup($0) } + [nil]
        var cenv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cargs + cenv).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], nil, nil, &cargs, &cenv)
        guard rc == 0 else { throw SystemError("start \(argv[0])", errno: rc) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { throw SystemError("wait for \(argv[0])") }
        }
        // WIFEXITED / WEXITSTATUS are macros: decode the wait status by hand.
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}
