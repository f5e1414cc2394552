import Testing
@testable import LblabNetlink

/// The one-request link creations `lblab up` uses to build a lab fast: requested ifindexes, the
/// bridge port enslaved and both veth ends up at creation. Bytes built with the hand-written
/// helpers of Bytes.swift from <linux/rtnetlink.h>, <linux/if_link.h> and <linux/veth.h>.
@Suite struct LinkCreationEncodingTests {
    let newLink: UInt16 = 16                        // RTM_NEWLINK
    let createExclusive: UInt16 = 0x0605            // REQUEST | ACK | EXCL | CREATE
    let iffUp: UInt32 = 1

    @Test func bridgeWithRequestedIndex() {
        let bytes = RouteRequests.encodeCreateBridge(name: "br-lan", index: 100, sequence: 3)
        #expect(bytes == message(type: newLink, flags: createExclusive, seq: 3,
                                 ifinfomsg(index: 100) + attr(3, cString("br-lan")) + nest(18, attr(1, cString("bridge")))))
        // Index 0 is the kernel's choice: the same request as before indexes could be asked for.
        #expect(RouteRequests.encodeCreateBridge(name: "br-lan", index: 0, sequence: 3)
                == RouteRequests.encodeCreateBridge(name: "br-lan", sequence: 3))
    }

    @Test func vethWithIndexesMasterAndUp() {
        let bytes = RouteRequests.encodeCreateVeth(name: "rs1", peerName: "eth0", peerNamespaceFD: 7, index: 101, up: true,
                                                   masterIndex: 100, peerIndex: 100, sequence: 9)
        let expected = message(type: newLink, flags: createExclusive, seq: 9,
            ifinfomsg(index: 101, flags: iffUp, change: iffUp)          // the switch end: ifindex 101, up
            + attr(3, cString("rs1"))                                   // IFLA_IFNAME
            + attr(10, le32(100))                                       // IFLA_MASTER: the bridge's ifindex
            + nest(18,                                                  // IFLA_LINKINFO
                   attr(1, cString("veth")),                            //   IFLA_INFO_KIND
                   nest(2,                                              //   IFLA_INFO_DATA
                        nest(1,                                         //     VETH_INFO_PEER
                             ifinfomsg(index: 100)              // the peer: ifindex 100 (still down)
                             + attr(3, cString("eth0"))
                             + attr(28, le32(7))))))                    //       IFLA_NET_NS_FD
        #expect(bytes == expected)
    }

    @Test func vethDefaultsAreThePlainRequest() {
        let plain = RouteRequests.encodeCreateVeth(name: "rs1", peerName: "eth0", peerNamespaceFD: 7, sequence: 9)
        let explicit = RouteRequests.encodeCreateVeth(name: "rs1", peerName: "eth0", peerNamespaceFD: 7, index: 0, up: false,
                                                      masterIndex: nil, peerIndex: 0, sequence: 9)
        #expect(plain == explicit)
        #expect(plain == message(type: newLink, flags: createExclusive, seq: 9,
            ifinfomsg() + attr(3, cString("rs1"))
            + nest(18, attr(1, cString("veth")), nest(2, nest(1, ifinfomsg() + attr(3, cString("eth0")) + attr(28, le32(7)))))))
    }
}
