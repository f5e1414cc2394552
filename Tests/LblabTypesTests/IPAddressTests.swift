import LblabTypes
import Testing

@Suite struct IPAddressTests {
    @Test(arguments: [
        ("2001:db8::1", "2001:db8::1"),
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("::", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),   // the first of two equal runs
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"), // one zero group is not compressed
        ("::ffff:192.0.2.1", "::ffff:c000:201"),
        ("fe80::a:b", "fe80::a:b"),
    ])
    func ipv6RoundTripsToRFC5952(_ text: String, _ canonical: String) throws {
        let a = try #require(IPv6Address(text))
        #expect(a.description == canonical)
        #expect(IPv6Address(canonical) == a)
        #expect(IPv6Address(bytes: a.bytes) == a)
    }

    @Test(arguments: ["", ":", ":::", "1:::2", "1::2::3", "12345::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9",
                      "g::1", "1:2:3:4:5:6:7:8::", "::1.2.3", "1::2:", ":1::2"])
    func ipv6RejectsMalformedText(_ text: String) {
        #expect(IPv6Address(text) == nil, "\(text)")
    }

    @Test func ipv6BytesAreNetworkOrder() throws {
        let a = try #require(IPv6Address("2001:db8::a:102"))
        #expect(a.bytes == [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0x01, 0x02])
    }

    @Test func ipAddressParsesBothFamilies() throws {
        #expect(IPAddress("198.51.100.1")?.family == .ipv4)
        #expect(IPAddress("2001:db8::1")?.family == .ipv6)
        #expect(IPAddress("198.51.100") == nil)
        #expect(IPAddress("198.51.100.1")?.bytes == [198, 51, 100, 1])
        #expect(IPAddress(bytes: [198, 51, 100, 7]) == IPAddress("198.51.100.7"))
        #expect(IPAddress("2001:db8::1")!.withPort(80) == "[2001:db8::1]:80")
        #expect(IPAddress("192.0.2.1")! < IPAddress("::1")!)
    }

    @Test func advancingCarriesAcrossTheIPv6Halves() throws {
        #expect(IPAddress("198.51.100.21")!.advanced(by: 63) == IPAddress("198.51.100.84"))
        #expect(IPAddress("2001:db8::ffff:ffff:ffff:ffff")!.advanced(by: 2) == IPAddress("2001:db8:0:1::1"))
    }

    @Test func interfacesKnowTheirSubnet() throws {
        let v4 = try #require(IPInterface("198.51.100.21/24"))
        #expect(v4.network == IPAddress("198.51.100.0"))
        #expect(v4.broadcast == IPAddress("198.51.100.255"))
        #expect(v4.contains(IPAddress("198.51.100.200")!))
        #expect(!v4.contains(IPAddress("198.51.101.1")!))
        #expect(!v4.contains(IPAddress("2001:db8::1")!))
        #expect(v4.size == 256)
        let v6 = try #require(IPInterface("2001:db8:1:2::21/64"))
        #expect(v6.network == IPAddress("2001:db8:1:2::"))
        #expect(v6.broadcast == nil)
        #expect(v6.contains(IPAddress("2001:db8:1:2:ffff::1")!))
        #expect(!v6.contains(IPAddress("2001:db8:1:3::1")!))
        let v6b = try #require(IPInterface("2001:db8::1:0/112"))
        #expect(v6b.contains(IPAddress("2001:db8::1:ffff")!) && !v6b.contains(IPAddress("2001:db8::2:0")!))
        #expect(IPInterface("2001:db8::1")?.prefixLength == 128)
        #expect(IPInterface("198.51.100.1/33") == nil && IPInterface("2001:db8::1/129") == nil && IPInterface("1.2.3.4/+8") == nil)
    }
}
