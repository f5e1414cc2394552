import Foundation
import LblabAnalysis
import LblabCapture
import Testing

@Suite struct PcapFileTests {
    func tempPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("lblab-\(UUID().uuidString)-\(name)").path
    }

    @Test func writeThenReadRoundTrips() throws {
        let lab = SyntheticLab.drRun()
        let frames = lab.captures["dispatcher"]!.enumerated().map { i, f in
            // Microsecond timestamps with awkward fractions.
            CapturedFrame(timestamp: 1_700_000_000 + Double(i) * 0.123_457 + 0.000_001, bytes: f.bytes)
        }
        #expect(frames.count > 10)
        let path = tempPath("roundtrip.pcap")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try PcapFile.write(frames, to: path)
        let back = try PcapFile.read(path)
        #expect(back.count == frames.count)
        for (a, b) in zip(frames, back) {
            #expect(a.bytes == b.bytes)
            #expect(abs(a.timestamp - b.timestamp) < 0.000_000_5, "\(a.timestamp) vs \(b.timestamp)")
            #expect(b.originalLength == a.bytes.count)
        }
        // What comes back still analyses the same way.
        #expect(back.compactMap { FrameDecoder.decode($0.bytes, timestamp: $0.timestamp) }.count == frames.count)
    }

    @Test func snapshotLengthCutsButKeepsOriginalLength() throws {
        let big = CapturedFrame(timestamp: 1.5, bytes: (0..<600).map { UInt8($0 & 0xff) })
        let path = tempPath("snap.pcap")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try PcapFile.write([big], to: path, snapshotLength: 512)
        let back = try PcapFile.read(path)
        #expect(back.count == 1)
        #expect(back[0].bytes == Array(big.bytes.prefix(512)))
        #expect(back[0].originalLength == 600)
        #expect(back[0].timestamp == 1.5)
    }

    @Test func readingMissingOrForeignFilesThrows() throws {
        #expect(throws: CaptureError.self) { try PcapFile.read("/nonexistent/lblab.pcap") }
        let path = tempPath("junk.pcap")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("not a pcap file at all".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: CaptureError.self) { try PcapFile.read(path) }
        #expect(throws: CaptureError.self) { try PcapFile.write([], to: "/nonexistent/dir/x.pcap") }
    }
}

@Suite struct FixtureTests {
    /// Every recorded pcap in Fixtures/ reads and every frame decodes (there may be none yet).
    @Test func fixturePcapsDecode() throws {
        guard let dir = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            Issue.record("Fixtures folder missing from the test bundle")
            return
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".pcap") }
        for name in files {
            let frames = try PcapFile.read(dir.appendingPathComponent(name).path)
            #expect(!frames.isEmpty, "\(name) holds no frames")
            for f in frames { #expect(FrameDecoder.decode(f.bytes, timestamp: f.timestamp) != nil, "\(name): undecodable frame") }
        }
    }
}
