import LblabTypes
import Testing
@testable import LblabRuntime

/// `lblab status` prints the IPVS table byte for byte as `ipvsadm -Ln` does.
@Suite struct IPVSListingTests {
    typealias S = IPVSListing.Service
    typealias D = IPVSListing.Destination

    static func v4(_ s: String) -> IPAddress { IPAddress(s)! }
    static func tcp(_ a: String, _ port: UInt16) -> IPVSListing.Key { .address(protocol: 6, address: IPAddress(a)!, port: port) }
    static func udp(_ a: String, _ port: UInt16) -> IPVSListing.Key { .address(protocol: 17, address: IPAddress(a)!, port: port) }
    static func dest(_ a: String, _ port: UInt16, _ fwd: UInt32, _ w: UInt32, active: UInt32 = 0, inactive: UInt32 = 0) -> D {
        D(address: IPAddress(a)!, port: port, forwarding: fwd, weight: w, activeConnections: active, inactiveConnections: inactive)
    }

    /// Lines written with a `|` after the last character, so trailing spaces stay visible and
    /// no editor can strip them.
    static func text(_ lines: [String]) -> String {
        lines.map { line in
            precondition(line.hasSuffix("|"), "expected line without its end marker: \(line)")
            return String(line.dropLast()) + "\n"
        }.joined()
    }

    /// What `ipvsadm -Ln` (1.31, Debian 12) printed on kernel 6.1.0-56-amd64 for the table that
    /// Fixtures/ipvsadm-table.sh builds, captured in the kernel VM. The same table is given
    /// to the renderer below in another order (services shuffled, destinations in the kernel's
    /// order: newest first), as netlink hands them over.
    static let captured = text([
        "IP Virtual Server version 1.2.1 (size=4096)|",
        "Prot LocalAddress:Port Scheduler Flags|",
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn|",
        "TCP  198.51.100.100:80 rr|",
        "  -> 198.51.100.21:80             Route   3      0          0         |",
        "  -> 198.51.100.22:80             Route   1      0          0         |",
        "TCP  198.51.100.100:443 wlc persistent 600 mask 255.255.255.0|",
        "  -> 192.0.2.1:443                Route   1      0          0         |",
        "  -> 200.0.0.1:443                Route   1      0          0         |",
        "  -> 10.0.0.9:443                 Route   1      0          0         |",
        "TCP  198.51.100.100:8080 wrr|",
        "  -> 10.0.0.1:80                  Masq    2      0          0         |",
        "  -> 10.0.0.1:8081                Masq    65535  0          0         |",
        "  -> 10.0.0.2:80                  Masq    0      0          0         |",
        "TCP  198.51.100.101:22 lc persistent 360|",
        "  -> 203.0.113.5:22               Tunnel  4      0          0         |",
        "TCP  198.51.100.102:80 rr (flag-1,flag-3)|",
        "TCP  198.51.100.103:80 rr|",
        "  -> 127.0.0.1:80                 Route   1      0          0         |",
        "  -> 192.0.2.1:80                 Route   1      0          0         |",
        "  -> 200.0.0.1:80                 Route   1      0          0         |",
        "  -> 10.0.0.9:80                  Route   1      0          0         |",
        "UDP  198.51.100.100:53 sh (sh-fallback,sh-port) ops|",
        "  -> 198.51.100.21:53             Masq    1      0          0         |",
        "  -> 198.51.100.22:53             Tunnel  2      0          0         |",
        "UDP  198.51.100.100:123 mh (mh-port)|",
        "UDP  198.51.100.100:5060 rr persistent 60 mask 255.255.0.0 pe sip ops|",
        "SCTP 198.51.100.100:9 dh|",
        "TCP  [2001:db8::100]:80 rr persistent 120 mask 64|",
        "  -> 192.0.2.7:80                 Tunnel  1      0          0         |",
        "  -> [2001:db8::22]:80            Route   1      0          0         |",
        "  -> [2001:db8:1234:5678:9abc:def0:1234:5678]:8080 Masq    7      0          0         |",
        "UDP  [2001:db8::100]:53 sh persistent 360|",
        "  -> [2001:db8::21]:53            Masq    1      0          0         |",
        "FWM  7 rr|",
        "  -> 198.51.100.21:0              Route   1      0          0         |",
        "FWM  8 IPv6 wrr persistent 30 mask 64|",
    ])

    static let capturedTable = IPVSListing(version: 0x010201, connectionTableSize: 4096, services: [
        S(key: .fwmark(8, family: .ipv6), scheduler: "wrr", flags: S.persistent, timeout: 30, netmask: 64),
        S(key: .address(protocol: 132, address: v4("198.51.100.100"), port: 9), scheduler: "dh"),
        S(key: udp("2001:db8::100", 53), scheduler: "sh", flags: S.persistent, timeout: 360,
          destinations: [dest("2001:db8::21", 53, D.masquerade, 1)]),
        S(key: tcp("198.51.100.100", 8080), scheduler: "wrr", destinations: [
            dest("10.0.0.1", 80, D.masquerade, 2), dest("10.0.0.1", 8081, D.masquerade, 65535), dest("10.0.0.2", 80, D.masquerade, 0),
        ]),
        S(key: .fwmark(7, family: .ipv4), scheduler: "rr", destinations: [dest("198.51.100.21", 0, D.directRoute, 1)]),
        S(key: udp("198.51.100.100", 5060), scheduler: "rr", flags: S.persistent | S.onePacket, timeout: 60,
          netmask: 0xffff_0000, persistenceEngine: "sip"),
        S(key: tcp("198.51.100.100", 443), scheduler: "wlc", flags: S.persistent, timeout: 600, netmask: 0xffff_ff00, destinations: [
            dest("192.0.2.1", 443, D.directRoute, 1), dest("10.0.0.9", 443, D.directRoute, 1), dest("200.0.0.1", 443, D.directRoute, 1),
        ]),
        S(key: tcp("2001:db8::100", 80), scheduler: "rr", flags: S.persistent, timeout: 120, netmask: 64, destinations: [
            dest("192.0.2.7", 80, D.tunnel, 1), dest("2001:db8:1234:5678:9abc:def0:1234:5678", 8080, D.masquerade, 7),
            dest("2001:db8::22", 80, D.directRoute, 1),
        ]),
        S(key: udp("198.51.100.100", 123), scheduler: "mh", flags: S.schedulerFlag2),
        S(key: tcp("198.51.100.101", 22), scheduler: "lc", flags: S.persistent, timeout: 360,
          destinations: [dest("203.0.113.5", 22, D.tunnel, 4)]),
        S(key: udp("198.51.100.100", 53), scheduler: "sh", flags: S.schedulerFlag1 | S.schedulerFlag2 | S.onePacket, destinations: [
            dest("198.51.100.21", 53, D.masquerade, 1), dest("198.51.100.22", 53, D.tunnel, 2),
        ]),
        S(key: tcp("198.51.100.102", 80), scheduler: "rr", flags: S.schedulerFlag1 | S.schedulerFlag3),
        S(key: tcp("198.51.100.103", 80), scheduler: "rr", destinations: ["200.0.0.1", "10.0.0.9", "192.0.2.1", "127.0.0.1"].map {
            dest($0, 80, D.directRoute, 1)
        }),
        S(key: tcp("198.51.100.100", 80), scheduler: "rr", destinations: [
            dest("198.51.100.21", 80, D.directRoute, 3), dest("198.51.100.22", 80, D.directRoute, 1),
        ]),
    ])

    @Test func rendersWhatIpvsadmPrintedForTheSameTable() {
        let rendered = Self.capturedTable.render()
        #expect(rendered == Self.captured, "\n--- lblab\n\(rendered)--- ipvsadm -Ln\n\(Self.captured)")
    }

    /// Services come out in the same order whatever order they are given in (their order is
    /// total); so do destinations, except where libipvs' wrapping comparison is not a total
    /// order (198.51.100.103, whose kernel order the fixture fixes).
    @Test func theOrderOfTheInputDoesNotMatterWhereTheOrderIsTotal() {
        var reversed = Self.capturedTable
        reversed.services.reverse()
        for i in reversed.services.indices where reversed.services[i].key != Self.tcp("198.51.100.103", 80) {
            reversed.services[i].destinations.reverse()
        }
        #expect(reversed.render() == Self.captured)
    }

    /// Issue 5: the service line had padding after the address, and the destinations came
    /// in the kernel's order (newest first) instead of ipvsadm's (sorted).
    @Test func drBasicAsTheIssueReportedIt() {
        let table = IPVSListing(version: 0x010201, connectionTableSize: 4096, services: [
            S(key: Self.tcp("198.51.100.100", 80), scheduler: "rr", destinations: [
                Self.dest("198.51.100.22", 80, D.directRoute, 1, inactive: 500),
                Self.dest("198.51.100.21", 80, D.directRoute, 1, active: 2, inactive: 498),
            ]),
        ])
        #expect(table.render() == Self.text([
            "IP Virtual Server version 1.2.1 (size=4096)|",
            "Prot LocalAddress:Port Scheduler Flags|",
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn|",
            "TCP  198.51.100.100:80 rr|",
            "  -> 198.51.100.21:80             Route   1      2          498       |",
            "  -> 198.51.100.22:80             Route   1      0          500       |",
        ]))
    }

    @Test func anEmptyTableIsTheHeaderOnly() {
        #expect(IPVSListing(version: 0x010203, connectionTableSize: 1 << 20, services: []).render() == Self.text([
            "IP Virtual Server version 1.2.3 (size=1048576)|",
            "Prot LocalAddress:Port Scheduler Flags|",
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn|",
        ]))
    }

    /// printf's `%-10u` pads and never cuts; `%-6d` prints the weight as a signed int.
    @Test func wideNumbersPushTheColumnsInsteadOfBeingCut() {
        let line = IPVSListing.destinationLine(Self.dest("198.51.100.21", 80, D.directRoute, 4_294_967_295,
                                                         active: 4_294_967_295, inactive: 3_000_000_000))
        #expect(line == "  -> 198.51.100.21:80             Route   -1     4294967295 3000000000")
    }

    @Test func forwardingMethodsAsIpvsadmNamesThem() {
        #expect((0...7).map { IPVSListing.forwardingName(UInt32($0)) } == ["Masq", "Local", "Tunnel", "Route", "(null)", "(null)", "(null)", "(null)"])
        // Only the low three bits are the method (IP_VS_CONN_F_FWD_MASK).
        #expect(IPVSListing.forwardingName(0x100 | 3) == "Route")
    }

    /// `print_sched_flags`: sh and mh name two flags and ignore the third; the parentheses
    /// are printed whenever any scheduler flag is set.
    @Test func schedulerFlags() {
        func line(_ scheduler: String, _ flags: UInt32) -> String {
            IPVSListing.serviceLine(S(key: Self.tcp("192.0.2.1", 80), scheduler: scheduler, flags: flags))
        }
        #expect(line("sh", S.schedulerFlag2) == "TCP  192.0.2.1:80 sh (sh-port)")
        #expect(line("sh", S.schedulerFlag3) == "TCP  192.0.2.1:80 sh ()")
        #expect(line("mh", S.schedulerFlag1 | S.schedulerFlag2) == "TCP  192.0.2.1:80 mh (mh-fallback,mh-port)")
        #expect(line("wlc", S.schedulerFlag2) == "TCP  192.0.2.1:80 wlc (flag-2)")
        #expect(line("rr", S.onePacket | 0x2) == "TCP  192.0.2.1:80 rr ops", "the kernel's HASHED flag (0x2) prints nothing")
    }

    /// The mask is printed only with persistence, and only when it is not the full one.
    @Test func persistenceMasks() {
        func line(_ key: IPVSListing.Key, _ flags: UInt32, _ netmask: UInt32?) -> String {
            IPVSListing.serviceLine(S(key: key, scheduler: "rr", flags: flags, timeout: 300, netmask: netmask))
        }
        #expect(line(Self.tcp("192.0.2.1", 80), 0, 0xffff_ff00) == "TCP  192.0.2.1:80 rr")
        #expect(line(Self.tcp("192.0.2.1", 80), S.persistent, nil) == "TCP  192.0.2.1:80 rr persistent 300")
        #expect(line(Self.tcp("192.0.2.1", 80), S.persistent, 0) == "TCP  192.0.2.1:80 rr persistent 300 mask 0.0.0.0")
        #expect(line(Self.tcp("2001:db8::1", 80), S.persistent, nil) == "TCP  [2001:db8::1]:80 rr persistent 300")
        #expect(line(Self.tcp("2001:db8::1", 80), S.persistent, 48) == "TCP  [2001:db8::1]:80 rr persistent 300 mask 48")
        #expect(line(Self.tcp("2001:db8::1", 80), S.persistent, 0xffff_ffff) == "TCP  [2001:db8::1]:80 rr persistent 300",
                "LblabNetlink reads an IPv6 /128 as all ones")
        #expect(line(.fwmark(1, family: .ipv4), S.persistent, 0xff00_0000) == "FWM  1 rr persistent 300 mask 255.0.0.0")
        #expect(line(.address(protocol: 47, address: IPAddress("192.0.2.1")!, port: 0), 0, nil) == "?    192.0.2.1:0 rr")
    }

    /// IPv6 text is the C library's (`inet_ntop`): the longest zero run compressed, IPv4-mapped
    /// addresses dotted.
    @Test func ipv6AddressesAsInetNtopWritesThem() {
        #expect(IPVSListing.addressAndPort(IPAddress("2001:db8:0:0:1:0:0:1")!, 80) == "[2001:db8::1:0:0:1]:80")
        #expect(IPVSListing.addressAndPort(IPAddress("::ffff:192.0.2.5")!, 80) == "[::ffff:192.0.2.5]:80")
        #expect(IPVSListing.addressAndPort(IPAddress("::")!, 0) == "[::]:0")
    }

    /// glibc's merge sort with libipvs' comparator, whose unsigned differences wrap, so the
    /// order is neither numeric nor the input's. By hand, for the kernel's order
    /// [200.0.0.1, 10.0.0.9, 192.0.2.1, 127.0.0.1]: halves [200, 10] -> (200-10 wraps
    /// negative) [200, 10] and [192, 127] -> (192-127 positive) [127, 192]; merging: 200-127
    /// positive takes 127, 200-192 positive takes 192, then 200 and 10. The fixture script
    /// builds this very service (TCP 198.51.100.103:80) and ipvsadm printed the same order.
    @Test func destinationOrderWrapsLikeLibipvs() {
        let order = IPVSListing.ipvsadmSorted(["200.0.0.1", "10.0.0.9", "192.0.2.1", "127.0.0.1"].map { Self.dest($0, 80, D.directRoute, 1) },
                                              by: IPVSListing.compareDestinations).map(\.address.description)
        #expect(order == ["127.0.0.1", "192.0.2.1", "200.0.0.1", "10.0.0.9"])
    }
}
