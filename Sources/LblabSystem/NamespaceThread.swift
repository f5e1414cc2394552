import CLblabSys
import Foundation

/// One dedicated thread that sits in the root network namespace and runs short synchronous
/// bodies inside another namespace: `setns(target)`, body, `setns(root)`, then the caller
/// resumes. Namespaces are per thread and inherited by threads a thread creates, so the
/// body must not start threads, use Dispatch or await; open sockets and capture handles in
/// it (they stay bound to the namespace) and use them afterwards from anywhere.
public final class NamespaceThread: @unchecked Sendable {
    public static let shared = NamespaceThread()

    private let condition = NSCondition()
    private let callerLock = NSLock()
    private var work: (() -> Void)?
    private var done = false
    private let rootFD: Int32
    private var thread: Thread!

    private init() {
        rootFD = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)
        thread = Thread { [unowned self] in self.loop() }
        thread.name = "lblab-netns"
        thread.start()
    }

    private func loop() {
        while true {
            condition.lock()
            while work == nil { condition.wait() }
            var job = work
            work = nil
            condition.unlock()
            job?()
            // Drop the job (and the caller's non-escaping body it holds) before the caller
            // resumes: `withoutActuallyEscaping` checks that nothing kept it.
            job = nil
            condition.lock()
            done = true
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Runs `body` with the dedicated thread inside `namespace`, and returns its result.
    @discardableResult
    public func run<T>(in namespace: NetworkNamespace, _ body: () throws -> T) throws -> T {
        try withoutActuallyEscaping(body) { body in
            var result: Result<T, Error>!
            let job = { [rootFD] in
                if lblab_setns_net(namespace.fd) != 0 {
                    result = .failure(SystemError("enter network namespace \(namespace.name)"))
                    return
                }
                result = Result { try body() }
                if lblab_setns_net(rootFD) != 0 {
                    // Staying in a lab namespace would leak it into later work: stop hard.
                    fatalError("lblab: could not return to the root network namespace (errno \(errno))")
                }
            }
            submit(job)
            return try result.get()
        }
    }

    /// Runs `body` on the dedicated thread without switching namespace (for C helpers
    /// that switch and restore the calling thread's namespace themselves).
    @discardableResult
    public func runHere<T>(_ body: () throws -> T) throws -> T {
        try withoutActuallyEscaping(body) { body in
            var result: Result<T, Error>!
            submit { result = Result { try body() } }
            return try result.get()
        }
    }

    private func submit(_ job: @escaping () -> Void) {
        callerLock.lock()
        defer { callerLock.unlock() }
        condition.lock()
        work = job
        done = false
        condition.broadcast()
        while !done { condition.wait() }
        condition.unlock()
    }
}
