import Testing
@testable import LblabNetlink
import LblabTypes

/// Exact request bytes, derived by hand from <linux/netlink.h>, <linux/rtnetlink.h>,
/// <linux/if_link.h>, <linux/if_tunnel.h>, <linux/veth.h>, <linux/genetlink.h> and <linux/ip_vs.h>.
///
/// Fixture values are chosen so that no two fields share a value or a byte pattern: a weight that
/// is no forwarding constant, ports and sequence numbers whose bytes differ when swapped, distinct
/// thresholds. A swapped attribute, a wrong byte order or a wrong constant changes the bytes.
@Suite struct IPVSEncodingTests {
    let family: UInt16 = 0x2a
    /// TCP 198.51.100.100:80.
    let vip = IPVSServiceKey(proto: .tcp, address: IPAddress("198.51.100.100")!, port: 80)
    /// UDP [2001:db8::a:1]:53.
    let vip6 = IPVSServiceKey(proto: .udp, address: IPAddress("2001:db8::a:1")!, port: 53)

    var vipKey: [UInt8] {
        attr(1, le16(2)) + attr(2, le16(6)) + attr(3, inetAddr([198, 51, 100, 100])) + attr(4, be16(80))
    }
    var vip6Key: [UInt8] {
        attr(1, le16(10)) + attr(2, le16(17)) + attr(3, v6(0x2001, 0xdb8, 0, 0, 0, 0, 0xa, 1)) + attr(4, be16(53))
    }

    @Test func genlGetFamily() {
        let bytes = GenericNetlink.encodeGetFamily(name: "IPVS", sequence: 9)
        let expected: [UInt8] = [
            32, 0, 0, 0,  0x10, 0,  0x05, 0,  9, 0, 0, 0,  0, 0, 0, 0,          // to GENL_ID_CTRL, REQUEST|ACK
            3, 1, 0, 0,                                                         // CTRL_CMD_GETFAMILY v1
            9, 0, 2, 0,  0x49, 0x50, 0x56, 0x53, 0, 0, 0, 0,                    // FAMILY_NAME "IPVS\0"
        ]
        #expect(bytes == expected)
    }

    @Test func getInfo() {
        #expect(IPVSRequests.encodeGetInfo(family: family, sequence: 0x0102_0304)
                == [20, 0, 0, 0,  0x2a, 0,  0x05, 0,  4, 3, 2, 1,  0, 0, 0, 0,  15, 1, 0, 0])
    }

    @Test func newServiceIPv4() {
        let service = IPVSService(key: vip, scheduler: .wlc, flags: 0x5, timeout: 300, netmask: 0xffff_ff00)
        let bytes = IPVSRequests.encodeNewService(service, family: family, sequence: 0x0102_0304)
        let expected: [UInt8] = [
            104, 0, 0, 0,  0x2a, 0x00,  0x05, 0x00,  4, 3, 2, 1,  0, 0, 0, 0,   // nlmsghdr: REQUEST|ACK
            1, 1, 0, 0,                                                         // genl: NEW_SERVICE v1
            84, 0, 0x01, 0x80,                                                  // IPVS_CMD_ATTR_SERVICE, nested
            6, 0, 1, 0,  2, 0, 0, 0,                                            // AF = AF_INET
            6, 0, 2, 0,  6, 0, 0, 0,                                            // PROTOCOL = TCP
            20, 0, 3, 0,  198, 51, 100, 100,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0, // ADDR (nf_inet_addr)
            6, 0, 4, 0,  0x00, 0x50, 0, 0,                                      // PORT 80, network order
            8, 0, 6, 0,  0x77, 0x6c, 0x63, 0,                                   // SCHED_NAME "wlc\0"
            12, 0, 7, 0,  5, 0, 0, 0,  0xff, 0xff, 0xff, 0xff,                  // FLAGS {persistent|one-packet, mask ~0}
            8, 0, 8, 0,  0x2c, 0x01, 0, 0,                                      // TIMEOUT 300
            8, 0, 9, 0,  0xff, 0xff, 0xff, 0x00,                                // NETMASK /24, network order
        ]
        #expect(bytes == expected)
    }

    @Test func setServiceIsNewServiceWithCommand2() {
        let service = IPVSService(key: vip, scheduler: .sh, flags: 0x1, timeout: 0x0102, netmask: 0xffff_fff0)
        let bytes = IPVSRequests.encodeNewService(service, family: family, sequence: 77, command: 2)
        let expected = message(type: 0x2a, flags: NLM.request | NLM.ack, seq: 77, genl(2) + nest(1,
            vipKey,
            attr(6, cString("sh")),
            attr(7, le32(1) + le32(0xffff_ffff)),
            attr(8, le32(0x0102)),
            attr(9, [0xff, 0xff, 0xff, 0xf0])))
        #expect(bytes == expected)
    }

    /// An IPv6 service: AF_INET6, the 16 address bytes, and the netmask as the kernel wants it for
    /// IPv6, a prefix length 1-128 in host order (`ip_vs_add_service` rejects anything else with
    /// EINVAL; ipvsadm sends 128).
    @Test func newServiceIPv6() {
        let service = IPVSService(key: vip6, scheduler: .mh)
        let bytes = IPVSRequests.encodeNewService(service, family: family, sequence: 0x0a0b)
        let expected = message(type: 0x2a, flags: NLM.request | NLM.ack, seq: 0x0a0b, genl(1) + nest(1,
            vip6Key,
            attr(6, cString("mh")),
            attr(7, le32(0) + le32(0xffff_ffff)),
            attr(8, le32(0)),
            attr(9, le32(128))))
        #expect(bytes == expected)
        #expect(Array(bytes[24..<32]) == [6, 0, 1, 0, 10, 0, 0, 0], "AF_INET6 = 10")

        let persistent = IPVSService(key: vip6, scheduler: .rr, flags: 1, timeout: 60, netmask: 64)
        let p = IPVSRequests.encodeNewService(persistent, family: family, sequence: 1)
        #expect(Array(p.suffix(8)) == [8, 0, 9, 0, 64, 0, 0, 0], "an IPv6 persistence prefix /64")
    }

    @Test func deleteService() {
        #expect(IPVSRequests.encodeDeleteService(vip, family: family, sequence: 0x0506)
                == message(type: 0x2a, flags: NLM.request | NLM.ack, seq: 0x0506, genl(3) + nest(1, vipKey)))
        #expect(IPVSRequests.encodeDeleteService(vip6, family: family, sequence: 0x0506)
                == message(type: 0x2a, flags: NLM.request | NLM.ack, seq: 0x0506, genl(3) + nest(1, vip6Key)))
    }

    @Test func dumpsAndFlush() {
        #expect(IPVSRequests.encodeGetServices(family: family, sequence: 3)
                == [20, 0, 0, 0,  0x2a, 0,  0x01, 0x03,  3, 0, 0, 0,  0, 0, 0, 0,  4, 1, 0, 0]) // REQUEST|DUMP
        #expect(IPVSRequests.encodeFlush(family: family, sequence: 4)
                == [20, 0, 0, 0,  0x2a, 0,  0x05, 0,  4, 0, 0, 0,  0, 0, 0, 0,  17, 1, 0, 0])
        #expect(IPVSRequests.encodeGetDestinations(service: vip, family: family, sequence: 0x0708)
                == message(type: 0x2a, flags: NLM.request | NLM.dump, seq: 0x0708, genl(8) + nest(1, vipKey)))
        #expect(IPVSRequests.encodeGetDestinations(service: vip6, family: family, sequence: 0x0708)
                == message(type: 0x2a, flags: NLM.request | NLM.dump, seq: 0x0708, genl(8) + nest(1, vip6Key)))
    }

    @Test func newDestinationIPv4() {
        let dest = IPVSDestination(address: IPAddress("10.0.0.2")!, port: 8080, forwarding: .directRoute, weight: 7,
                                   upperThreshold: 0x0300, lowerThreshold: 0x11)
        let bytes = IPVSRequests.encodeNewDestination(dest, service: vip, family: family, sequence: 0x0102_0304)
        let expected: [UInt8] = [
            140, 0, 0, 0,  0x2a, 0x00,  0x05, 0x00,  4, 3, 2, 1,  0, 0, 0, 0,
            5, 1, 0, 0,                                                         // genl: NEW_DEST v1
            48, 0, 0x01, 0x80,                                                  // SERVICE (key only)
            6, 0, 1, 0,  2, 0, 0, 0,
            6, 0, 2, 0,  6, 0, 0, 0,
            20, 0, 3, 0,  198, 51, 100, 100,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,
            6, 0, 4, 0,  0x00, 0x50, 0, 0,
            72, 0, 0x02, 0x80,                                                  // IPVS_CMD_ATTR_DEST, nested
            20, 0, 1, 0,  10, 0, 0, 2,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,   // ADDR
            6, 0, 2, 0,  0x1f, 0x90, 0, 0,                                      // PORT 8080, network order
            8, 0, 3, 0,  3, 0, 0, 0,                                            // FWD_METHOD droute (3)
            8, 0, 4, 0,  7, 0, 0, 0,                                            // WEIGHT 7 (u32)
            8, 0, 5, 0,  0x00, 0x03, 0, 0,                                      // U_THRESH 768
            8, 0, 6, 0,  0x11, 0, 0, 0,                                         // L_THRESH 17
            6, 0, 11, 0,  2, 0, 0, 0,                                           // ADDR_FAMILY AF_INET
        ]
        #expect(bytes == expected)
    }

    @Test func setDestinationIsNewDestinationWithCommand6() {
        let dest = IPVSDestination(address: IPAddress("10.0.0.3")!, port: 81, forwarding: .masquerade, weight: 9,
                                   upperThreshold: 40, lowerThreshold: 20)
        let bytes = IPVSRequests.encodeNewDestination(dest, service: vip, family: family, sequence: 0x99, command: 6)
        let expected = message(type: 0x2a, flags: NLM.request | NLM.ack, seq: 0x99, genl(6)
            + nest(1, vipKey)
            + nest(2, attr(1, inetAddr([10, 0, 0, 3])), attr(2, be16(81)), attr(3, le32(0)), attr(4, le32(9)),
                   attr(5, le32(40)), attr(6, le32(20)), attr(11, le16(2))))
        #expect(bytes == expected)
    }

    /// The lab's forwarding reaches the kernel as its `IP_VS_CONN_F_*` method: masq 0, tunnel 2, route 3.
    @Test(arguments: [(Forwarding.route, UInt32(3)), (.masq, 0), (.tunnel, 2)])
    func forwardingMethodOnTheWire(forward: Forwarding, method: UInt32) {
        let fwd = IPVSForwarding(forward)
        #expect(fwd.rawValue == method)
        #expect(fwd.forwarding == forward)
        #expect(fwd.ipvsadmName == forward.ipvsadmName, "lblab status prints what ipvsadm -Ln prints")
        let dest = IPVSDestination(address: IPAddress("10.0.0.2")!, port: 8080, forwarding: fwd, weight: 5)
        let bytes = IPVSRequests.encodeNewDestination(dest, service: vip, family: family, sequence: 1)
        let fwdAttr = attr(3, le32(method))
        #expect(Array(bytes[(20 + 48 + 4 + 20 + 8)...].prefix(8)) == fwdAttr, "FWD_METHOD right after ADDR and PORT")
    }

    @Test func kernelOnlyForwardingMethodsMapToNoLabForwarding() {
        #expect(IPVSForwarding.local.forwarding == nil)
        #expect(IPVSForwarding.bypass.forwarding == nil)
        #expect(IPVSForwarding.local.ipvsadmName == "Local")
        #expect(IPVSForwarding.tunnel.ipvsadmName == "Tunnel")
    }

    @Test func newDestinationIPv6() {
        let dest = IPVSDestination(address: IPAddress("2001:db8::b:2")!, port: 5353, forwarding: .tunnel, weight: 11,
                                   upperThreshold: 0x1234, lowerThreshold: 0x56)
        let bytes = IPVSRequests.encodeNewDestination(dest, service: vip6, family: family, sequence: 0x0c0d)
        let expected = message(type: 0x2a, flags: NLM.request | NLM.ack, seq: 0x0c0d, genl(5)
            + nest(1, vip6Key)
            + nest(2, attr(1, v6(0x2001, 0xdb8, 0, 0, 0, 0, 0xb, 2)), attr(2, be16(5353)), attr(3, le32(2)),
                   attr(4, le32(11)), attr(5, le32(0x1234)), attr(6, le32(0x56)), attr(11, le16(10))))
        #expect(bytes == expected)
    }

    @Test func deleteDestination() {
        let del = IPVSRequests.encodeDeleteDestination(address: IPAddress("10.0.0.2")!, port: 8080, service: vip,
                                                       family: family, sequence: 0x0203)
        let expected: [UInt8] = [
            108, 0, 0, 0,  0x2a, 0,  0x05, 0,  3, 2, 0, 0,  0, 0, 0, 0,
            7, 1, 0, 0,                                                         // genl: DEL_DEST v1
            48, 0, 0x01, 0x80,
            6, 0, 1, 0,  2, 0, 0, 0,
            6, 0, 2, 0,  6, 0, 0, 0,
            20, 0, 3, 0,  198, 51, 100, 100,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,
            6, 0, 4, 0,  0x00, 0x50, 0, 0,
            40, 0, 0x02, 0x80,                                                  // DEST: ADDR, PORT, ADDR_FAMILY
            20, 0, 1, 0,  10, 0, 0, 2,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,
            6, 0, 2, 0,  0x1f, 0x90, 0, 0,
            6, 0, 11, 0,  2, 0, 0, 0,
        ]
        #expect(del == expected)

        let del6 = IPVSRequests.encodeDeleteDestination(address: IPAddress("2001:db8::b:2")!, port: 5353, service: vip6,
                                                        family: family, sequence: 0x0203)
        #expect(del6 == message(type: 0x2a, flags: NLM.request | NLM.ack, seq: 0x0203, genl(7)
            + nest(1, vip6Key)
            + nest(2, attr(1, v6(0x2001, 0xdb8, 0, 0, 0, 0, 0xb, 2)), attr(2, be16(5353)), attr(11, le16(10)))))
    }

    @Test func inetAddressPadsIPv4AndKeepsIPv6() {
        #expect(IPVSRequests.inetAddress(IPAddress("192.0.2.7")!) == [192, 0, 2, 7] + [UInt8](repeating: 0, count: 12))
        #expect(IPVSRequests.inetAddress(IPAddress("2001:db8::7")!) == v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7))
    }
}

@Suite struct RouteEncodingTests {
    let createFlags = NLM.request | NLM.ack | NLM.excl | NLM.create   // 0x0605

    @Test func createBridge() {
        let bytes = RouteRequests.encodeCreateBridge(name: "br-front", sequence: 0x0304)
        let expected: [UInt8] = [
            64, 0, 0, 0,  16, 0,  0x05, 0x06,  4, 3, 0, 0,  0, 0, 0, 0,         // RTM_NEWLINK, create exclusive
        ] + ifinfomsg() + [
            13, 0, 3, 0,  0x62, 0x72, 0x2d, 0x66, 0x72, 0x6f, 0x6e, 0x74, 0, 0, 0, 0, // IFLA_IFNAME "br-front\0"
            16, 0, 18, 0x80,                                                    // IFLA_LINKINFO
            11, 0, 1, 0,  0x62, 0x72, 0x69, 0x64, 0x67, 0x65, 0, 0,             //   IFLA_INFO_KIND "bridge\0"
        ]
        #expect(bytes == expected)
    }

    @Test func createVeth() {
        let bytes = RouteRequests.encodeCreateVeth(name: "v-rs1", peerName: "eth0", peerNamespaceFD: 5, sequence: 9)
        let expected: [UInt8] = [
            104, 0, 0, 0,  16, 0,  0x05, 0x06,  9, 0, 0, 0,  0, 0, 0, 0,        // RTM_NEWLINK, create exclusive
        ] + ifinfomsg() + [
            10, 0, 3, 0,  0x76, 0x2d, 0x72, 0x73, 0x31, 0, 0, 0,                // IFLA_IFNAME "v-rs1"
            60, 0, 18, 0x80,                                                    // IFLA_LINKINFO
            9, 0, 1, 0,  0x76, 0x65, 0x74, 0x68, 0, 0, 0, 0,                    //   IFLA_INFO_KIND "veth"
            44, 0, 2, 0x80,                                                     //   IFLA_INFO_DATA
            40, 0, 1, 0x80,                                                     //     VETH_INFO_PEER
        ] + ifinfomsg() + [
            9, 0, 3, 0,  0x65, 0x74, 0x68, 0x30, 0, 0, 0, 0,                    //       IFLA_IFNAME "eth0"
            8, 0, 28, 0,  5, 0, 0, 0,                                           //       IFLA_NET_NS_FD 5
        ]
        #expect(bytes == expected)

        // Without a namespace the peer stays in the same namespace: no IFLA_NET_NS_FD.
        let local = RouteRequests.encodeCreateVeth(name: "a", peerName: "b", peerNamespaceFD: nil, sequence: 1)
        #expect(local == message(type: 16, flags: createFlags, seq: 1, ifinfomsg() + attr(3, cString("a"))
            + nest(18, attr(1, cString("veth")), nest(2, nest(1, ifinfomsg() + attr(3, cString("b")))))))
    }

    @Test func setMaster() {
        let bytes = RouteRequests.encodeSetMaster(linkIndex: 7, masterIndex: 2, sequence: 0x0b)
        #expect(bytes == [40, 0, 0, 0,  16, 0,  0x05, 0,  0x0b, 0, 0, 0,  0, 0, 0, 0,
                          0, 0, 0, 0,  7, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,         // ifinfomsg index 7
                          8, 0, 10, 0,  2, 0, 0, 0])                                  // IFLA_MASTER 2
    }

    @Test func setUp() {
        #expect(RouteRequests.encodeSetUp(linkIndex: 4, sequence: 1)
                == [32, 0, 0, 0,  16, 0,  0x05, 0,  1, 0, 0, 0,  0, 0, 0, 0,
                    0, 0, 0, 0,  4, 0, 0, 0,  1, 0, 0, 0,  1, 0, 0, 0])              // flags = change = IFF_UP
    }

    @Test func getLink() {
        #expect(RouteRequests.encodeGetLink(name: "eth1", sequence: 0x0201)
                == message(type: 18, flags: NLM.request | NLM.ack, seq: 0x0201, ifinfomsg() + attr(3, cString("eth1"))))
    }

    /// `ip link add ipip0 type ipip local 198.51.100.21`.
    @Test func createIPIPTunnel() {
        let bytes = RouteRequests.encodeCreateIPIPTunnel(name: "ipip0", local: IPv4Address("198.51.100.21")!, sequence: 0x0506)
        let expected: [UInt8] = [
            72, 0, 0, 0,  16, 0,  0x05, 0x06,  6, 5, 0, 0,  0, 0, 0, 0,         // RTM_NEWLINK, create exclusive
        ] + ifinfomsg() + [
            10, 0, 3, 0,  0x69, 0x70, 0x69, 0x70, 0x30, 0, 0, 0,                // IFLA_IFNAME "ipip0"
            28, 0, 18, 0x80,                                                    // IFLA_LINKINFO
            9, 0, 1, 0,  0x69, 0x70, 0x69, 0x70, 0, 0, 0, 0,                    //   IFLA_INFO_KIND "ipip"
            12, 0, 2, 0x80,                                                     //   IFLA_INFO_DATA
            8, 0, 2, 0,  198, 51, 100, 21,                                      //     IFLA_IPTUN_LOCAL
        ]
        #expect(bytes == expected)
    }

    @Test func addAddressIPv4() {
        let bytes = RouteRequests.encodeAddAddress(IPInterface("198.51.100.2/24")!, linkIndex: 3, sequence: 7)
        let expected: [UInt8] = [
            48, 0, 0, 0,  20, 0,  0x05, 0x06,  7, 0, 0, 0,  0, 0, 0, 0,         // RTM_NEWADDR, REQUEST|ACK|EXCL|CREATE
            2, 24, 0, 0,  3, 0, 0, 0,                                           // ifaddrmsg AF_INET /24 index 3
            8, 0, 2, 0,  198, 51, 100, 2,                                       // IFA_LOCAL
            8, 0, 1, 0,  198, 51, 100, 2,                                       // IFA_ADDRESS
            8, 0, 4, 0,  198, 51, 100, 255,                                     // IFA_BROADCAST
        ]
        #expect(bytes == expected)

        // A /28 in the middle of a /24: broadcast from the prefix, not .255.
        let small = RouteRequests.encodeAddAddress(IPInterface("203.0.113.35/28")!, linkIndex: 2, sequence: 8)
        #expect(small == message(type: 20, flags: createFlags, seq: 8, [2, 28, 0, 0] + le32(2)
            + attr(2, [203, 0, 113, 35]) + attr(1, [203, 0, 113, 35]) + attr(4, [203, 0, 113, 47])))

        // A /30 still has a broadcast address; a point-to-point /31 has none (RFC 3021).
        let thirty = RouteRequests.encodeAddAddress(IPInterface("192.0.2.5/30")!, linkIndex: 2, sequence: 8)
        #expect(Array(thirty.suffix(8)) == [8, 0, 4, 0, 192, 0, 2, 7])
        let p2p = RouteRequests.encodeAddAddress(IPInterface("192.0.2.4/31")!, linkIndex: 2, sequence: 8)
        #expect(p2p == message(type: 20, flags: createFlags, seq: 8, [2, 31, 0, 0] + le32(2)
            + attr(2, [192, 0, 2, 4]) + attr(1, [192, 0, 2, 4])))

        // A VIP as /32: no IFA_BROADCAST.
        let host = RouteRequests.encodeAddAddress(IPInterface("198.51.100.100/32")!, linkIndex: 1, sequence: 8)
        #expect(host == message(type: 20, flags: createFlags, seq: 8, [2, 32, 0, 0] + le32(1)
            + attr(2, [198, 51, 100, 100]) + attr(1, [198, 51, 100, 100])))
    }

    @Test func addAddressIPv6() {
        let bytes = RouteRequests.encodeAddAddress(IPInterface("2001:db8:1::21/64")!, linkIndex: 0x0102, sequence: 3)
        let a = v6(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x21)
        // ifa_flags IFA_F_NODAD (0x02): no duplicate address detection, as `ip addr add … nodad`.
        #expect(bytes == message(type: 20, flags: createFlags, seq: 3, [10, 64, 0x02, 0] + le32(0x0102)
            + attr(2, a) + attr(1, a)))
    }

    /// `ip -6 route add 2001:db8:9::/48 dev eth1`: IPv6 routes are scope universe even without a gateway.
    @Test func onLinkIPv6RouteIsScopeUniverse() {
        let route = RouteRequests.encodeAddRoute(to: IPInterface("2001:db8:9::/48")!, via: nil, linkIndex: 6, sequence: 0x12)
        #expect(route == message(type: 24, flags: createFlags, seq: 0x12, [10, 48, 0, 0, 254, 3, 0, 1] + le32(0)
            + attr(1, v6(0x2001, 0xdb8, 9, 0, 0, 0, 0, 0)) + attr(4, le32(6))))
    }

    /// The runtime flushes the client's neighbour entry for an IPv6 VIP: ndm_family AF_INET6, 16-byte NDA_DST.
    @Test func deleteNeighbourIPv6() {
        let bytes = RouteRequests.encodeDeleteNeighbour(IPAddress("2001:db8::100")!, linkIndex: 6, sequence: 2)
        #expect(bytes == message(type: 29, flags: 0x05, seq: 2, [10, 0, 0, 0] + le32(6) + [0, 0, 0, 0]
            + attr(1, v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100))))
    }

    @Test func addRouteWithGatewayAndInterface() {
        let route = RouteRequests.encodeAddRoute(to: IPInterface("203.0.113.9/24")!, via: IPAddress("198.51.100.254"),
                                                 linkIndex: 2, sequence: 5)
        let expected: [UInt8] = [
            52, 0, 0, 0,  24, 0,  0x05, 0x06,  5, 0, 0, 0,  0, 0, 0, 0,         // RTM_NEWROUTE
            2, 24, 0, 0,  254, 3, 0, 1,  0, 0, 0, 0,                            // rtmsg: main, boot, universe, unicast
            8, 0, 1, 0,  203, 0, 113, 0,                                        // RTA_DST (network, host bits cleared)
            8, 0, 5, 0,  198, 51, 100, 254,                                     // RTA_GATEWAY
            8, 0, 4, 0,  2, 0, 0, 0,                                            // RTA_OIF
        ]
        #expect(route == expected)
    }

    /// The NAT real server's route: `ip route add default via 203.0.113.1`.
    @Test func defaultRouteViaGateway() {
        let route = RouteRequests.encodeAddRoute(to: IPInterface("0.0.0.0/0")!, via: IPAddress("203.0.113.1"),
                                                 linkIndex: nil, sequence: 0x0d)
        #expect(route == [36, 0, 0, 0,  24, 0,  0x05, 0x06,  0x0d, 0, 0, 0,  0, 0, 0, 0,
                          2, 0, 0, 0,  254, 3, 0, 1,  0, 0, 0, 0,               // /0: no RTA_DST; scope universe
                          8, 0, 5, 0,  203, 0, 113, 1])                          // RTA_GATEWAY
    }

    /// `ip route add 192.0.2.0/24 dev eth1`: scope link, no gateway.
    @Test func onLinkRouteWithoutGateway() {
        let route = RouteRequests.encodeAddRoute(to: IPInterface("192.0.2.0/24")!, via: nil, linkIndex: 6, sequence: 0x0e)
        #expect(route == [44, 0, 0, 0,  24, 0,  0x05, 0x06,  0x0e, 0, 0, 0,  0, 0, 0, 0,
                          2, 24, 0, 0,  254, 3, 253, 1,  0, 0, 0, 0,            // scope link (253)
                          8, 0, 1, 0,  192, 0, 2, 0,
                          8, 0, 4, 0,  6, 0, 0, 0])
        let onLinkDefault = RouteRequests.encodeAddRoute(to: IPInterface("0.0.0.0/0")!, via: nil, linkIndex: 2, sequence: 6)
        #expect(onLinkDefault == message(type: 24, flags: createFlags, seq: 6,
                                         [2, 0, 0, 0, 254, 3, 253, 1] + le32(0) + attr(4, le32(2))))
    }

    @Test func addRouteIPv6() {
        let route = RouteRequests.encodeAddRoute(to: IPInterface("2001:db8:2::/48")!, via: IPAddress("2001:db8:1::1"),
                                                 linkIndex: nil, sequence: 0x11)
        #expect(route == message(type: 24, flags: createFlags, seq: 0x11, [10, 48, 0, 0, 254, 3, 0, 1] + le32(0)
            + attr(1, v6(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0)) + attr(5, v6(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1))))
    }

    @Test func deleteNeighbour() {
        let bytes = RouteRequests.encodeDeleteNeighbour(IPAddress("198.51.100.7")!, linkIndex: 6, sequence: 2)
        #expect(bytes == [36, 0, 0, 0,  29, 0,  0x05, 0,  2, 0, 0, 0,  0, 0, 0, 0,
                          2, 0, 0, 0,  6, 0, 0, 0,  0, 0, 0, 0,                  // ndmsg AF_INET, ifindex 6
                          8, 0, 1, 0,  198, 51, 100, 7])                         // NDA_DST
        let six = RouteRequests.encodeDeleteNeighbour(IPAddress("fe80::1:2")!, linkIndex: 0x0304, sequence: 2)
        #expect(six == message(type: 29, flags: NLM.request | NLM.ack, seq: 2,
                               [10, 0, 0, 0] + le32(0x0304) + [0, 0, 0, 0] + attr(1, v6(0xfe80, 0, 0, 0, 0, 0, 1, 2))))
    }

    @Test func dumps() {
        #expect(RouteRequests.encodeDump(type: 18, family: 0, sequence: 0x21)
                == message(type: 18, flags: NLM.request | NLM.dump, seq: 0x21, ifinfomsg()))
        #expect(RouteRequests.encodeDump(type: 22, family: 2, sequence: 0x22)
                == message(type: 22, flags: NLM.request | NLM.dump, seq: 0x22, [2, 0, 0, 0, 0, 0, 0, 0]))
        #expect(RouteRequests.encodeDump(type: 30, family: 10, sequence: 0x23)
                == message(type: 30, flags: NLM.request | NLM.dump, seq: 0x23, [10, 0, 0, 0] + le32(0) + [0, 0, 0, 0]))
    }
}
