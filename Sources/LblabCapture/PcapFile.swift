import CPcap
#if canImport(Glibc)
import Glibc
#endif

/// Classic pcap files of Ethernet frames (`DLT_EN10MB`, microsecond timestamps), read into and
/// written from a contiguous `CapturedFrames` store (no array per frame either way).
public enum PcapFile {
    /// Writes `frames` with `pcap_open_dead` + `pcap_dump_open`. Frames longer than
    /// `snapshotLength` are cut to it; the header's original length keeps `originalLength`.
    public static func write(_ frames: CapturedFrames, to path: String, snapshotLength: Int32 = 512) throws {
        guard let dead = pcap_open_dead(DLT_EN10MB, snapshotLength) else {
            throw CaptureError(operation: "pcap_open_dead", message: "failed")
        }
        defer { pcap_close(dead) }
        guard let dumper = pcap_dump_open(dead, path) else {
            throw CaptureError(operation: "pcap_dump_open(\(path))", message: String(cString: pcap_geterr(dead)))
        }
        var closed = false
        defer { if !closed { pcap_dump_close(dumper) } }
        let snap = Int(max(snapshotLength, 0))
        frames.bytes.withUnsafeBufferPointer { all in
            for i in frames.indices {
                let r = frames.range(of: i)
                let t = frames.timestamps[i]
                var sec = t.rounded(.down)
                var usec = ((t - sec) * 1_000_000).rounded()
                if usec >= 1_000_000 { sec += 1; usec -= 1_000_000 }
                var h = pcap_pkthdr()
                h.ts.tv_sec = Int(sec)
                h.ts.tv_usec = Int(usec)
                h.caplen = UInt32(min(r.count, snap))
                h.len = max(frames.originalLengths[i], UInt32(r.count))
                // An empty store has no base address, but then there is no frame either.
                lblab_pcap_dump(dumper, &h, all.baseAddress.map { $0 + r.lowerBound })
            }
        }
        if pcap_dump_flush(dumper) != 0 {
            throw CaptureError(operation: "pcap_dump_flush(\(path))", message: String(cString: strerror(errno)))
        }
        closed = true
        pcap_dump_close(dumper)
    }

    /// Writes single frames (a convenience for tests and small captures).
    public static func write(_ frames: [CapturedFrame], to path: String, snapshotLength: Int32 = 512) throws {
        try write(CapturedFrames(frames), to: path, snapshotLength: snapshotLength)
    }

    /// Reads every frame of a pcap file with `pcap_open_offline`. Throws unless the file's link
    /// type is Ethernet.
    public static func read(_ path: String) throws -> CapturedFrames {
        var errbuf = [CChar](repeating: 0, count: Int(lblab_pcap_errbuf_size()))
        guard let p = pcap_open_offline(path, &errbuf) else {
            throw CaptureError(operation: "pcap_open_offline(\(path))", message: errorText(errbuf))
        }
        defer { pcap_close(p) }
        let dlt = pcap_datalink(p)
        guard dlt == DLT_EN10MB else {
            throw CaptureError(operation: "pcap_datalink(\(path))", message: "link type \(dlt) is not Ethernet (DLT_EN10MB)")
        }
        var out = CapturedFrames()
        // The frames' bytes take less than the file (which adds a 16-byte header per frame).
        var st = stat()
        if stat(path, &st) == 0, st.st_size > 24 { out.reserveCapacity(frames: 0, bytes: Int(st.st_size) - 24) }
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        while true {
            let rc = pcap_next_ex(p, &header, &data)
            if rc == 1, let h = header?.pointee, let data {
                out.append(timestamp: seconds(sec: Int(h.ts.tv_sec), usec: Int(h.ts.tv_usec)),
                           bytes: UnsafeRawBufferPointer(start: data, count: Int(h.caplen)),
                           originalLength: Int(h.len))
            } else if rc == PCAP_ERROR_BREAK {  // -2: end of file
                break
            } else if rc == 0 {
                continue
            } else {
                throw CaptureError(operation: "pcap_next_ex(\(path))", message: String(cString: pcap_geterr(p)))
            }
        }
        return out
    }
}
