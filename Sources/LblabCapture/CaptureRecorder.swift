import CPcap
#if canImport(Glibc)
import Glibc
#endif

/// Reads several `PacketCapture`s on one dedicated background pthread until stopped.
///
/// The thread `poll()`s every handle's `pcap_get_selectable_fd` (20 ms timeout) and drains each handle
/// with non-blocking `pcap_dispatch`, appending frames per capture point in arrival order.
///
/// **Namespaces.** A new thread starts in the network namespace of the thread that creates it.
/// Call `start()` from a thread in the root namespace (never from inside a `setns` window), so the
/// reader thread is an ordinary root-namespace thread. The handles themselves were bound to their
/// namespaces when they were created and are read correctly from any namespace.
///
/// The recorder owns the handles while running; do not use them elsewhere between `start()` and the
/// return of `stop()`. A recorder runs once.
public final class CaptureRecorder: @unchecked Sendable {
    private let points: [(name: String, capture: PacketCapture, sink: FrameSink)]
    private let lock = Mutex()
    // Guarded by `lock`.
    private var stopRequest: (at: Double, quiet: Double, maxWait: Double)?
    private var thread: pthread_t?
    private var started = false
    private var result: CaptureResult?
    // Written by the reader thread only; read after join.
    private var readErrors: [String: String] = [:]

    /// - Parameter captures: capture point name (a lab node name) -> activated handle.
    public init(captures: [String: PacketCapture]) {
        points = captures.sorted { $0.key < $1.key }.map { ($0.key, $0.value, FrameSink()) }
    }

    deinit {
        if let t = lock.withLock({ () -> pthread_t? in
            if stopRequest == nil { stopRequest = (monotonicNow(), 0, 0) }
            return thread
        }) {
            pthread_join(t, nil)
        }
    }

    /// Starts the reader thread. Call from a thread in the root network namespace (see the type's
    /// documentation). Throws if already started or if a handle has no selectable descriptor or
    /// the thread cannot be created.
    public func start() throws {
        try lock.withLock {
            if started { throw CaptureError(operation: "CaptureRecorder.start", message: "already started") }
            started = true
        }
        var fds: [pollfd] = []
        for p in points {
            fds.append(pollfd(fd: try p.capture.selectableFD(), events: Int16(POLLIN), revents: 0))
        }
        let box = Unmanaged.passRetained(ThreadBox { [self] in self.run(fds: fds) })
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { arg in
            let box = Unmanaged<ThreadBox>.fromOpaque(arg!).takeRetainedValue()
            box.body()
            return nil
        }, box.toOpaque())
        if rc != 0 {
            box.release()
            throw CaptureError(operation: "pthread_create", message: String(cString: strerror(rc)))
        }
        lock.withLock { thread = tid }
    }

    /// Keeps reading until no frame arrived for `quietPeriod` seconds (counted from the later of
    /// this call and the last frame), or until `maxWait` seconds after this call, then joins the
    /// reader thread and returns every frame per point in arrival order, with `pcap_stats` drop
    /// counts. Calling it again returns the same result. If `start()` never ran, the result has
    /// empty frame lists.
    public func stop(quietPeriod: Double = 0.2, maxWait: Double = 60) -> CaptureResult {
        let t: pthread_t? = lock.withLock {
            if stopRequest == nil { stopRequest = (monotonicNow(), quietPeriod, max(maxWait, 0)) }
            return thread
        }
        if let t {
            pthread_join(t, nil)
            lock.withLock { thread = nil }
        }
        if let r = lock.withLock({ result }) { return r }

        var out = CaptureResult()
        for p in points {
            out.frames[p.name] = p.sink.frames
            do {
                let s = try p.capture.statistics()
                out.dropped[p.name] = s.dropped
                out.interfaceDropped[p.name] = s.interfaceDropped
            } catch {
                out.errors[p.name] = "\(error)"
            }
        }
        for (k, v) in readErrors {
            out.errors[k] = out.errors[k].map { $0 + "; " + v } ?? v
        }
        lock.withLock { result = out }
        return out
    }

    /// The reader thread's nice value: below the traffic engine and the lab's servers, so on a
    /// busy machine (2 CPUs under emulation) the kernel runs the traffic first and the reader
    /// catches up in the gaps; the kernel buffers (16 MiB per point) hold what waits, and `stop`
    /// drains them after the traffic (the drop counts say if they ever overflowed).
    public static let readerNice: Int32 = 10

    private func run(fds initial: [pollfd]) {
        _ = lblab_set_thread_nice(Self.readerNice)
        var fds = initial
        var active = Array(points.indices)
        var lastFrame = monotonicNow()
        while true {
            let now = monotonicNow()
            if let r = lock.withLock({ stopRequest }) {
                if now - r.at >= r.maxWait { break }
                if now - max(lastFrame, r.at) >= r.quiet { break }
            }
            if active.isEmpty {
                usleep(20_000)
                continue
            }
            let rc = fds.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), 20) }
            if rc < 0 && errno != EINTR { usleep(20_000) }
            // Drain every handle each round: cheap when idle, and robust against a missed wakeup.
            var got = 0
            var failed: [Int] = []
            for (slot, i) in active.enumerated() {
                fds[slot].revents = 0
                do {
                    got += try points[i].capture.drain(into: points[i].sink)
                } catch {
                    readErrors[points[i].name] = "\(error)"
                    failed.append(slot)
                }
            }
            for slot in failed.reversed() {
                active.remove(at: slot)
                fds.remove(at: slot)
            }
            if got > 0 { lastFrame = monotonicNow() }
        }
    }
}

private final class ThreadBox {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

/// A pthread mutex (kept off Foundation so this module needs only libpcap and libc).
final class Mutex: @unchecked Sendable {
    private let m: UnsafeMutablePointer<pthread_mutex_t>
    init() {
        m = .allocate(capacity: 1)
        m.initialize(to: pthread_mutex_t())
        pthread_mutex_init(m, nil)
    }
    deinit {
        pthread_mutex_destroy(m)
        m.deallocate()
    }
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(m)
        defer { pthread_mutex_unlock(m) }
        return try body()
    }
}

func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
