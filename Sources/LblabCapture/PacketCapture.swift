import CPcap
#if canImport(Glibc)
import Glibc
#endif

/// One activated libpcap handle on a network interface.
///
/// The handle is created with `pcap_create`, then snapshot length, immediate mode (or a batch timeout), a 16 MiB kernel
/// buffer and promiscuous mode off are set, `pcap_activate` runs (a positive result is a warning,
/// kept in `warning`; a negative one throws) and the handle is put in non-blocking mode.
///
/// **Namespaces.** libpcap opens its packet socket in the network namespace of the *calling thread*.
/// Create a `PacketCapture` while the calling thread is inside the interface's namespace (for example
/// in the runtime's `setns` window); the handle stays bound to that namespace afterwards and can be
/// read from any thread, in any namespace.
///
/// A handle is read by one thread at a time: hand it to a `CaptureRecorder` and do not touch it
/// until the recorder has stopped. It is closed (`pcap_close`) when the object is released.
public final class PacketCapture: @unchecked Sendable {
    public let interface: String
    public let snapshotLength: Int32
    /// The `pcap_activate` warning, if it returned one (for example `PCAP_WARNING_PROMISC_NOTSUP`).
    public let warning: String?

    let handle: OpaquePointer

    /// `batchMillis`: nil for immediate mode (each frame handed over as it arrives, a wakeup of the
    /// reader per frame); else the kernel hands frames over in blocks, each at the latest this many
    /// milliseconds after its first frame (few wakeups: what tcpdump does by default).
    public init(interface: String, snapshotLength: Int32 = 512, bufferSize: Int32 = 16 << 20, batchMillis: Int32? = nil) throws {
        self.interface = interface
        self.snapshotLength = snapshotLength
        var errbuf = [CChar](repeating: 0, count: Int(lblab_pcap_errbuf_size()))
        guard let h = pcap_create(interface, &errbuf) else {
            throw CaptureError(operation: "pcap_create(\(interface))", message: errorText(errbuf))
        }
        func fail(_ op: String, _ rc: Int32) -> CaptureError {
            let msg = String(cString: pcap_geterr(h))
            let status = String(cString: pcap_statustostr(rc))
            return CaptureError(operation: "\(op)(\(interface))", message: msg.isEmpty ? status : "\(status): \(msg)")
        }
        var rc = pcap_set_snaplen(h, snapshotLength)
        if rc != 0 { let e = fail("pcap_set_snaplen", rc); pcap_close(h); throw e }
        rc = pcap_set_immediate_mode(h, batchMillis == nil ? 1 : 0)
        if rc != 0 { let e = fail("pcap_set_immediate_mode", rc); pcap_close(h); throw e }
        if let batchMillis {
            rc = pcap_set_timeout(h, batchMillis)
            if rc != 0 { let e = fail("pcap_set_timeout", rc); pcap_close(h); throw e }
        }
        rc = pcap_set_buffer_size(h, bufferSize)
        if rc != 0 { let e = fail("pcap_set_buffer_size", rc); pcap_close(h); throw e }
        rc = pcap_set_promisc(h, 0)
        if rc != 0 { let e = fail("pcap_set_promisc", rc); pcap_close(h); throw e }
        rc = pcap_activate(h)
        if rc < 0 { let e = fail("pcap_activate", rc); pcap_close(h); throw e }
        if rc > 0 {
            let msg = String(cString: pcap_geterr(h))
            let status = String(cString: pcap_statustostr(rc))
            warning = msg.isEmpty ? status : "\(status): \(msg)"
        } else {
            warning = nil
        }
        let dlt = pcap_datalink(h)
        if dlt != DLT_EN10MB {
            pcap_close(h)
            throw CaptureError(operation: "pcap_datalink(\(interface))",
                               message: "link type \(dlt) is not Ethernet (DLT_EN10MB)")
        }
        if pcap_setnonblock(h, 1, &errbuf) != 0 {
            pcap_close(h)
            throw CaptureError(operation: "pcap_setnonblock(\(interface))", message: errorText(errbuf))
        }
        handle = h
    }

    deinit { pcap_close(handle) }

    /// The descriptor to `poll()` for readability.
    public func selectableFD() throws -> Int32 {
        let fd = pcap_get_selectable_fd(handle)
        if fd < 0 {
            throw CaptureError(operation: "pcap_get_selectable_fd(\(interface))", message: "no selectable descriptor")
        }
        return fd
    }

    /// `pcap_stats`: (received, dropped by kernel, dropped by interface).
    public func statistics() throws -> (received: UInt32, dropped: UInt32, interfaceDropped: UInt32) {
        var st = pcap_stat()
        if pcap_stats(handle, &st) != 0 {
            throw CaptureError(operation: "pcap_stats(\(interface))", message: String(cString: pcap_geterr(handle)))
        }
        return (st.ps_recv, st.ps_drop, st.ps_ifdrop)
    }

    /// Reads what is available now (non-blocking `pcap_dispatch` until it returns 0) and appends it to
    /// `sink`. Returns how many frames were read.
    func drain(into sink: FrameSink) throws -> Int {
        var total = 0
        let ctx = Unmanaged.passUnretained(sink).toOpaque()
        // Bounded so one busy interface cannot starve the others of a poll round.
        for _ in 0..<64 {
            let n = pcap_dispatch(handle, -1, { user, header, bytes in
                guard let user, let header, let bytes else { return }
                let sink = Unmanaged<FrameSink>.fromOpaque(UnsafeRawPointer(user)).takeUnretainedValue()
                let h = header.pointee
                sink.frames.append(timestamp: seconds(sec: Int(h.ts.tv_sec), usec: Int(h.ts.tv_usec)),
                                   bytes: UnsafeRawBufferPointer(start: bytes, count: Int(h.caplen)),
                                   originalLength: Int(h.len))
            }, ctx.assumingMemoryBound(to: UInt8.self))
            if n == PCAP_ERROR_BREAK { break }
            if n < 0 {
                throw CaptureError(operation: "pcap_dispatch(\(interface))", message: String(cString: pcap_geterr(handle)))
            }
            if n == 0 { break }
            total += Int(n)
        }
        return total
    }
}

/// Frames collected for one capture point (contiguously); written only by the recorder thread.
final class FrameSink {
    var frames = CapturedFrames()
}
