import Testing
@testable import LblabNetlink

/// IPVS sync daemon requests and replies, bytes from <linux/ip_vs.h>: IPVS_CMD_NEW_DAEMON 9,
/// DEL_DAEMON 10, GET_DAEMON 11; IPVS_CMD_ATTR_DAEMON 3; DAEMON_ATTR STATE 1, MCAST_IFN 2,
/// SYNC_ID 3, SYNC_MAXLEN 4, MCAST_GROUP 5, MCAST_PORT 7, MCAST_TTL 8; IP_VS_STATE_MASTER 1, BACKUP 2.
@Suite struct SyncDaemonTests {
    let family: UInt16 = 0x2a
    let seq: UInt32 = 0x0506
    let pid: UInt32 = 0x77

    @Test func getDaemonsIsADump() {
        #expect(IPVSRequests.encodeGetDaemons(family: family, sequence: seq)
                == message(type: 0x2a, flags: NLM.request | NLM.dump, seq: seq, genl(11)))
    }

    @Test func newDaemonCarriesStateInterfaceAndSyncID() {
        let d = IPVSSyncDaemon(state: .backup, interface: "eth1", syncID: 0x33)
        #expect(IPVSRequests.encodeNewDaemon(d, family: family, sequence: seq)
                == message(type: 0x2a, flags: NLM.request | NLM.ack, seq: seq,
                           genl(9) + nest(3, attr(1, le32(2)), attr(2, cString("eth1")), attr(3, le32(0x33)))))
    }

    @Test func deleteDaemonCarriesItsState() {
        #expect(IPVSRequests.encodeDeleteDaemon(.master, family: family, sequence: seq)
                == message(type: 0x2a, flags: NLM.request | NLM.ack, seq: seq, genl(10) + nest(3, attr(1, le32(1)))))
    }

    /// A kernel 6.x dump with both daemons, the newer attributes included (ignored), then DONE.
    @Test func dumpOfMasterAndBackup() {
        func daemon(_ state: UInt32, _ ifname: String, _ id: UInt32) -> [UInt8] {
            message(type: family, flags: NLM.multi, seq: seq, pid: pid, genl(9) + nest(3,
                attr(1, le32(state)), attr(2, cString(ifname)), attr(3, le32(id)),
                attr(4, le16(1472)), attr(5, [224, 0, 0, 81]), attr(7, be16(8848)), attr(8, [1])))
        }
        let datagram = daemon(1, "eth0", 51) + daemon(2, "eth0", 51)
            + message(type: 3, flags: NLM.multi, seq: seq, pid: pid, le32(0))
        let parser = NetlinkReplyParser(sequence: seq, portID: pid)
        #expect(parser.process(datagram) == .done)
        let daemons = parser.messages.compactMap(IPVSDecoding.syncDaemon)
        #expect(daemons == [IPVSSyncDaemon(state: .master, interface: "eth0", syncID: 51),
                            IPVSSyncDaemon(state: .backup, interface: "eth0", syncID: 51)])
        #expect(daemons[0].description == "master sync daemon (mcast=eth0, syncid=51)")
    }

    @Test func unknownStateOrMissingAttributesDecodeToNothing() {
        let stopped = message(type: family, flags: 0, seq: seq, pid: pid,
                              genl(9) + nest(3, attr(1, le32(0)), attr(2, cString("eth0")), attr(3, le32(1))))
        let noInterface = message(type: family, flags: 0, seq: seq, pid: pid, genl(9) + nest(3, attr(1, le32(1)), attr(3, le32(1))))
        for datagram in [stopped, noInterface] {
            let parser = NetlinkReplyParser(sequence: seq, portID: pid)
            _ = parser.process(datagram)
            #expect(parser.messages.compactMap(IPVSDecoding.syncDaemon).isEmpty)
        }
    }
}
