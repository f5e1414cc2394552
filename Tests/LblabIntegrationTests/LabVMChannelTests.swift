import CLblabSys
import Foundation
@testable import LblabRuntime
import Testing

/// The lab VM's control channel and prerequisite checks, without a VM: the agent runs in
/// this process on 127.0.0.1, and the checks look at fake /boot and /lib/modules trees.
@Suite("LabVMChannelTests")
struct LabVMChannelTests {
    // MARK: frames

    @Test func framesRoundTripThroughTheDecoderByteByByte() throws {
        let frames: [LabVMFrame] = [.request(Array("{}".utf8)), .stdin([1, 2, 3]), .stdinClosed, .signal(2), .stdout(Array("out".utf8)),
                                    .stderr([]), .exited(3), .killed(9), .failure("no")]
        var decoder = LabVMFrameDecoder()
        var got: [LabVMFrame] = []
        for byte in frames.flatMap(\.encoded) {
            decoder.append([byte])
            while let f = try decoder.next() { got.append(f) }
        }
        #expect(got == frames)
        #expect(decoder.buffered == 0)
    }

    @Test func aFrameFromAForeignPeerIsRefused() throws {
        var decoder = LabVMFrameDecoder()
        decoder.append(Array("HTTP/1.1 200 OK\r\n".utf8))
        #expect(throws: LabVMProtocolError.self) { try decoder.next() }
        var short = LabVMFrameDecoder()
        short.append([UInt8(ascii: "X"), 0, 0, 0, 2, 0, 1])  // an exit status needs 4 bytes
        #expect(throws: LabVMProtocolError.self) { try short.next() }
    }

    // MARK: the agent, on loopback

    /// An agent on 127.0.0.1 (any free port) serving until the test asks it to stop.
    final class LoopbackAgent {
        let agent: LabVMAgent
        let port: UInt16
        let client: LabVMClient
        let work: String

        init() throws {
            work = FileManager.default.temporaryDirectory.appendingPathComponent("lblab-agent-\(UUID().uuidString)").path
            let token = try LabVM.randomToken()
            let probe = LabVMAgent(listenAddress: "127.0.0.1", port: 0, token: token, lblabPath: "/bin/echo", workDirectory: work)
            let (fd, port) = try probe.listen()
            agent = probe
            self.port = port
            client = LabVMClient(port: port, token: token)
            Thread.detachNewThread { try? probe.serve(listening: fd) }
        }

        func run(_ argv: [String], kind: LabVMRequest.Kind = .exec, stdin: Bool = false, files: [String: Data] = [:],
                 stdinFD: Int32? = nil) throws -> (LabVMClient.Outcome, out: String, err: String) {
            var out: [UInt8] = [], err: [UInt8] = []
            let request = LabVMRequest(token: client.token, kind: kind, argv: argv, cwd: "/", files: files, stdin: stdin)
            let outcome = try client.run(request, stdinFD: stdinFD, timeout: 30) { s, b in if s == .stdout { out += b } else { err += b } }
            return (outcome, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
        }

        deinit {
            _ = try? client.call(LabVMRequest(token: client.token, kind: .shutdown), timeout: 5)
            try? FileManager.default.removeItem(atPath: work)
        }
    }

    @Test func outputErrorAndExitStatusComeBackApart() throws {
        let a = try LoopbackAgent()
        let (outcome, out, err) = try a.run(["/bin/sh", "-c", "echo to-out; echo to-err >&2; exit 3"])
        #expect(outcome == .exited(3))
        #expect(out == "to-out\n")
        #expect(err == "to-err\n")
        #expect(a.client.ping(timeout: 5))
    }

    @Test func aCommandKilledByASignalIsReportedAsKilled() throws {
        let a = try LoopbackAgent()
        #expect(try a.run(["/bin/sh", "-c", "kill -TERM $$"]).0 == .killed(SIGTERM))
    }

    @Test func lblabRequestsRunTheAgentsLblabWithTheRequestFiles() throws {
        let a = try LoopbackAgent()  // its "lblab" is /bin/echo
        let (outcome, out, _) = try a.run(["up", LabVMRequest.fileArgument("x.yaml"), "--json"], kind: .lblab, files: ["x.yaml": Data("name: x\n".utf8)])
        #expect(outcome == .exited(0))
        #expect(out == "up \(a.work)/x.yaml --json\n")
        #expect(FileManager.default.contents(atPath: "\(a.work)/x.yaml") == Data("name: x\n".utf8))
    }

    @Test func aRequestFileCannotEscapeTheAgentsDirectory() throws {
        let a = try LoopbackAgent()
        let (outcome, _, _) = try a.run(["up"], kind: .lblab, files: ["../evil": Data()])
        guard case .failed(let why) = outcome else { Issue.record("expected a failure, got \(outcome)"); return }
        #expect(why.contains("bad request file name"))
    }

    @Test func standardInputReachesTheCommandAndItsEndClosesIt() throws {
        let a = try LoopbackAgent()
        var fds: [Int32] = [0, 0]
        #expect(lblab_pipe_cloexec(&fds) == 0)  // close-on-exec: the agent's children must not hold its write end
        let text = String(repeating: "line of input\n", count: 20_000)  // 280 KB: more than any pipe holds
        let writeEnd = fds[1]
        let writer = Thread { text.utf8CString.withUnsafeBufferPointer { b in
            var off = 0
            while off < b.count - 1 { let n = write(writeEnd, b.baseAddress! + off, b.count - 1 - off); if n <= 0 { break }; off += n }
        }; close(writeEnd) }
        writer.start()
        let (outcome, out, _) = try a.run(["/bin/sh", "-c", "wc -l; wc -c < /dev/null"], stdin: true, stdinFD: fds[0])
        close(fds[0])
        #expect(outcome == .exited(0))
        #expect(out.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) } == "20000")
    }

    @Test func standardInputSentTogetherWithTheRequestIsNotLost() throws {
        let a = try LoopbackAgent()
        let sock = try #require(try a.client.connect())
        defer { close(sock) }
        VMIO.setNonBlocking(sock)  // a silent agent must fail the test, not hang it
        // One write: the request, the input and its end arrive in one read on the agent's side.
        let request = LabVMRequest(token: a.client.token, kind: .exec, argv: ["/bin/cat"], stdin: true)
        let bytes = LabVMFrame.request(Array(try JSONEncoder().encode(request))).encoded + LabVMFrame.stdin(Array("hello\n".utf8)).encoded
            + LabVMFrame.stdinClosed.encoded
        #expect(VMIO.writeAll(sock, bytes))
        let (end, out) = try Self.readToEnd(sock)
        #expect(end == .exited(0))
        #expect(out == "hello\n")
    }

    /// Reads frames until the command's end (or 20 s): the end and the standard output.
    static func readToEnd(_ sock: Int32, onOutput: (String) -> Void = { _ in }) throws -> (LabVMFrame?, String) {
        var decoder = LabVMFrameDecoder()
        var out = ""
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            var p = pollfd(fd: sock, events: Int16(POLLIN), revents: 0)
            _ = poll(&p, 1, 1000)
            guard let bytes = try VMIO.readSome(sock) else { return (nil, out) }
            decoder.append(bytes)
            while let f = try decoder.next() {
                switch f {
                case .stdout(let b):
                    out += String(decoding: b, as: UTF8.self)
                    onOutput(out)
                case .exited, .killed, .failure: return (f, out)
                default: break
                }
            }
        }
        return (nil, out)
    }

    @Test func withoutStdinTheCommandReadsNothing() throws {
        let a = try LoopbackAgent()
        let (outcome, out, _) = try a.run(["/bin/sh", "-c", "cat | wc -c"])
        #expect(outcome == .exited(0))
        #expect(out.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }

    @Test func aBackgroundProcessHoldingTheOutputDoesNotDelayTheEnd() throws {
        let a = try LoopbackAgent()
        let t0 = Date()
        let (outcome, out, _) = try a.run(["/bin/sh", "-c", "sleep 5 & echo started"])
        #expect(outcome == .exited(0))
        #expect(out == "started\n")
        #expect(Date().timeIntervalSince(t0) < 4)
    }

    @Test func aWrongTokenIsRefusedAndRunsNothing() throws {
        let a = try LoopbackAgent()
        let marker = "\(a.work)-ran"
        let thief = LabVMClient(port: a.port, token: String(repeating: "0", count: 64))
        let request = LabVMRequest(token: thief.token, kind: .exec, argv: ["/bin/sh", "-c", "touch \(marker)"])
        let (outcome, _) = try thief.call(request, timeout: 10)
        #expect(outcome == .failed("wrong token for the lab VM"))
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func aSignalFrameReachesTheCommandsProcessGroup() throws {
        let a = try LoopbackAgent()
        // A raw client: the request, then SIGINT once the command said it is ready.
        let sock = try #require(try a.client.connect())
        defer { close(sock) }
        VMIO.setNonBlocking(sock)  // a silent agent must fail the test, not hang it
        let script = "trap 'echo got-int; exit 42' INT; echo ready; while :; do sleep 0.05; done"
        let request = LabVMRequest(token: a.client.token, kind: .exec, argv: ["/bin/sh", "-c", script])
        #expect(VMIO.writeAll(sock, LabVMFrame.request(Array(try JSONEncoder().encode(request))).encoded))
        let (end, out) = try Self.readToEnd(sock) { out in
            if out == "ready\n" { #expect(VMIO.writeAll(sock, LabVMFrame.signal(SIGINT).encoded)) }
        }
        #expect(end == .exited(42))
        #expect(out == "ready\ngot-int\n")
    }

    @Test func aMissingProgramIsAFailureNamingIt() throws {
        let a = try LoopbackAgent()
        let (outcome, _, _) = try a.run(["no-such-program-lblab"])
        guard case .failed(let why) = outcome else { Issue.record("expected a failure, got \(outcome)"); return }
        #expect(why.contains("no-such-program-lblab"))
    }

    // MARK: prerequisites, on a fake machine

    /// A fake machine: bin/ (on PATH), boot/, lib/modules/.
    struct FakeMachine {
        let root: String
        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("lblab-fake-\(UUID().uuidString)").path
            for d in ["bin", "boot", "lib/modules"] { try FileManager.default.createDirectory(atPath: "\(root)/\(d)", withIntermediateDirectories: true) }
        }
        var places: KernelVM.Places {
            KernelVM.Places(environment: ["PATH": "\(root)/bin"], boot: "\(root)/boot", modules: "\(root)/lib/modules", systemBin: [],
                            qemuDirectories: [], defaultVng: nil)
        }
        func file(_ path: String, _ bytes: [UInt8] = Array("#!/bin/sh\n".utf8), executable: Bool = true) {
            _ = FileManager.default.createFile(atPath: "\(root)/\(path)", contents: Data(bytes), attributes: [.posixPermissions: executable ? 0o755 : 0o644])
        }
        func kernel(_ release: String, modules: [String]) throws {
            file("boot/vmlinuz-\(release)", executable: false)
            try FileManager.default.createDirectory(atPath: "\(root)/lib/modules/\(release)", withIntermediateDirectories: true)
            let dep = modules.map { "kernel/x/\($0).ko.xz: kernel/y/dep.ko.xz\n" }.joined()
            file("lib/modules/\(release)/modules.dep", Array(dep.utf8), executable: false)
        }
        func remove() { try? FileManager.default.removeItem(atPath: root) }
    }

    /// A minimal 64-bit little-endian ELF header with one program header of `type`.
    static func elf(programHeaderType type: UInt32) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 64 + 56)
        h[0...3] = [0x7f, 0x45, 0x4c, 0x46]
        h[4] = 2; h[5] = 1; h[6] = 1
        h[32] = 64            // e_phoff
        h[54] = 56            // e_phentsize
        h[56] = 1             // e_phnum
        for i in 0..<4 { h[64 + i] = UInt8((type >> (8 * UInt32(i))) & 0xff) }
        return h
    }

    @Test func everyPrerequisitePresentGivesTheVM() throws {
        let m = try FakeMachine()
        defer { m.remove() }
        m.file("bin/qemu-system-x86_64")
        m.file("bin/vng")
        m.file("bin/file")
        m.file("bin/busybox", Self.elf(programHeaderType: 1))  // PT_LOAD only: static
        try m.kernel("6.1.0-9-amd64", modules: KernelVM.requiredModules)
        let (checks, vm) = KernelVM.inspect(m.places)
        #expect(checks.allSatisfy { $0.ok }, "\(checks)")
        #expect(vm?.kernel == "\(m.root)/boot/vmlinuz-6.1.0-9-amd64")
        #expect(vm?.busybox == "\(m.root)/bin/busybox")
    }

    @Test func eachMissingPrerequisiteIsNamedWithItsFix() throws {
        let m = try FakeMachine()
        defer { m.remove() }
        m.file("bin/busybox", Self.elf(programHeaderType: 3))  // PT_INTERP: dynamic
        try m.kernel("6.1.0-9-cloud-amd64", modules: ["ip_vs", "virtio_net", "overlay"])
        let (checks, vm) = KernelVM.inspect(m.places)
        #expect(vm == nil)
        let byName = Dictionary(uniqueKeysWithValues: checks.map { ($0.name, $0) })
        #expect(byName["qemu"]?.ok == false)
        #expect(byName["qemu"]?.fix?.contains("qemu-system-x86") == true)
        #expect(byName["file"]?.ok == false && byName["file"]?.fix?.contains("apt-get install file") == true, "virtme-ng runs file")
        #expect(byName["virtme-ng"]?.ok == false)
        #expect(byName["virtme-ng"]?.fix?.contains("virtme-ng") == true)
        #expect(byName["busybox"]?.ok == false)
        #expect(byName["busybox"]?.detail.contains("dynamically linked") == true)
        #expect(byName["busybox"]?.fix == "apt-get install busybox-static")
        #expect(byName["VM kernel"]?.ok == false)
        #expect(byName["VM kernel"]?.detail.contains("lacks the modules 9p, 9pnet_virtio") == true)
        #expect(byName["VM kernel"]?.fix?.contains("linux-image-amd64") == true)
    }

    @Test func noBusyboxAtAllIsReported() throws {
        let m = try FakeMachine()
        defer { m.remove() }
        let busybox = KernelVM.inspect(m.places).checks.first { $0.name == "busybox" }
        #expect(busybox?.ok == false)
        #expect(busybox?.fix?.contains("busybox-static") == true)
    }

    @Test func doctorNeverCallsAnUncheckedCheckOk() {
        let unchecked = DoctorCheck(name: "lab VM boot", ok: true, detail: "not tried", checked: false)
        #expect(!unchecked.ok)
        let checks = [DoctorCheck(name: "IPVS", ok: false, detail: "none"), DoctorCheck(name: "qemu", ok: true, detail: ""),
                      DoctorCheck(name: "VM kernel", ok: true, detail: ""), unchecked]
        #expect(LabRuntime.usable(checks))
        let brokenVM = checks + [DoctorCheck(name: "busybox", ok: false, detail: "missing")]
        #expect(!LabRuntime.usable(brokenVM))
        let failedBoot = [DoctorCheck(name: "IPVS", ok: false, detail: "none"), DoctorCheck(name: "VM kernel", ok: true, detail: ""),
                          DoctorCheck(name: "lab VM boot", ok: false, detail: "did not boot")]
        #expect(!LabRuntime.usable(failedBoot))
    }

    @Test func aBootThatEndedIsDiagnosedFromItsConsole() {
        let err = LabVM.diagnose(["virtme-run: initramfs is needed, and no busybox was found"], log: "/x/console.log")
        #expect("\(err)".contains("apt-get install busybox-static"))
        #expect("\(err)".contains("/x/console.log"))
        let other = LabVM.diagnose(["something else"], log: "/x/console.log")
        #expect("\(other)".contains("lblab doctor --vm"))
    }
}
