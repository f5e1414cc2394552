#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CMnl

/// Processes received datagrams with `mnl_cb_run2`: collects data messages,
/// stops at the ACK or `NLMSG_DONE`, and turns `NLMSG_ERROR` into an errno
/// plus the kernel's extended-ack text.
final class NetlinkReplyParser {
    /// What one datagram told us.
    enum Status: Equatable {
        /// More messages will follow (a dump in progress, or a reply before its ACK).
        case more
        /// The ACK or `NLMSG_DONE` arrived.
        case done
        /// The kernel (or libmnl's sequence/port checks) reported an error.
        case failed(errno: Int32, kernelMessage: String?)
    }

    let sequence: UInt32
    let portID: UInt32
    fileprivate(set) var messages: [NetlinkMessage] = []
    fileprivate var errorNumber: Int32?
    fileprivate var kernelMessage: String?

    init(sequence: UInt32, portID: UInt32) {
        self.sequence = sequence
        self.portID = portID
    }

    /// Feeds one datagram (`recvfrom` result) through `mnl_cb_run2`.
    func process(_ datagram: UnsafeRawBufferPointer) -> Status {
        errorNumber = nil
        kernelMessage = nil
        guard let base = datagram.baseAddress, datagram.count > 0 else { return .more }
        var controls = [mnl_cb_t?](repeating: nil, count: Int(NLMSG_MIN_TYPE))
        controls[Int(NLMSG_ERROR)] = replyError
        controls[Int(NLMSG_DONE)] = replyDone
        let context = Unmanaged.passUnretained(self).toOpaque()
        Glibc.errno = 0
        let result = controls.withUnsafeMutableBufferPointer { table in
            mnl_cb_run2(base, datagram.count, sequence, portID, replyData, context,
                        table.baseAddress, UInt32(table.count))
        }
        switch result {
        case MNL_CB_OK: return .more
        case MNL_CB_STOP: return .done
        default:
            let code = errorNumber ?? (Glibc.errno != 0 ? Glibc.errno : EPROTO)
            return .failed(errno: code, kernelMessage: kernelMessage)
        }
    }

    /// Convenience for byte arrays (tests and canned replies).
    func process(_ datagram: [UInt8]) -> Status {
        datagram.withUnsafeBytes { process($0) }
    }
}

/// Data callback: copy the whole message.
private func replyData(_ nlh: UnsafePointer<nlmsghdr>?, _ data: UnsafeMutableRawPointer?) -> Int32 {
    guard let nlh, let data else { return MNL_CB_ERROR }
    let parser = Unmanaged<NetlinkReplyParser>.fromOpaque(data).takeUnretainedValue()
    let bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(nlh), count: Int(nlh.pointee.nlmsg_len))
    parser.messages.append(NetlinkMessage(bytes: Array(bytes)))
    return MNL_CB_OK
}

/// `NLMSG_ERROR`: error 0 is the ACK; otherwise record -error and the extack message.
private func replyError(_ nlh: UnsafePointer<nlmsghdr>?, _ data: UnsafeMutableRawPointer?) -> Int32 {
    guard let nlh, let data else { return MNL_CB_ERROR }
    let parser = Unmanaged<NetlinkReplyParser>.fromOpaque(data).takeUnretainedValue()
    let errSize = MemoryLayout<nlmsgerr>.size
    guard Int(nlh.pointee.nlmsg_len) >= Int(cmnl_nlmsg_hdrlen()) + errSize else {
        parser.errorNumber = EBADMSG
        return MNL_CB_ERROR
    }
    let err = mnl_nlmsg_get_payload(nlh).loadUnaligned(as: nlmsgerr.self)
    if err.error == 0 { return MNL_CB_STOP }
    parser.errorNumber = err.error < 0 ? -err.error : err.error
    if Int32(nlh.pointee.nlmsg_flags) & NLM_F_ACK_TLVS != 0 {
        // TLVs follow the echoed request: only its header when NLM_F_CAPPED is set.
        var offset = errSize
        if Int32(nlh.pointee.nlmsg_flags) & NLM_F_CAPPED == 0 {
            offset += Int(err.msg.nlmsg_len) - Int(cmnl_nlmsg_hdrlen())
        }
        if Int(cmnl_nlmsg_hdrlen()) + offset < Int(nlh.pointee.nlmsg_len) {
            let message = NetlinkMessage(bytes: Array(UnsafeRawBufferPointer(
                start: UnsafeRawPointer(nlh), count: Int(nlh.pointee.nlmsg_len))))
            parser.kernelMessage = message.attributes(after: offset).string(UInt16(NLMSGERR_ATTR_MSG.rawValue))
        }
    }
    return MNL_CB_ERROR
}

/// `NLMSG_DONE`: a dump may end with a negative error in its payload.
private func replyDone(_ nlh: UnsafePointer<nlmsghdr>?, _ data: UnsafeMutableRawPointer?) -> Int32 {
    guard let nlh, let data else { return MNL_CB_ERROR }
    let parser = Unmanaged<NetlinkReplyParser>.fromOpaque(data).takeUnretainedValue()
    if Int(nlh.pointee.nlmsg_len) >= Int(cmnl_nlmsg_hdrlen()) + 4 {
        let status = mnl_nlmsg_get_payload(nlh).loadUnaligned(as: Int32.self)
        if status < 0 {
            parser.errorNumber = -status
            return MNL_CB_ERROR
        }
    }
    return MNL_CB_STOP
}
