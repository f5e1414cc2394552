#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CMnl
import Foundation

/// A libmnl socket on one netlink bus, bound (nl_pid 0, `MNL_SOCKET_AUTOPID`)
/// in the network namespace of the thread that created it. Requests are
/// serialised by a lock, so the socket may be used from any thread afterwards.
final class NetlinkSocket {
    private let handle: OpaquePointer
    let portID: UInt32
    private var lastSequence: UInt32
    private let lock = NSLock()

    /// `mnl_socket_open` + `mnl_socket_bind(…, 0, MNL_SOCKET_AUTOPID)`; asks for
    /// extended and capped ACKs when the kernel supports them.
    init(bus: Int32, operation: String) throws {
        guard let socket = mnl_socket_open(bus) else {
            throw NetlinkError(operation: operation + " (mnl_socket_open)", errno: Glibc.errno)
        }
        guard mnl_socket_bind(socket, 0, pid_t(cmnl_socket_autopid())) == 0 else {
            let code = Glibc.errno
            mnl_socket_close(socket)
            throw NetlinkError(operation: operation + " (mnl_socket_bind)", errno: code)
        }
        var on: Int32 = 1
        _ = mnl_socket_setsockopt(socket, NETLINK_EXT_ACK, &on, socklen_t(MemoryLayout<Int32>.size))
        _ = mnl_socket_setsockopt(socket, NETLINK_CAP_ACK, &on, socklen_t(MemoryLayout<Int32>.size))
        handle = socket
        portID = mnl_socket_get_portid(socket)
        lastSequence = UInt32(truncatingIfNeeded: time(nil))
    }

    deinit { mnl_socket_close(handle) }

    /// A fresh sequence number for the next request.
    func nextSequence() -> UInt32 {
        lock.lock()
        defer { lock.unlock() }
        lastSequence &+= 1
        if lastSequence == 0 { lastSequence = 1 }
        return lastSequence
    }

    /// Sends `request` (encoded with `sequence`) and receives until its ACK or
    /// `NLMSG_DONE`, returning the data messages. An interrupted dump
    /// (`NLM_F_DUMP_INTR`) is drained and, when `retry` gives a new request, repeated.
    func transact(_ request: [UInt8], sequence: UInt32, operation: String,
                  retry: ((UInt32) -> [UInt8])? = nil) throws -> [NetlinkMessage] {
        lock.lock()
        defer { lock.unlock() }
        var request = request
        var sequence = sequence
        var attempts = 0
        while true {
            do {
                return try exchange(request, sequence: sequence, operation: operation)
            } catch let error as NetlinkError where error.errno == EINTR && retry != nil && attempts < 3 {
                attempts += 1
                lastSequence &+= 1
                sequence = lastSequence
                request = retry!(sequence)
            }
        }
    }

    private func exchange(_ request: [UInt8], sequence: UInt32, operation: String) throws -> [NetlinkMessage] {
        let sent = request.withUnsafeBytes { mnl_socket_sendto(handle, $0.baseAddress, $0.count) }
        guard sent == request.count else {
            throw NetlinkError(operation: operation, errno: sent < 0 ? Glibc.errno : EMSGSIZE)
        }
        let parser = NetlinkReplyParser(sequence: sequence, portID: portID)
        let size = cmnl_socket_dump_size()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let received = try receive(into: buffer, operation: operation)
            switch parser.process(UnsafeRawBufferPointer(rebasing: buffer[..<received])) {
            case .more:
                continue
            case .done:
                return parser.messages
            case .failed(let code, let kernelMessage):
                if code == EINTR {
                    try drain(buffer, after: UnsafeRawBufferPointer(rebasing: buffer[..<received]), operation: operation)
                }
                throw NetlinkError(operation: operation, errno: code, kernelMessage: kernelMessage)
            }
        }
    }

    /// `mnl_socket_recvfrom`, retrying on EINTR from the system call.
    private func receive(into buffer: UnsafeMutableRawBufferPointer, operation: String) throws -> Int {
        while true {
            let n = mnl_socket_recvfrom(handle, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            let code = Glibc.errno
            if code == EINTR { continue }
            throw NetlinkError(operation: operation, errno: code)
        }
    }

    /// After an interrupted dump: read and discard until a datagram carries `NLMSG_DONE` or `NLMSG_ERROR`.
    private func drain(_ buffer: UnsafeMutableRawBufferPointer, after first: UnsafeRawBufferPointer, operation: String) throws {
        var datagram = first
        while !NetlinkSocket.endsDump(datagram) {
            let n = try receive(into: buffer, operation: operation)
            datagram = UnsafeRawBufferPointer(rebasing: buffer[..<n])
        }
    }

    /// Whether a datagram holds `NLMSG_DONE` or `NLMSG_ERROR` (walks headers with `NLMSG_ALIGN`).
    static func endsDump(_ datagram: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        let headerLength = Int(cmnl_nlmsg_hdrlen())
        while offset + headerLength <= datagram.count {
            let length = Int(datagram.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            let type = Int32(datagram.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self))
            if type == NLMSG_DONE || type == NLMSG_ERROR { return true }
            guard length >= headerLength else { return true }
            offset += Int(cmnl_nlmsg_align(UInt32(length)))
        }
        return datagram.isEmpty
    }
}
