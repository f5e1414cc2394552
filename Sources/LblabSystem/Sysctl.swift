import Foundation

/// Kernel parameters under /proc/sys. `net.*` keys are per network namespace: call these
/// inside `NetworkNamespace.run` to read or write the namespace's own values.
public enum Sysctl {
    public static func path(of key: String) -> String {
        "/proc/sys/" + key.replacingOccurrences(of: ".", with: "/")
    }

    public static func write(_ key: String, _ value: String) throws {
        let p = path(of: key)
        let fd = try syscall("open \(p) to set \(key)") { open(p, O_WRONLY | O_CLOEXEC) }
        defer { close(fd) }
        let bytes = Array((value + "\n").utf8)
        let n = try syscall("set \(key)=\(value)") { bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } }
        guard n == bytes.count else { throw SystemError("set \(key)=\(value) (short write)", errno: EIO) }
    }
}
