#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed netlink operation: what lblab tried to do, the kernel's errno, and,
/// where the errno alone would mislead, a hint naming the likely cause.
public struct NetlinkError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What was attempted, e.g. `create veth v-rs1 (peer eth0)` or `IPVS add service TCP 198.51.100.100:80`.
    public let operation: String
    /// The positive errno reported by the kernel or the failing system call.
    public let errno: Int32
    /// A hint for the reader, or `nil` when the errno speaks for itself.
    public let hint: String?
    /// The kernel's extended-ack message (`NLMSGERR_ATTR_MSG`), when it sent one.
    public let kernelMessage: String?

    public init(operation: String, errno: Int32, hint: String? = nil, kernelMessage: String? = nil) {
        self.operation = operation
        self.errno = errno
        self.hint = hint ?? NetlinkError.defaultHint(for: errno)
        self.kernelMessage = kernelMessage.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `<operation>: <strerror(errno)> (errno N)`, then the kernel message and the hint if any.
    public var description: String {
        var text = "\(operation): \(String(cString: strerror(errno))) (errno \(errno))"
        if let kernelMessage { text += " [kernel: \(kernelMessage)]" }
        if let hint { text += " — \(hint)" }
        return text
    }

    /// Hints that hold for every netlink operation.
    static func defaultHint(for errno: Int32) -> String? {
        switch errno {
        case EEXIST: return "already exists"
        case EPERM: return "needs root (CAP_NET_ADMIN)"
        default: return nil
        }
    }

    /// The same error with another hint (used by IPVS, where errnos are overloaded).
    func withHint(_ newHint: String?) -> NetlinkError {
        NetlinkError(operation: operation, errno: errno, hint: newHint, kernelMessage: kernelMessage)
    }
}

/// Hints for errnos that the IPVS family overloads.
enum IPVSHint {
    static let familyMissing =
        "the IPVS module is not loaded (modprobe ip_vs) or this kernel has no IPVS"
    static let noSuchObject = "no such service/destination"

    static func invalidArgument(_ what: String) -> String {
        "IPVS rejects \(what) when an attribute is missing, the address is not unicast "
            + "(zero, broadcast or multicast), or the address families do not match "
            + "(ipvsadm reports all of these as \"address not unicast\")"
    }

    static func scheduler(_ name: String) -> String {
        "scheduler module ip_vs_\(name) not available"
    }
}
