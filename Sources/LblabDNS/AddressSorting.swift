import LblabTypes

/// The order glibc's `getaddrinfo` hands addresses to a program, which connects to the first.
///
/// glibc sorts the answer by RFC 6724 (RFC 3484 before it). For IPv4 destinations of equal scope
/// and precedence only rule 9 ("use longest matching prefix") can reorder them, and glibc applies it
/// only to a destination inside the source address's own subnet (the source's prefix length): those
/// come first, longest common prefix first; all others keep the answer's order (rule 10). Checked on
/// Debian 12's glibc 2.36 with a client at .10/24 and answers .11, .22, .140 (always .11 first), at
/// .10/28 (.11 first, the rest rotating) and at .30/28 (.22 first).
///
/// glibc learns the source's prefix length from its list of the host's addresses, which it keeps
/// only when the host has an IPv6 address other than loopback (a link-local one is enough): on a
/// host with IPv6 off, the prefix is unknown and rule 9 never reorders IPv4 (seen in a lab client:
/// rotation with IPv6 disabled, always the closest server once eth0 had its fe80:: address).
public enum AddressSorting {
    /// The bits `a` and `b` share from the top.
    public static func commonPrefix(_ a: IPv4Address, _ b: IPv4Address) -> Int {
        (a.value ^ b.value).leadingZeroBitCount
    }

    /// Rule 9's key for `destination` from `source`: its common prefix when inside the source's subnet, else 0.
    public static func rule9Key(_ destination: IPv4Address, source: IPv4Interface) -> Int {
        source.contains(destination) ? commonPrefix(destination, source.address) : 0
    }

    /// `answer` in the order getaddrinfo returns it to a client whose source address is `source`;
    /// `sortsIPv4`: the client has an IPv6 address besides loopback (see above).
    public static func glibcOrder(_ answer: [IPv4Address], source: IPv4Interface, sortsIPv4: Bool = true) -> [IPv4Address] {
        guard sortsIPv4 else { return answer }
        return answer.enumerated()
            .sorted { l, r in
                let kl = rule9Key(l.element, source: source), kr = rule9Key(r.element, source: source)
                return kl != kr ? kl > kr : l.offset < r.offset
            }
            .map(\.element)
    }

    /// Whether rule 9 overrides the rotation for this client: some answer address has a key no other shares
    /// above the rest, so the same address comes first whatever order the DNS server sends.
    public static func defeatsRotation(_ addresses: [IPv4Address], source: IPv4Interface) -> IPv4Address? {
        let keys = addresses.map { rule9Key($0, source: source) }
        guard let top = keys.max(), keys.filter({ $0 == top }).count == 1, top > 0 else { return nil }
        return addresses[keys.firstIndex(of: top)!]
    }
}
