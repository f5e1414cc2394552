import LblabCapture
import LblabTypes
import Testing
@testable import LblabDNS

private func a(_ s: String) -> IPv4Address { IPv4Address(s)! }

@Suite struct DNSMessageTests {
    @Test func roundTripKeepsAnswerOrderAndTTL() {
        let m = DNSMessage(id: 7, isResponse: true, question: "www.lab.test",
                           answers: [.init(name: "www.lab.test", ttl: 5, address: a("192.0.2.23")), .init(name: "www.lab.test", ttl: 5, address: a("192.0.2.21"))])
        let back = DNSMessage(bytes: m.encoded())
        #expect(back == m)
        #expect(back?.answers.map(\.address) == [a("192.0.2.23"), a("192.0.2.21")])
    }

    /// A response as dnsmasq writes it: answer names are compression pointers to the question.
    @Test func compressionPointersAndOtherRecordTypes() {
        var b: [UInt8] = [0x12, 0x34, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0]
        b += [3] + Array("www".utf8) + [3] + Array("lab".utf8) + [4] + Array("TEST".utf8) + [0, 0, 1, 0, 1]
        b += [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 192, 0, 2, 22]
        b += [0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 5, 0, 2, 1, 65]          // a TXT record: skipped
        b += [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 3, 0, 4, 192, 0, 2, 21]
        let m = DNSMessage(bytes: b)
        #expect(m?.id == 0x1234)
        #expect(m?.isResponse == true)
        #expect(m?.question == "www.lab.test")
        #expect(m?.answers.map(\.address) == [a("192.0.2.22"), a("192.0.2.21")])
        #expect(m?.answers.map(\.ttl) == [5, 3])
    }

    @Test func truncatedOrLoopingMessagesAreRejected() {
        let good = DNSMessage(id: 1, isResponse: false, question: "www.lab.test").encoded()
        #expect(DNSMessage(bytes: good.prefix(15)) == nil)
        var loop: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]
        #expect(DNSMessage(bytes: loop) == nil)
        loop[13] = 200
        #expect(DNSMessage(bytes: loop) == nil)
    }

    @Test func framesYieldOnlyDNS() {
        let payload = DNSMessage(id: 9, isResponse: false, question: "www.lab.test").encoded()
        func frame(sport: UInt16, dport: UInt16, proto: UInt8 = 17) -> CapturedFrame {
            var f = [UInt8](repeating: 0xaa, count: 12) + [0x08, 0x00]
            let total = 20 + 8 + payload.count
            f += [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0, 0, 0x40, 0, 64, proto, 0, 0, 192, 0, 2, 10, 192, 0, 2, 53]
            f += [UInt8(sport >> 8), UInt8(sport & 0xff), UInt8(dport >> 8), UInt8(dport & 0xff), UInt8((8 + payload.count) >> 8), UInt8((8 + payload.count) & 0xff), 0, 0]
            return CapturedFrame(timestamp: 1.5, bytes: f + payload)
        }
        let frames = CapturedFrames([frame(sport: 40000, dport: 53), frame(sport: 40000, dport: 80), frame(sport: 53, dport: 40000, proto: 6)])
        let packets = DNSPackets.extract(frames)
        #expect(packets.count == 1)
        #expect(packets.first?.source == a("192.0.2.10"))
        #expect(packets.first?.destination == a("192.0.2.53"))
        #expect(packets.first?.time == 1.5)
        #expect(packets.first?.message.id == 9)
    }

    @Test func clientRecordLines() {
        let out = """
        t=1795645380.027702 ms=1.504 addrs=192.0.2.21,192.0.2.23 chosen=192.0.2.21 server=w1 err=-
        lblab-agent: something else
        t=1795645381.000000 ms=2000.100 addrs=192.0.2.22 chosen=192.0.2.22 server=- err=connect:ECONNREFUSED
        t=1795645382.000000 ms=3.000 addrs=- chosen=- server=- err=resolve:-2
        """
        let r = ClientRecord.parse(out, client: "c1")
        #expect(r.count == 3)
        #expect(r[0].addresses == [a("192.0.2.21"), a("192.0.2.23")])
        #expect(r[0].server == "w1" && r[0].error == nil)
        #expect(r[1].server == nil && r[1].error == "connect:ECONNREFUSED" && r[1].chosen == a("192.0.2.22"))
        #expect(r[2].addresses.isEmpty && r[2].chosen == nil && r[2].error == "resolve:-2")
    }
}

@Suite struct AddressSortingTests {
    let answer = [a("192.0.2.140"), a("192.0.2.22"), a("192.0.2.11")]

    /// What glibc 2.36 did on this machine (see AddressSorting's comment).
    @Test func sameSubnetLongestPrefixFirst() {
        #expect(AddressSorting.glibcOrder(answer, source: IPv4Interface("192.0.2.10/24")!) == [a("192.0.2.11"), a("192.0.2.22"), a("192.0.2.140")])
        #expect(AddressSorting.defeatsRotation(answer, source: IPv4Interface("192.0.2.10/24")!) == a("192.0.2.11"))
    }

    @Test func outsideTheSubnetKeepsTheAnswersOrder() {
        #expect(AddressSorting.glibcOrder(answer, source: IPv4Interface("192.0.2.10/28")!) == [a("192.0.2.11"), a("192.0.2.140"), a("192.0.2.22")])
        #expect(AddressSorting.glibcOrder(answer, source: IPv4Interface("192.0.2.30/28")!) == [a("192.0.2.22"), a("192.0.2.140"), a("192.0.2.11")])
        let far = [a("198.51.100.22"), a("198.51.100.21")]
        #expect(AddressSorting.glibcOrder(far, source: IPv4Interface("192.0.2.10/24")!) == far)
        #expect(AddressSorting.defeatsRotation(far, source: IPv4Interface("192.0.2.10/24")!) == nil)
    }

    /// Equal keys (.21/.22/.23 all differ from .10 in bit 5): rotation survives.
    @Test func equalKeysKeepRotation() {
        let rr = [a("192.0.2.23"), a("192.0.2.21"), a("192.0.2.22")]
        #expect(AddressSorting.glibcOrder(rr, source: IPv4Interface("192.0.2.10/24")!) == rr)
        #expect(AddressSorting.defeatsRotation(rr, source: IPv4Interface("192.0.2.10/24")!) == nil)
    }
}

@Suite struct DaemonConfigTests {
    @Test func dnsmasqArguments() {
        let c = DNSServerConfig(listen: a("192.0.2.53"), name: "www.lab.test", ttl: 5, addresses: [a("192.0.2.21"), a("192.0.2.22")])
        #expect(c.arguments.first == "dnsmasq")
        #expect(c.arguments.contains("--no-daemon"))
        #expect(c.arguments.contains("--listen-address=192.0.2.53"))
        #expect(c.arguments.filter { $0.hasPrefix("--host-record=") } == ["--host-record=www.lab.test,192.0.2.21,5", "--host-record=www.lab.test,192.0.2.22,5"])
    }

    @Test func unboundConfiguration() {
        let on = ResolverConfig(listen: a("192.0.2.54"), upstream: a("192.0.2.53"), name: "www.lab.test", cache: true, roundRobin: false)
        #expect(on.zone == "lab.test.")
        #expect(on.configuration.contains("forward-addr: 192.0.2.53"))
        #expect(on.configuration.contains("local-zone: \"test.\" nodefault"))
        #expect(on.configuration.contains("rrset-roundrobin: no"))
        #expect(on.configuration.contains("cache-max-ttl: 86400"))
        var off = on
        off.cache = false
        #expect(off.configuration.contains("cache-max-ttl: 0"))
        #expect(on.arguments(configPath: "/run/x.conf") == ["unbound", "-d", "-p", "-c", "/run/x.conf"])
    }
}

@Suite struct GlibcWithoutIPv6Tests {
    /// With IPv6 off glibc cannot learn the prefix length: the answer's order stands.
    @Test func noIPv6NoSorting() {
        let answer = [a("192.0.2.200"), a("192.0.2.100"), a("192.0.2.20")]
        #expect(AddressSorting.glibcOrder(answer, source: IPv4Interface("192.0.2.16/24")!, sortsIPv4: false) == answer)
        #expect(AddressSorting.glibcOrder(answer, source: IPv4Interface("192.0.2.16/24")!)[0] == a("192.0.2.20"))
    }
}
