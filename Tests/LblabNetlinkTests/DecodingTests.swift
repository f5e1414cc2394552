import Testing
@testable import LblabNetlink
import LblabTypes

/// Canned kernel replies, laid out by hand, run through the same
/// `mnl_cb_run2` processing and decoders the live sockets use.
@Suite struct DecodingTests {
    let family: UInt16 = 0x20
    let seq: UInt32 = 42
    let pid: UInt32 = 0x1234
    let multi: UInt16 = 0x2    // NLM_F_MULTI
    var done: [UInt8] { message(type: 3, flags: multi, seq: seq, pid: pid, le32(0)) }   // NLMSG_DONE

    func parse(_ datagram: [UInt8]) -> (NetlinkReplyParser.Status, [NetlinkMessage]) {
        let parser = NetlinkReplyParser(sequence: seq, portID: pid)
        let status = parser.process(datagram)
        return (status, parser.messages)
    }

    func stats64(conns: UInt64, inPkts: UInt64, outPkts: UInt64, inBytes: UInt64, outBytes: UInt64) -> [UInt8] {
        nest(12, attr(1, le64(conns)), attr(2, le64(inPkts)), attr(3, le64(outPkts)),
             attr(4, le64(inBytes)), attr(5, le64(outBytes)), attr(6, le64(99)))
    }

    @Test func serviceDumpWithStats64() throws {
        let service = nest(1,
            attr(1, le16(2)), attr(2, le16(17)),
            attr(3, [203, 0, 113, 10] + [UInt8](repeating: 0, count: 12)),
            attr(4, [0x00, 0x35]),                                          // port 53, network order
            attr(6, cString("wlc")),
            attr(7, le32(0x3) + le32(0xffff_ffff)),                         // PERSISTENT | HASHED
            attr(8, le32(360)),
            attr(9, [255, 255, 255, 0]),
            nest(10, attr(1, le32(9)), attr(2, le32(9))),                   // 32-bit STATS, must be ignored
            stats64(conns: 7, inPkts: 0x1_0000_0001, outPkts: 5, inBytes: 1000, outBytes: 2000))
        let datagram = message(type: family, flags: multi, seq: seq, pid: pid, [4, 1, 0, 0] + service) + done
        let (status, messages) = parse(datagram)
        #expect(status == .done)
        #expect(messages.count == 1)
        let entry = try #require(IPVSDecoding.serviceEntry(messages[0]))
        #expect(entry == IPVSServiceEntry(
            key: IPVSServiceKey(proto: .udp, address: IPAddress("203.0.113.10")!, port: 53),
            schedulerName: "wlc", flags: 0x1, timeout: 360, netmask: 0xffff_ff00,
            stats: IPVSStats(connections: 7, inPackets: 0x1_0000_0001, outPackets: 5, inBytes: 1000, outBytes: 2000)))
        #expect(entry.scheduler == .wlc)
    }

    @Test func destinationDumpAcrossTwoDatagrams() throws {
        func dest(_ last: UInt8, port: [UInt8], stats: [UInt8]) -> [UInt8] {
            message(type: family, flags: multi, seq: seq, pid: pid, [8, 1, 0, 0] + nest(2,
                attr(1, [10, 0, 0, last] + [UInt8](repeating: 0, count: 12)),
                attr(2, port),
                attr(3, le32(0x0003)),                                      // DROUTE
                attr(4, le32(5)), attr(5, le32(100)), attr(6, le32(10)),
                attr(7, le32(2)), attr(8, le32(4)), attr(9, le32(1)),
                attr(11, le16(2)),
                stats))
        }
        let first = dest(3, port: [0x1f, 0x90],
                         stats: stats64(conns: 11, inPkts: 12, outPkts: 13, inBytes: 14, outBytes: 15))
        // An old kernel: only 32-bit STATS (u32 counters, u64 byte counts).
        let second = dest(4, port: [0x00, 0x50],
                          stats: nest(10, attr(1, le32(21)), attr(2, le32(22)), attr(3, le32(23)),
                                      attr(4, le64(0x1_0000_0000)), attr(5, le64(25))))

        let parser = NetlinkReplyParser(sequence: seq, portID: pid)
        #expect(parser.process(first) == .more)
        #expect(parser.process(second + done) == .done)
        let entries = parser.messages.compactMap { IPVSDecoding.destinationEntry($0) }
        #expect(entries.count == 2)
        #expect(entries[0] == IPVSDestinationEntry(
            destination: IPVSDestination(address: IPAddress("10.0.0.3")!, port: 8080, forwarding: .directRoute,
                                         weight: 5, upperThreshold: 100, lowerThreshold: 10),
            activeConnections: 2, inactiveConnections: 4, persistentConnections: 1,
            stats: IPVSStats(connections: 11, inPackets: 12, outPackets: 13, inBytes: 14, outBytes: 15)))
        #expect(entries[1].destination.port == 80)
        #expect(entries[1].destination.address == IPAddress("10.0.0.4"))
        #expect(entries[1].stats == IPVSStats(connections: 21, inPackets: 22, outPackets: 23,
                                              inBytes: 0x1_0000_0000, outBytes: 25))
    }

    @Test func ipvsInfoAndFamilyID() throws {
        let info = message(type: family, flags: 0, seq: seq, pid: pid,
                           [15, 1, 0, 0] + attr(1, le32(0x01_02_01)) + attr(2, le32(4096)))
        let ack = message(type: 2, flags: 0x100, seq: seq, pid: pid, le32(0) + [UInt8](repeating: 0, count: 16))
        let (status, messages) = parse(info + ack)
        #expect(status == .done)
        let decoded = try #require(IPVSDecoding.info(messages))
        #expect(decoded.versionString == "1.2.1")
        #expect(decoded.connectionTableSize == 4096)

        let newFamily = message(type: 0x10, flags: 0, seq: seq, pid: pid,
                                [1, 2, 0, 0] + attr(2, cString("IPVS")) + attr(1, le16(0x23)))
        let (_, familyMessages) = parse(newFamily + ack)
        #expect(GenericNetlink.decodeFamilyID(familyMessages) == 0x23)
    }

    @Test func rtmNewLinkReply() throws {
        let ifinfo: [UInt8] = [0, 0] + le16(1) + le32(4) + le32(0x1043) + le32(0)   // ARPHRD_ETHER, index 4, UP|BROADCAST|RUNNING|MULTICAST
        let body = ifinfo + attr(3, cString("v-rs1")) + attr(4, le32(1500))
            + attr(1, [0x02, 0x42, 0xac, 0x11, 0x00, 0x02]) + attr(10, le32(2))
            + nest(18, attr(1, cString("veth")))
        let (status, messages) = parse(message(type: 16, flags: 0, seq: seq, pid: pid, body))
        #expect(status == .more)                                                    // no ACK yet
        let link = try #require(messages.first.flatMap(Link.init(message:)))
        #expect(link == Link(index: 4, name: "v-rs1", mac: MACAddress("02:42:ac:11:00:02"), isUp: true,
                             masterIndex: 2, kind: "veth"))

        let down = [0, 0] + le16(772) + le32(1) + le32(0x8) + le32(0)           // loopback, not up
        let (_, lo) = parse(message(type: 16, flags: 0, seq: seq, pid: pid, down + attr(3, cString("lo"))))
        #expect(Link(message: lo[0]) == Link(index: 1, name: "lo", mac: nil, isUp: false, masterIndex: nil, kind: nil))
    }

    @Test func addressAndNeighbourReplies() throws {
        let addr = message(type: 20, flags: multi, seq: seq, pid: pid,
                           [2, 24, 0x80, 0] + le32(3) + attr(1, [198, 51, 100, 2]) + attr(2, [198, 51, 100, 2]))
        let neigh = message(type: 28, flags: multi, seq: seq, pid: pid,
                            [2, 0, 0, 0] + le32(3) + le16(0x02) + [0, 1]
                            + attr(1, [198, 51, 100, 9]) + attr(2, [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]))
        let (status, messages) = parse(addr + neigh + done)
        #expect(status == .done)
        #expect(InterfaceAddress(message: messages[0]) ==
                InterfaceAddress(linkIndex: 3, address: IPInterface("198.51.100.2/24")!))
        #expect(Neighbour(message: messages[1]) ==
                Neighbour(linkIndex: 3, address: IPAddress("198.51.100.9")!, mac: MACAddress("aa:bb:cc:dd:ee:ff"),
                          state: 0x02))
    }

    @Test func errorWithExtendedAck() {
        // struct nlmsgerr { int error; struct nlmsghdr msg; } with NLM_F_CAPPED | NLM_F_ACK_TLVS, then NLMSGERR_ATTR_MSG.
        let original = message(type: 16, flags: 0x605, seq: seq, []).prefix(16)
        let error = message(type: 2, flags: 0x300, seq: seq, pid: pid,
                            le32(UInt32(bitPattern: -17)) + Array(original) + attr(1, cString("Device exists")))
        let (status, messages) = parse(error)
        #expect(status == .failed(errno: 17, kernelMessage: "Device exists"))
        #expect(messages.isEmpty)
    }

    @Test func errorWithoutExtendedAckAndSequenceMismatch() {
        let plain = message(type: 2, flags: 0, seq: seq, pid: pid,
                            le32(UInt32(bitPattern: -22)) + message(type: 0x20, flags: 5, seq: seq, [5, 1, 0, 0]))
        #expect(parse(plain).0 == .failed(errno: 22, kernelMessage: nil))

        let stale = message(type: 2, flags: 0, seq: seq + 1, pid: pid, le32(0) + [UInt8](repeating: 0, count: 16))
        if case .failed = parse(stale).0 {} else { Issue.record("a reply to another sequence number must be rejected") }
    }

    @Test func dumpEndingWithError() {
        let failedDone = message(type: 3, flags: multi, seq: seq, pid: pid, le32(UInt32(bitPattern: -16)))
        #expect(parse(failedDone).0 == .failed(errno: 16, kernelMessage: nil))
    }

    @Test func errorDescriptionsAndHints() {
        let exists = NetlinkError(operation: "create bridge br0", errno: 17)
        #expect(exists.description == "create bridge br0: File exists (errno 17) — already exists")
        #expect(NetlinkError(operation: "x", errno: 1).description.hasSuffix("needs root (CAP_NET_ADMIN)"))
        #expect(NetlinkError(operation: "x", errno: 19).hint == nil)

        let sched = IPVSNetlink.annotate(NetlinkError(operation: "IPVS add service TCP 198.51.100.100:80", errno: 2),
                                         scheduler: "mh", destination: false)
        #expect(sched.description.contains("scheduler module ip_vs_mh not available"))
        let noService = IPVSNetlink.annotate(NetlinkError(operation: "IPVS delete service", errno: 3),
                                             scheduler: nil, destination: false)
        #expect(noService.hint == "no such service/destination")
        let invalid = IPVSNetlink.annotate(NetlinkError(operation: "IPVS add destination", errno: 22),
                                           scheduler: nil, destination: true)
        #expect(invalid.hint?.contains("not unicast") == true)
        #expect(invalid.hint?.contains("missing") == true)
        #expect(IPVSForwarding.directRoute.ipvsadmName == "Route")
        #expect(IPVSForwarding.masquerade.ipvsadmName == "Masq")
    }
}

/// Decoders for both families, and replies they must refuse rather than misread.
@Suite struct FamilyDecodingTests {
    let family: UInt16 = 0x2a
    let seq: UInt32 = 0x0102
    let pid: UInt32 = 0x0304

    func messages(_ datagram: [UInt8]) -> [NetlinkMessage] {
        let parser = NetlinkReplyParser(sequence: seq, portID: pid)
        _ = parser.process(datagram)
        return parser.messages
    }

    func one(_ body: [UInt8], type: UInt16? = nil) throws -> NetlinkMessage {
        try #require(messages(message(type: type ?? family, flags: NLM.multi, seq: seq, pid: pid, body)).first)
    }

    let addr6 = v6(0x2001, 0xdb8, 0, 0, 0, 0, 0xa, 1)

    @Test func ipv6ServiceEntry() throws {
        let service = nest(1, attr(1, le16(10)), attr(2, le16(6)), attr(3, addr6), attr(4, be16(443)),
                           attr(6, cString("sed")), attr(7, le32(0x1 | 0x2) + le32(0xffff_ffff)), attr(8, le32(90)),
                           attr(9, le32(64)))
        let entry = try #require(IPVSDecoding.serviceEntry(try one(genl(4) + service)))
        #expect(entry == IPVSServiceEntry(key: IPVSServiceKey(proto: .tcp, address: IPAddress("2001:db8::a:1")!, port: 443),
                                          schedulerName: "sed", flags: 0x1, timeout: 90, netmask: 64))
        #expect(entry.key.description == "TCP [2001:db8::a:1]:443")

        // /128, as ipvsadm and lblab add it, reads back as the all-ones default.
        let full = nest(1, attr(1, le16(10)), attr(2, le16(17)), attr(3, addr6), attr(4, be16(53)),
                        attr(6, cString("rr")), attr(9, le32(128)))
        #expect(IPVSDecoding.serviceEntry(try one(genl(4) + full))?.netmask == 0xffff_ffff)
    }

    /// What lblab sends for an IPv6 service decodes to the service it sent.
    @Test func ipv6ServiceRoundTrip() throws {
        let key = IPVSServiceKey(proto: .udp, address: IPAddress("2001:db8::53")!, port: 5353)
        for service in [IPVSService(key: key, scheduler: .wrr), IPVSService(key: key, scheduler: .sh, flags: 1, timeout: 30, netmask: 56)] {
            let request = IPVSRequests.encodeNewService(service, family: family, sequence: seq)
            // The request's attributes, replayed as a reply (same layout: genl header, SERVICE nest).
            let reply = message(type: family, flags: NLM.multi, seq: seq, pid: pid, Array(request[16...]))
            let m = try #require(messages(reply).first)
            let entry = try #require(IPVSDecoding.serviceEntry(m))
            #expect(entry.key == service.key)
            #expect(entry.scheduler == service.scheduler)
            #expect(entry.flags == service.flags && entry.timeout == service.timeout && entry.netmask == service.netmask)
        }
    }

    @Test func ipv6DestinationEntry() throws {
        let dest = nest(2, attr(1, v6(0x2001, 0xdb8, 0, 0, 0, 0, 0xb, 2)), attr(2, be16(8443)), attr(3, le32(2)),
                        attr(4, le32(12)), attr(5, le32(300)), attr(6, le32(30)), attr(7, le32(1)), attr(8, le32(6)),
                        attr(9, le32(0)), attr(11, le16(10)))
        let entry = try #require(IPVSDecoding.destinationEntry(try one(genl(8) + dest)))
        #expect(entry.destination == IPVSDestination(address: IPAddress("2001:db8::b:2")!, port: 8443, forwarding: .tunnel,
                                                     weight: 12, upperThreshold: 300, lowerThreshold: 30))
        #expect(entry.activeConnections == 1 && entry.inactiveConnections == 6 && entry.persistentConnections == 0)
    }

    /// Old kernels send no ADDR_FAMILY: the service's family decides how many bytes are the address.
    @Test func destinationWithoutAddressFamilyTakesTheServicesFamily() throws {
        let bytes = v6(0x2001, 0xdb8, 0, 0, 0, 0, 0xb, 2)
        let dest = nest(2, attr(1, bytes), attr(2, be16(80)), attr(3, le32(0)), attr(4, le32(1)))
        let m = try one(genl(8) + dest)
        #expect(IPVSDecoding.destinationEntry(m, serviceFamily: .ipv6)?.destination.address == IPAddress("2001:db8::b:2"))
        // Read as IPv4, the first four bytes of the same union.
        #expect(IPVSDecoding.destinationEntry(m)?.destination.address == IPAddress("32.1.13.184"))
        #expect(IPVSDecoding.destinationEntry(m)?.destination.forwarding == .masquerade)
    }

    @Test func refusesWhatItCannotRepresent() throws {
        // A fwmark service: no protocol, address or port.
        let fwmark = nest(1, attr(1, le16(2)), attr(5, le32(7)), attr(6, cString("rr")))
        #expect(IPVSDecoding.serviceEntry(try one(genl(4) + fwmark)) == nil)
        // SCTP (132): no TransportProtocol case.
        let sctp = nest(1, attr(1, le16(2)), attr(2, le16(132)), attr(3, inetAddr([192, 0, 2, 1])), attr(4, be16(80)))
        #expect(IPVSDecoding.serviceEntry(try one(genl(4) + sctp)) == nil)
        // An unknown address family.
        let af = nest(1, attr(1, le16(7)), attr(2, le16(6)), attr(3, inetAddr([192, 0, 2, 1])), attr(4, be16(80)))
        #expect(IPVSDecoding.serviceEntry(try one(genl(4) + af)) == nil)
        // An unknown scheduler is kept by name.
        let odd = nest(1, attr(1, le16(2)), attr(2, le16(6)), attr(3, inetAddr([192, 0, 2, 1])), attr(4, be16(80)), attr(6, cString("xyz")))
        let entry = try #require(IPVSDecoding.serviceEntry(try one(genl(4) + odd)))
        #expect(entry.schedulerName == "xyz" && entry.scheduler == nil)
        // Forwarding method 5 is not an IPVS method; the flag bits above the mask are ignored.
        let bad = nest(2, attr(1, inetAddr([192, 0, 2, 9])), attr(2, be16(80)), attr(3, le32(5)), attr(11, le16(2)))
        #expect(IPVSDecoding.destinationEntry(try one(genl(8) + bad)) == nil)
        let flagged = nest(2, attr(1, inetAddr([192, 0, 2, 9])), attr(2, be16(80)), attr(3, le32(0x100 | 3)), attr(11, le16(2)))
        #expect(IPVSDecoding.destinationEntry(try one(genl(8) + flagged))?.destination.forwarding == .directRoute)
    }

    @Test func ipv6AddressAndNeighbourReplies() throws {
        let a = v6(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x21)
        let addr = try one([10, 64, 0, 0] + le32(5) + attr(1, a) + attr(2, a), type: 20)
        #expect(InterfaceAddress(message: addr) == InterfaceAddress(linkIndex: 5, address: IPInterface("2001:db8:1::21/64")!))
        let ll = v6(0xfe80, 0, 0, 0, 0, 0, 0, 9)
        let neigh = try one([10, 0, 0, 0] + le32(5) + le16(0x80) + [0, 1] + attr(1, ll) + attr(2, [2, 0, 0, 0, 0, 9]), type: 28)
        #expect(Neighbour(message: neigh) == Neighbour(linkIndex: 5, address: IPAddress("fe80::9")!,
                                                       mac: MACAddress("02:00:00:00:00:09"), state: 0x80))
    }

    /// A point-to-point address: IFA_LOCAL is this end, IFA_ADDRESS the peer.
    @Test func localWinsOverPeerAddress() throws {
        let m = try one([2, 32, 0, 0] + le32(4) + attr(1, [10, 9, 9, 2]) + attr(2, [10, 9, 9, 1]), type: 20)
        #expect(InterfaceAddress(message: m)?.address == IPInterface("10.9.9.1/32"))
    }

    @Test func familyAndAddressMustAgree() throws {
        // The header says AF_INET, the address has 16 bytes (and the reverse): refused, not misread.
        let a = v6(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x21)
        #expect(InterfaceAddress(message: try one([2, 24, 0, 0] + le32(5) + attr(2, a), type: 20)) == nil)
        #expect(InterfaceAddress(message: try one([10, 24, 0, 0] + le32(5) + attr(2, [10, 0, 0, 1]), type: 20)) == nil)
        #expect(InterfaceAddress(message: try one([2, 33, 0, 0] + le32(5) + attr(2, [10, 0, 0, 1]), type: 20)) == nil)
        #expect(Neighbour(message: try one([2, 0, 0, 0] + le32(5) + le16(2) + [0, 1] + attr(1, a), type: 28)) == nil)
        // Not the message type the decoder reads.
        #expect(InterfaceAddress(message: try one([2, 24, 0, 0] + le32(5) + attr(2, [10, 0, 0, 1]), type: 21)) == nil)
    }
}
