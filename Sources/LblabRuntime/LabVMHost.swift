import CLblabSys
import Foundation

/// Host processes of the lab VM: starting programs with their output captured or sent to a
/// file, and finding the VM's processes again in /proc.
enum HostProcess {
    /// Starts `argv` (argv[0] an absolute path) in a session of its own, output to `logFD`,
    /// input from /dev/null, in `cwd`. Returns its pid.
    static func startDetached(_ argv: [String], environment: [String: String], logFD: Int32, cwd: String = "/") throws -> pid_t {
        var cargs = argv.map { strdup($0) } + [nil]
        var cenv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cargs + cenv).forEach { free($0) } }
        let pid = lblab_spawn(argv[0], &cargs, &cenv, cwd, -1, logFD, logFD, 1)
        guard pid > 0 else { throw SystemCallError(call: "start \(argv[0])", errno: errno) }
        return pid
    }

    /// Runs `argv` (argv[0] an absolute path) with our environment plus `environment`, and
    /// returns its exit status and its output (standard output and error together); a run
    /// past `timeout` seconds is killed (status 124).
    static func capture(_ argv: [String], environment: [String: String] = [:], timeout: Double) -> (Int32, String) {
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        var fds: [Int32] = [0, 0]
        guard lblab_pipe_cloexec(&fds) == 0 else { return (-1, "pipe: \(String(cString: strerror(errno)))") }
        var cargs = argv.map { strdup($0) } + [nil]
        var cenv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cargs + cenv).forEach { free($0) } }
        let pid = lblab_spawn(argv[0], &cargs, &cenv, nil, -1, fds[1], fds[1], 1)
        let spawnErrno = errno
        close(fds[1])
        defer { close(fds[0]) }
        guard pid > 0 else { return (-1, "\(argv[0]): \(String(cString: strerror(spawnErrno)))") }
        VMIO.setNonBlocking(fds[0])
        var out: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var open = true
        while open && Date() < deadline {
            var p = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
            _ = poll(&p, 1, 100)
            while true {
                guard let bytes = (try? VMIO.readSome(fds[0])) ?? nil else { open = false; break }
                if bytes.isEmpty { break }
                out += bytes
            }
        }
        if open { kill(-pid, SIGKILL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = open ? 124 : (status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f))
        return (code, String(decoding: out, as: UTF8.self))
    }

    /// Fields of /proc/PID/stat after the command name: [0] state, [2] process group,
    /// [19] start time (clock ticks after boot).
    static func statFields(_ pid: Int32) -> [Substring]? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ")
    }

    static func startTicks(_ pid: Int32) -> UInt64? {
        guard let f = statFields(pid), f.count > 19 else { return nil }
        return UInt64(f[19])
    }

    /// The command line of `pid`, arguments joined by spaces.
    static func commandLine(_ pid: Int32) -> String? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { return nil }
        return String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }

    /// Live processes of process group `group` whose command line contains `marker`.
    static func members(ofGroup group: Int32, marker: String) -> [(pid: Int32, commandLine: String)] {
        guard group > 1, let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { name -> (Int32, String)? in
            guard let pid = Int32(name), let f = statFields(pid), f.count > 2, f[0] != "Z", Int32(f[2]) == group,
                  let line = commandLine(pid), line.contains(marker) else { return nil }
            return (pid, line)
        }.sorted { $0.0 < $1.0 }
    }
}
