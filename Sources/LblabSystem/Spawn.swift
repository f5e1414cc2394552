import CLblabSys
import Foundation

extension Processes {
    /// Starts `executable` with `arguments` (argv[0] included) in `namespace` (none: this one), in a
    /// session of its own, standard output and error appended to `output` (none: /dev/null).
    /// Returns once it was executed; throws what stopped it (e.g. ENOENT).
    public static func spawn(_ executable: String, _ arguments: [String], in namespace: NetworkNamespace?, output: String?) throws -> Int32 {
        var fd: Int32 = -1
        if let output {
            fd = open(output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw SystemError("open \(output)") }
        }
        defer { if fd >= 0 { close(fd) } }
        var cargs = arguments.map { strdup($0) } + [nil]
        defer { cargs.forEach { free($0) } }
        let pid = lblab_spawn_in_netns(namespace?.fd ?? -1, executable, &cargs, fd)
        guard pid > 0 else { throw SystemError("start \(executable)" + (namespace.map { " in \($0.name)" } ?? "")) }
        return pid
    }

    /// The full path of `program` on PATH (with the sbin directories, where Debian puts dnsmasq and unbound).
    public static func find(_ program: String) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/local/sbin:/usr/sbin:/sbin"
        for dir in path.split(separator: ":") where access("\(dir)/\(program)", X_OK) == 0 { return "\(dir)/\(program)" }
        return nil
    }

    /// Whether `pid`, alive, has a socket bound to `port` (UDP, or TCP listening) in its network
    /// namespace, IPv4 or IPv6 (lblab's agent listens on one IPv6 socket that takes IPv4 too).
    public static func isServing(_ pid: Int32, port: UInt16, udp: Bool) -> Bool {
        let wanted = String(format: ":%04X", port)
        for file in udp ? ["udp", "udp6"] : ["tcp", "tcp6"] {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/net/\(file)", encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let f = line.split(separator: " ")
                guard f.count > 3, f[1].hasSuffix(wanted) else { continue }
                if udp || f[3] == "0A" { return true }
            }
        }
        return false
    }
}
