/// The IPVS connection timeouts of one network namespace (`ipvsadm --set TCP TCPFIN UDP`,
/// generic netlink `IPVS_CMD_SET_CONFIG`), in seconds; `nil` keeps the kernel's value.
///
/// - `tcp`: an ESTABLISHED TCP entry's idle timeout (kernel default 900 s);
/// - `tcpfin`: a TCP entry after the client's FIN (FIN_WAIT, default 120 s): how long a closed
///   connection keeps its entry, and with it a persistence template it belongs to;
/// - `udp`: a UDP entry after its last datagram (default 300 s).
public struct IPVSTimeouts: Codable, Sendable, Equatable {
    public var tcp: Int?
    public var tcpfin: Int?
    public var udp: Int?

    public init(tcp: Int? = nil, tcpfin: Int? = nil, udp: Int? = nil) {
        self.tcp = tcp
        self.tcpfin = tcpfin
        self.udp = udp
    }

    /// The kernel's defaults (`ip_vs_proto_tcp.c`, `ip_vs_proto_udp.c`).
    public static let kernelTCP = 900
    public static let kernelTCPFin = 120
    public static let kernelUDP = 300
    /// TIME_WAIT (not settable with `--set`): a NAT entry, which sees both FINs, ends there.
    public static let kernelTimeWait = 120

    /// `ipvsadm --set` takes all three; 0 keeps the current value.
    public var ipvsadmArguments: String { "\(tcp ?? 0) \(tcpfin ?? 0) \(udp ?? 0)" }
}
