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

    /// Whether the caller is the dedicated thread itself (inside `runHere`).
    private var onThisThread: Bool { Thread.current === thread }
    /// Set while a body runs inside a foreign namespace, to refuse nesting.
    private var inForeignNamespace = false
    /// Inside `runHere`, the thread stays in the last namespace it entered until it needs another
    /// (consecutive steps in one namespace cost no `setns`), and returns to the root at the end.
    private var lazyReturn = false
    /// The namespace the thread is in while `lazyReturn` holds (nil: the root namespace).
    private var current: String?

    /// Runs `body` with the dedicated thread inside `namespace`, and returns its result.
    /// Called from the dedicated thread itself (within `runHere`), it switches in place.
    @discardableResult
    public func run<T>(in namespace: NetworkNamespace, _ body: () throws -> T) throws -> T {
        if onThisThread { return try enter(namespace, body) }
        return try runHere { try enter(namespace, body) }
    }

    /// `setns(target)`, body, `setns(root)`, on the dedicated thread (within `runHere`, the return
    /// to the root waits until the thread needs another namespace or `runHere` ends).
    private func enter<T>(_ namespace: NetworkNamespace, _ body: () throws -> T) throws -> T {
        precondition(!inForeignNamespace, "lblab: nested namespace windows are not supported")
        if lazyReturn {
            if current != namespace.name {
                guard lblab_setns_net(namespace.fd) == 0 else {
                    throw SystemError("enter network namespace \(namespace.name)")
                }
                current = namespace.name
            }
            inForeignNamespace = true
            defer { inForeignNamespace = false }
            return try body()
        }
        guard lblab_setns_net(namespace.fd) == 0 else {
            throw SystemError("enter network namespace \(namespace.name)")
        }
        inForeignNamespace = true
        defer {
            inForeignNamespace = false
            if lblab_setns_net(rootFD) != 0 {
                // Staying in a lab namespace would leak it into later work: stop hard.
                fatalError("lblab: could not return to the root network namespace (errno \(errno))")
            }
        }
        return try body()
    }

    /// Runs `body` on the dedicated thread, in the root namespace. Work that enters many
    /// namespaces in turn (building a lab) runs faster as one body here: each `run(in:)`
    /// inside it switches in place instead of handing over to this thread and back.
    @discardableResult
    public func runHere<T>(_ body: () throws -> T) throws -> T {
        if onThisThread { return try body() }
        return try withoutActuallyEscaping(body) { body in
            var result: Result<T, Error>!
            submit { [self] in
                lazyReturn = true
                result = Result { try body() }
                lazyReturn = false
                if current != nil {
                    if lblab_setns_net(rootFD) != 0 {
                        fatalError("lblab: could not return to the root network namespace (errno \(errno))")
                    }
                    current = nil
                }
            }
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
