#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which operation, on what, and errno.
public struct SystemError: Error, CustomStringConvertible, Equatable {
    public let operation: String
    public let errno: Int32

    public init(_ operation: String, errno: Int32 = Glibc.errno) {
        self.operation = operation
        self.errno = errno
    }

    public var description: String {
        var text = "\(operation): \(String(cString: strerror(errno))) (errno \(errno))"
        switch errno {
        case EPERM, EACCES: text += "; lblab needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN): run it with sudo"
        default: break
        }
        return text
    }
}

/// Calls `body` until it stops failing with EINTR; throws `SystemError` for -1.
@discardableResult
func syscall<T: BinaryInteger>(_ operation: @autoclosure () -> String, _ body: () -> T) throws -> T {
    while true {
        let r = body()
        if r != -1 { return r }
        if Glibc.errno == EINTR { continue }
        throw SystemError(operation())
    }
}
