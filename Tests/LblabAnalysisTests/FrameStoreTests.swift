import Foundation
import LblabAnalysis
import LblabCapture
import Testing

@Suite struct FrameStoreTests {
    @Test func framesAreStoredBackToBack() throws {
        var store = CapturedFrames()
        store.append(CapturedFrame(timestamp: 1.25, bytes: [1, 2, 3], originalLength: 900))
        store.append(CapturedFrame(timestamp: 2.5, bytes: []))
        let tail: [UInt8] = [9, 8, 7, 6, 5]
        tail.withUnsafeBytes { store.append(timestamp: 3.75, bytes: $0, originalLength: 2) }  // shorter than captured: raised
        #expect(store.count == 3)
        #expect(store.bytes == [1, 2, 3, 9, 8, 7, 6, 5])
        #expect(store.ends == [3, 3, 8])
        #expect(store.timestamps == [1.25, 2.5, 3.75])
        #expect(store.originalLengths == [900, 0, 5])
        #expect(store.range(of: 0) == 0..<3 && store.range(of: 1) == 3..<3 && store.range(of: 2) == 3..<8)
        #expect(store[0] == CapturedFrame(timestamp: 1.25, bytes: [1, 2, 3], originalLength: 900))
        #expect(store[1].bytes.isEmpty)
        #expect(store[2] == CapturedFrame(timestamp: 3.75, bytes: tail, originalLength: 5))
        #expect(store.withBytes(of: 2) { Array($0) } == tail)
        #expect(store.withBytes(of: 1) { $0.count } == 0)
        #expect(Array(store) == [store[0], store[1], store[2]])
        #expect(CapturedFrames(Array(store)) == store)
    }

    @Test func aStoreRoundTripsThroughAPcapFile() throws {
        var store = CapturedFrames()
        for i in 0..<300 {
            let bytes = (0..<(14 + i % 97)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) }
            store.append(CapturedFrame(timestamp: 1_700_000_000 + Double(i) * 0.001_001, bytes: bytes, originalLength: bytes.count + i % 3))
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lblab-\(UUID().uuidString)-store.pcap").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try PcapFile.write(store, to: path)
        let back = try PcapFile.read(path)
        #expect(back.bytes == store.bytes)
        #expect(back.ends == store.ends)
        #expect(back.originalLengths == store.originalLengths)
        #expect(zip(back.timestamps, store.timestamps).allSatisfy { abs($0 - $1) < 0.000_000_5 })
        // An empty store writes a valid, empty pcap.
        try PcapFile.write(CapturedFrames(), to: path)
        #expect(try PcapFile.read(path).isEmpty)
    }

    @Test func rawFramesTakeAStoreAsItIs() {
        let lab = SyntheticLab.drRun()
        let store = CapturedFrames(lab.captures["client"]!.map { CapturedFrame(timestamp: $0.timestamp, bytes: $0.bytes) })
        let raw = RawFrames(bytes: store.bytes, ends: store.ends, timestamps: store.timestamps)
        #expect(raw == RawFrames(lab.captures["client"]!))
        #expect(raw[3] == lab.captures["client"]![3])
    }
}
