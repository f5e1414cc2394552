import Testing
@testable import LblabNetlink
import LblabTypes

/// Exact request bytes, derived by hand from <linux/netlink.h>, <linux/rtnetlink.h>,
/// <linux/if_link.h>, <linux/veth.h>, <linux/genetlink.h> and <linux/ip_vs.h>.
@Suite struct EncodingTests {
    let vip = IPVSServiceKey(proto: .tcp, address: IPv4Address("198.51.100.100")!, port: 80)

    @Test func ipvsNewService() {
        let service = IPVSService(key: vip, scheduler: "rr", flags: 0x1, timeout: 300, netmask: 0xffff_ff00)
        let bytes = IPVSRequests.encodeNewService(service, family: 0x20, sequence: 1)
        let expected: [UInt8] = [
            104, 0, 0, 0,  0x20, 0x00,  0x05, 0x00,  1, 0, 0, 0,  0, 0, 0, 0,   // nlmsghdr: REQUEST|ACK
            1, 1, 0, 0,                                                         // genl: NEW_SERVICE v1
            84, 0, 0x01, 0x80,                                                  // IPVS_CMD_ATTR_SERVICE, nested
            6, 0, 1, 0,  2, 0, 0, 0,                                            // AF = AF_INET
            6, 0, 2, 0,  6, 0, 0, 0,                                            // PROTOCOL = TCP
            20, 0, 3, 0,  198, 51, 100, 100,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0, // ADDR (nf_inet_addr)
            6, 0, 4, 0,  0x00, 0x50, 0, 0,                                      // PORT 80, network order
            7, 0, 6, 0,  0x72, 0x72, 0, 0,                                      // SCHED_NAME "rr\0"
            12, 0, 7, 0,  1, 0, 0, 0,  0xff, 0xff, 0xff, 0xff,                  // FLAGS {persistent, mask ~0}
            8, 0, 8, 0,  0x2c, 0x01, 0, 0,                                      // TIMEOUT 300
            8, 0, 9, 0,  0xff, 0xff, 0xff, 0x00,                                // NETMASK /24, network order
        ]
        #expect(bytes == expected)
    }

    @Test func ipvsNewDestination() {
        let dest = IPVSDestination(address: IPv4Address("10.0.0.2")!, port: 8080, forwarding: .directRoute, weight: 3,
                                   upperThreshold: 0x100, lowerThreshold: 0)
        let bytes = IPVSRequests.encodeNewDestination(dest, service: vip, family: 0x20, sequence: 0x01020304)
        let expected: [UInt8] = [
            140, 0, 0, 0,  0x20, 0x00,  0x05, 0x00,  4, 3, 2, 1,  0, 0, 0, 0,
            5, 1, 0, 0,                                                         // genl: NEW_DEST v1
            48, 0, 0x01, 0x80,                                                  // SERVICE (key only)
            6, 0, 1, 0,  2, 0, 0, 0,
            6, 0, 2, 0,  6, 0, 0, 0,
            20, 0, 3, 0,  198, 51, 100, 100,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,
            6, 0, 4, 0,  0x00, 0x50, 0, 0,
            72, 0, 0x02, 0x80,                                                  // IPVS_CMD_ATTR_DEST, nested
            20, 0, 1, 0,  10, 0, 0, 2,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,   // ADDR
            6, 0, 2, 0,  0x1f, 0x90, 0, 0,                                      // PORT 8080, network order
            8, 0, 3, 0,  3, 0, 0, 0,                                            // FWD_METHOD droute
            8, 0, 4, 0,  3, 0, 0, 0,                                            // WEIGHT (u32)
            8, 0, 5, 0,  0x00, 0x01, 0, 0,                                      // U_THRESH 256
            8, 0, 6, 0,  0, 0, 0, 0,                                            // L_THRESH
            6, 0, 11, 0,  2, 0, 0, 0,                                           // ADDR_FAMILY AF_INET
        ]
        #expect(bytes == expected)
    }

    @Test func ipvsDeleteDestinationAndDumps() {
        let del = IPVSRequests.encodeDeleteDestination(address: IPv4Address("10.0.0.2")!, port: 8080, service: vip,
                                                       family: 0x20, sequence: 2)
        #expect(Array(del[16..<20]) == [7, 1, 0, 0])                            // DEL_DEST v1
        #expect(Array(del[4..<8]) == [0x20, 0, 0x05, 0])
        #expect(del.count == 16 + 4 + 48 + 4 + 20 + 8 + 8)

        let dump = IPVSRequests.encodeGetServices(family: 0x20, sequence: 3)
        #expect(dump == [20, 0, 0, 0,  0x20, 0,  0x01, 0x03,  3, 0, 0, 0,  0, 0, 0, 0,  4, 1, 0, 0]) // REQUEST|DUMP

        let flush = IPVSRequests.encodeFlush(family: 0x20, sequence: 4)
        #expect(flush == [20, 0, 0, 0,  0x20, 0,  0x05, 0,  4, 0, 0, 0,  0, 0, 0, 0,  17, 1, 0, 0])
    }

    @Test func genlGetFamily() {
        let bytes = GenericNetlink.encodeGetFamily(name: "IPVS", sequence: 9)
        let expected: [UInt8] = [
            32, 0, 0, 0,  0x10, 0,  0x05, 0,  9, 0, 0, 0,  0, 0, 0, 0,          // to GENL_ID_CTRL
            3, 1, 0, 0,                                                         // CTRL_CMD_GETFAMILY v1
            9, 0, 2, 0,  0x49, 0x50, 0x56, 0x53, 0, 0, 0, 0,                    // FAMILY_NAME "IPVS\0"
        ]
        #expect(bytes == expected)
    }

    @Test func rtmNewAddress() {
        let bytes = RouteRequests.encodeAddAddress(IPv4Interface("198.51.100.2/24")!, linkIndex: 3, sequence: 7)
        let expected: [UInt8] = [
            48, 0, 0, 0,  20, 0,  0x05, 0x06,  7, 0, 0, 0,  0, 0, 0, 0,         // RTM_NEWADDR, REQUEST|ACK|EXCL|CREATE
            2, 24, 0, 0,  3, 0, 0, 0,                                           // ifaddrmsg AF_INET /24 index 3
            8, 0, 2, 0,  198, 51, 100, 2,                                       // IFA_LOCAL
            8, 0, 1, 0,  198, 51, 100, 2,                                       // IFA_ADDRESS
            8, 0, 4, 0,  198, 51, 100, 255,                                     // IFA_BROADCAST
        ]
        #expect(bytes == expected)

        let host = RouteRequests.encodeAddAddress(IPv4Interface("10.9.9.9/32")!, linkIndex: 1, sequence: 8)
        #expect(host.count == 40)                                               // no IFA_BROADCAST for /32
        #expect(Array(host[16..<24]) == [2, 32, 0, 0, 1, 0, 0, 0])
    }

    @Test func rtmNewLinkVeth() {
        let bytes = RouteRequests.encodeCreateVeth(name: "v-rs1", peerName: "eth0", peerNamespaceFD: 5, sequence: 9)
        let ifinfo = [UInt8](repeating: 0, count: 16)
        let expected: [UInt8] = [
            104, 0, 0, 0,  16, 0,  0x05, 0x06,  9, 0, 0, 0,  0, 0, 0, 0,        // RTM_NEWLINK, create exclusive
        ] + ifinfo + [
            10, 0, 3, 0,  0x76, 0x2d, 0x72, 0x73, 0x31, 0, 0, 0,                // IFLA_IFNAME "v-rs1"
            60, 0, 18, 0x80,                                                    // IFLA_LINKINFO
            9, 0, 1, 0,  0x76, 0x65, 0x74, 0x68, 0, 0, 0, 0,                    //   IFLA_INFO_KIND "veth"
            44, 0, 2, 0x80,                                                     //   IFLA_INFO_DATA
            40, 0, 1, 0x80,                                                     //     VETH_INFO_PEER
        ] + ifinfo + [
            9, 0, 3, 0,  0x65, 0x74, 0x68, 0x30, 0, 0, 0, 0,                    //       IFLA_IFNAME "eth0"
            8, 0, 28, 0,  5, 0, 0, 0,                                           //       IFLA_NET_NS_FD 5
        ]
        #expect(bytes == expected)
    }

    @Test func rtmSetUpAndRoute() {
        let up = RouteRequests.encodeSetUp(linkIndex: 4, sequence: 1)
        #expect(up == [32, 0, 0, 0,  16, 0,  0x05, 0,  1, 0, 0, 0,  0, 0, 0, 0,
                       0, 0, 0, 0,  4, 0, 0, 0,  1, 0, 0, 0,  1, 0, 0, 0])       // flags = change = IFF_UP

        let route = RouteRequests.encodeAddRoute(to: IPv4Interface("203.0.113.9/24")!, via: IPv4Address("198.51.100.254"),
                                                 linkIndex: 2, sequence: 5)
        let expected: [UInt8] = [
            52, 0, 0, 0,  24, 0,  0x05, 0x06,  5, 0, 0, 0,  0, 0, 0, 0,         // RTM_NEWROUTE
            2, 24, 0, 0,  254, 3, 0, 1,  0, 0, 0, 0,                            // rtmsg: main, boot, universe, unicast
            8, 0, 1, 0,  203, 0, 113, 0,                                        // RTA_DST (network, host bits cleared)
            8, 0, 5, 0,  198, 51, 100, 254,                                     // RTA_GATEWAY
            8, 0, 4, 0,  2, 0, 0, 0,                                            // RTA_OIF
        ]
        #expect(route == expected)

        let onLink = RouteRequests.encodeAddRoute(to: IPv4Interface("0.0.0.0/0")!, via: nil, linkIndex: 2, sequence: 6)
        #expect(Array(onLink[16..<28]) == [2, 0, 0, 0, 254, 3, 253, 1, 0, 0, 0, 0]) // scope link, no RTA_DST
        #expect(onLink.count == 16 + 12 + 8)
    }

    @Test func rtmDeleteNeighbour() {
        let bytes = RouteRequests.encodeDeleteNeighbour(IPv4Address("198.51.100.7")!, linkIndex: 6, sequence: 2)
        #expect(bytes == [36, 0, 0, 0,  29, 0,  0x05, 0,  2, 0, 0, 0,  0, 0, 0, 0,
                          2, 0, 0, 0,  6, 0, 0, 0,  0, 0, 0, 0,                  // ndmsg
                          8, 0, 1, 0,  198, 51, 100, 7])                         // NDA_DST
    }
}
