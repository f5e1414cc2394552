import LblabTypes
import Testing

/// The typed enums that run from the lab file to the netlink attribute: each case's spelling in
/// the lab file, in ipvsadm's options and listing, and the kernel's number.
@Suite struct LoadBalancingTests {
    @Test(arguments: [
        (LabMode.dr, Forwarding.route), (.nat, .masq), (.tun, .tunnel),
    ])
    func modeAndForwardingGoTogether(mode: LabMode, forwarding: Forwarding) {
        #expect(mode.defaultForwarding == forwarding)
        #expect(forwarding.mode == mode)
    }

    @Test(arguments: [
        (Forwarding.route, "route", "-g", "Route"), (.masq, "masq", "-m", "Masq"), (.tunnel, "tunnel", "-i", "Tunnel"),
    ])
    func forwardingSpellings(forwarding: Forwarding, file: String, flag: String, listed: String) {
        #expect(forwarding.rawValue == file)
        #expect(Forwarding(rawValue: file) == forwarding)
        #expect(forwarding.ipvsadmFlag == flag)
        #expect(forwarding.ipvsadmName == listed)
    }

    @Test func modesAreSpelledAsInTheLabFile() {
        #expect(LabMode.allCases.map(\.rawValue) == ["dr", "nat", "tun", "dns"])
        #expect(LabMode.allCases.filter(\.usesIPVS) == [.dr, .nat, .tun])
        #expect(Forwarding.allCases.count == 3)
    }

    @Test(arguments: [(TransportProtocol.tcp, UInt8(6), "-t", "TCP"), (.udp, 17, "-u", "UDP")])
    func transportProtocols(proto: TransportProtocol, number: UInt8, flag: String, listed: String) {
        #expect(proto.number == number)
        #expect(proto.ipvsadmFlag == flag)
        #expect(proto.ipvsadmName == listed)
    }

    /// The kernel's schedulers: names as `ipvsadm -s` takes them and the module of each.
    @Test func schedulers() {
        #expect(Scheduler.allCases.map(\.rawValue)
                == ["rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "dh", "lblc", "lblcr", "mh", "fo", "ovf", "twos"])
        #expect(Scheduler.wrr.module == "ip_vs_wrr")
        #expect(Scheduler.lblcr.module == "ip_vs_lblcr")
        #expect(Scheduler(rawValue: "RR") == nil)
    }

    @Test func addressFamilies() {
        #expect(IPFamily.ipv4.addressFamily == 2)
        #expect(IPFamily.ipv6.addressFamily == 10)
        #expect(IPFamily.ipv4.bitWidth == 32)
        #expect(IPFamily.ipv6.bitWidth == 128)
    }
}

@Suite struct IPv4Tests {
    @Test func parsesDottedQuadsOnly() {
        #expect(IPv4Address("192.0.2.1")?.value == 0xC000_0201)
        for bad in ["192.0.2", "192.0.2.1.5", "192.0.2.256", "192.0.2.-1", "192.0..1", "0x1.2.3.4", "1.2.3.0001", "", "a.b.c.d"] {
            #expect(IPv4Address(bad) == nil, "\(bad)")
        }
        #expect(IPv4Address(198, 51, 100, 7).description == "198.51.100.7")
        #expect(IPv4Address(198, 51, 100, 7).bytes == [198, 51, 100, 7])
        #expect(IPv4Address(bytes: [203, 0, 113, 9]) == IPv4Address("203.0.113.9"))
        #expect(IPv4Address(bytes: [203, 0, 113]) == nil)
    }

    @Test func interfaces() throws {
        let a = try #require(IPv4Interface("203.0.113.35/28"))
        #expect(a.network == IPv4Address("203.0.113.32"))
        #expect(a.broadcast == IPv4Address("203.0.113.47"))
        #expect(a.mask == 0xffff_fff0)
        #expect(a.contains(IPv4Address("203.0.113.46")!) && !a.contains(IPv4Address("203.0.113.48")!))
        #expect(IPv4Interface("10.0.0.1")?.prefixLength == 32)
        #expect(IPv4Interface("0.0.0.0/0")?.mask == 0)
        #expect(IPv4Interface("10.0.0.1/33") == nil)
        // The family-neutral view agrees.
        let b = IPInterface(a)
        #expect(b.network == IPAddress("203.0.113.32") && b.broadcast == IPAddress("203.0.113.47") && b.size == 16)
        #expect(b.subnet.description == "203.0.113.32/28")
        #expect(b.ipv4 == a)
    }

    @Test func advancingWithinIPv4() {
        #expect(IPAddress("198.51.100.101")!.advanced(by: 63) == IPAddress("198.51.100.164"))
        #expect(IPAddress("198.51.100.255")!.advanced(by: 1) == IPAddress("198.51.101.0"), "carries into the next octet")
    }

    @Test func textForms() {
        let a = IPAddress("2001:db8::1")!
        #expect(a.description == "2001:db8::1")
        #expect(IPInterface("198.51.100.2/24")!.description == "198.51.100.2/24")
        #expect(IPInterface(host: IPAddress("198.51.100.100")!).description == "198.51.100.100/32")
        #expect(IPInterface(host: a).prefixLength == 128)
    }
}
