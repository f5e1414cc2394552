import CLblabSys
import Foundation

/// A named network namespace, bind-mounted at `/run/netns/<name>` so `ip netns` sees it.
public final class NetworkNamespace: @unchecked Sendable {
    public static let directory = "/run/netns"

    public let name: String
    /// An open descriptor of the namespace, for `setns`.
    public let fd: Int32

    public var path: String { Self.path(of: name) }
    public static func path(of name: String) -> String { "\(directory)/\(name)" }

    /// Opens an existing named namespace.
    public init(opening name: String) throws {
        self.name = name
        fd = try syscall("open network namespace \(Self.path(of: name))") {
            open(Self.path(of: name), O_RDONLY | O_CLOEXEC)
        }
    }

    deinit { close(fd) }

    /// Creates a new named namespace (fails with EEXIST when the name is taken), on the namespace
    /// thread; with `onCallingThread`, on the calling thread instead, which must be a thread of
    /// the caller's own (not a pool thread): creation briefly moves it into the new namespace.
    public static func create(_ name: String, onCallingThread: Bool = false) throws -> NetworkNamespace {
        let create = { _ = try syscall("create network namespace \(path(of: name))") { lblab_netns_create(directory, name) } }
        if onCallingThread { try create() } else { try NamespaceThread.shared.runHere(create) }
        return try NetworkNamespace(opening: name)
    }

    /// Sets the sysctl `key` (e.g. `net.ipv4.ip_forward`) to `value` in the calling thread's
    /// namespace: call it inside `run`. One open and one write, no Foundation.
    public static func setSysctl(_ key: String, _ value: String) throws {
        try syscall("set \(key)=\(value)") { lblab_sysctl_write(key, value) }
    }

    /// Removes a named namespace: the kernel frees it (and every link, address and IPVS rule
    /// in it) once no process or descriptor holds it.
    public static func delete(_ name: String) throws {
        try syscall("delete network namespace \(path(of: name))") { lblab_netns_delete(path(of: name)) }
    }

    public static func exists(_ name: String) -> Bool {
        access(path(of: name), F_OK) == 0
    }

    /// Names of the namespaces under /run/netns that start with `prefix`.
    public static func names(withPrefix prefix: String) -> [String] {
        let all = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return all.filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// The namespace's inode, the number in `/proc/PID/ns/net -> net:[N]`.
    public static func inode(of name: String) -> UInt64? {
        var st = stat()
        guard stat(path(of: name), &st) == 0 else { return nil }
        return UInt64(st.st_ino)
    }

    /// Runs `body` on the calling thread inside this namespace, then returns the thread to the
    /// namespace it was in. For a thread of the caller's own (see `create(_:onCallingThread:)`);
    /// a thread that cannot return stops the process, as it would leak the namespace into later work.
    public func runOnCallingThread<T>(_ body: () throws -> T) throws -> T {
        let home = try syscall("open this thread's network namespace") { open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC) }
        defer { close(home) }
        guard lblab_setns_net(fd) == 0 else { throw SystemError("enter network namespace \(name)") }
        defer {
            if lblab_setns_net(home) != 0 { fatalError("lblab: could not return to the previous network namespace (errno \(errno))") }
        }
        return try body()
    }

    /// Runs `body` on the namespace thread inside this namespace.
    @discardableResult
    public func run<T>(_ body: () throws -> T) throws -> T {
        try NamespaceThread.shared.run(in: self, body)
    }

    /// Replaces this process with `command` running inside the namespace.
    public func exec(_ command: [String]) throws -> Never {
        var cargs = command.map { strdup($0) } + [nil]
        lblab_exec_in_netns(fd, command[0], &cargs)
        throw SystemError("run \(command[0]) in \(name)")
    }
}
