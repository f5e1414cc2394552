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
    public var frames: [String: [CapturedFrame]]
    /// `pcap_stats` `ps_drop` per point (frames the kernel dropped because the buffer was full).
    public var dropped: [String: UInt32]
    /// `pcap_stats` `ps_ifdrop` per point (dropped by the interface or driver; often 0 on veth).
    public var interfaceDropped: [String: UInt32]
    /// Errors met while reading (pcap_dispatch or pcap_stats failures), per point. Empty when all went well.
    public var errors: [String: String]

    public init(frames: [String: [CapturedFrame]] = [:], dropped: [String: UInt32] = [:],
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
