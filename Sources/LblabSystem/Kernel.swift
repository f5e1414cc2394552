import Foundation

/// What the running kernel offers lblab.
public enum Kernel {
    /// IPVS is loaded in this kernel (the root namespace's /proc shows it).
    public static var ipvsLoaded: Bool { FileManager.default.fileExists(atPath: "/proc/net/ip_vs") }

    /// Loads IPVS with `modprobe ip_vs` when it is not loaded yet; returns whether it is there.
    @discardableResult
    public static func loadIPVS() -> Bool {
        if ipvsLoaded { return true }
        _ = Processes.runQuietly(["modprobe", "ip_vs"])
        return ipvsLoaded
    }

    /// Whether a module for IPVS exists for the running kernel (loadable), without loading it.
    public static var ipvsModuleAvailable: Bool {
        Processes.runQuietly(["modprobe", "-n", "ip_vs"]) == 0
    }

    public static var release: String {
        var u = utsname()
        uname(&u)
        return withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }

    public static var isRoot: Bool { geteuid() == 0 }
}
