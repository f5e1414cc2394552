/// One Ethernet frame as libpcap delivered it.
public struct CapturedFrame: Sendable, Equatable {
    /// Capture time, seconds since the Unix epoch (microsecond resolution from libpcap).
    public var timestamp: Double
    /// The captured bytes (at most the snapshot length), starting at the Ethernet header.
    public var bytes: [UInt8]
    /// The frame's length on the wire; larger than `bytes.count` when the snapshot length cut it.
    public var originalLength: Int

    public init(timestamp: Double, bytes: [UInt8], originalLength: Int? = nil) {
        self.timestamp = timestamp
        self.bytes = bytes
        self.originalLength = max(originalLength ?? bytes.count, bytes.count)
    }
}

/// The frames of one capture point, stored contiguously: every frame's captured bytes back to back
/// in one array, with per-frame end offsets, timestamps and original lengths. A run of 60,000
/// connections captures about 1.8 million frames; this keeps them in four arrays instead of one
/// heap object per frame.
///
/// As a collection its elements are `CapturedFrame` values, each a copy of one frame's bytes (for
/// convenience and tests); `withBytes(of:_:)` and `bytes`/`ends` read a frame without copying.
public struct CapturedFrames: Sendable, Equatable, RandomAccessCollection {
    /// Every frame's captured bytes, in arrival order.
    public private(set) var bytes: [UInt8] = []
    /// `ends[i]` is where frame `i` ends in `bytes`; it starts at `ends[i - 1]` (0 for the first).
    public private(set) var ends: [Int] = []
    /// Capture time of each frame, seconds since the Unix epoch.
    public private(set) var timestamps: [Double] = []
    /// Each frame's length on the wire (at least its captured length).
    public private(set) var originalLengths: [UInt32] = []

    public init() {}

    public init(_ frames: some Sequence<CapturedFrame>) {
        for f in frames { append(f) }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { ends.count }

    /// A copy of frame `i`.
    public subscript(i: Int) -> CapturedFrame {
        CapturedFrame(timestamp: timestamps[i], bytes: Array(bytes[range(of: i)]), originalLength: Int(originalLengths[i]))
    }

    /// Where frame `i` lies in `bytes`.
    @inline(__always) public func range(of i: Int) -> Range<Int> { (i == 0 ? 0 : ends[i - 1])..<ends[i] }

    /// Calls `body` with frame `i`'s captured bytes, without copying them.
    public func withBytes<R>(of i: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let r = range(of: i)
        return try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[r])) }
    }

    /// Appends one frame, copying `frame` (the captured bytes) into the store.
    public mutating func append(timestamp: Double, bytes frame: UnsafeRawBufferPointer, originalLength: Int) {
        bytes.append(contentsOf: frame)
        ends.append(bytes.count)
        timestamps.append(timestamp)
        originalLengths.append(UInt32(clamping: Swift.max(originalLength, frame.count)))
    }

    public mutating func append(_ frame: CapturedFrame) {
        frame.bytes.withUnsafeBytes { append(timestamp: frame.timestamp, bytes: $0, originalLength: frame.originalLength) }
    }

    /// Reserves room for `frames` more frames holding `bytes` more bytes in all.
    public mutating func reserveCapacity(frames: Int, bytes byteCount: Int) {
        bytes.reserveCapacity(bytes.count + byteCount)
        ends.reserveCapacity(ends.count + frames)
        timestamps.reserveCapacity(timestamps.count + frames)
        originalLengths.reserveCapacity(originalLengths.count + frames)
    }
}

/// A failed libpcap (or poll/pthread) call: which one, and libpcap's message.
public struct CaptureError: Error, CustomStringConvertible {
    public let operation: String
    public let message: String

    public init(operation: String, message: String) {
        self.operation = operation
        self.message = message
    }

    public var description: String { "\(operation): \(message)" }
}

/// Frames per capture point and the kernel's drop counts, as returned by `CaptureRecorder.stop`.
public struct CaptureResult: Sendable {
    /// Frames per capture point name, in arrival order.
    public var frames: [String: CapturedFrames]
    /// `pcap_stats` `ps_drop` per point (frames the kernel dropped because the buffer was full).
    public var dropped: [String: UInt32]
    /// `pcap_stats` `ps_ifdrop` per point (dropped by the interface or driver; often 0 on veth).
    public var interfaceDropped: [String: UInt32]
    /// Errors met while reading (pcap_dispatch or pcap_stats failures), per point. Empty when all went well.
    public var errors: [String: String]

    public init(frames: [String: CapturedFrames] = [:], dropped: [String: UInt32] = [:],
                interfaceDropped: [String: UInt32] = [:], errors: [String: String] = [:]) {
        self.frames = frames
        self.dropped = dropped
        self.interfaceDropped = interfaceDropped
        self.errors = errors
    }

    /// Total drops over all points (`dropped` + `interfaceDropped`).
    public var totalDropped: UInt64 {
        dropped.values.reduce(UInt64(0)) { $0 + UInt64($1) }
            + interfaceDropped.values.reduce(UInt64(0)) { $0 + UInt64($1) }
    }
}

/// Converts a libpcap `timeval` to seconds since the epoch.
@inline(__always)
func seconds(sec: Int, usec: Int) -> Double { Double(sec) + Double(usec) / 1_000_000 }

/// The text libpcap left in an error buffer (NUL-terminated, or the whole buffer).
func errorText(_ buffer: [CChar]) -> String {
    let end = buffer.firstIndex(of: 0) ?? buffer.endIndex
    return String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
