import CLblabSys
import Foundation
import LblabNetlink
import LblabSystem
import LblabTypes

/// The agent inside the lab VM (`lblab vm serve`): listens on the VM's side of QEMU's user
/// networking, and for each connection that shows the token runs one command (lblab itself
/// or a program), streaming its output back and passing standard input and signals on.
/// One thread per connection, so `lblab status` works while `lblab exec ... -- sh` is open.
public struct LabVMAgent: Sendable {
    /// QEMU's user networking gives the guest this address; the host's forward points here.
    public static let guestAddress = "10.0.2.15"
    public static let guestPrefixLength = 24
    public static let guestPort: UInt16 = 7777

    public var listenAddress: String
    public var port: UInt16
    public var token: String
    /// The lblab that `.lblab` requests run (the host's binary, copied into the VM's memory).
    public var lblabPath: String
    /// Where request files (lab files) are written.
    public var workDirectory: String
    /// PATH for the commands it runs.
    public var path: String

    public init(listenAddress: String = Self.guestAddress, port: UInt16 = Self.guestPort, token: String, lblabPath: String,
                workDirectory: String, path: String = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") {
        self.listenAddress = listenAddress
        self.port = port
        self.token = token
        self.lblabPath = lblabPath
        self.workDirectory = workDirectory
        self.path = path
    }

    /// Brings up `lo` and the VM's network card (loading virtio_net when no card is there
    /// yet) with the address QEMU's user networking expects. That card is the control
    /// channel only: QEMU runs it with `restrict=on`, so nothing in the VM reaches a network.
    public static func configureNetwork() throws {
        let route = try RouteNetlink()
        func card() throws -> String? { try route.links().first { $0.name != "lo" && $0.kind == nil }?.name }
        var nic = try card()
        if nic == nil {
            _ = Processes.runQuietly(["modprobe", "virtio_net"])
            let deadline = Date().addingTimeInterval(15)
            while nic == nil && Date() < deadline {
                usleep(50_000)
                nic = try card()
            }
        }
        guard let nic else { throw LabVMError.agent("the lab VM has no network card for its control channel (virtio_net did not load)") }
        try route.setUp(link: "lo")
        try route.setUp(link: nic)
        let address = IPInterface(address: .v4(IPv4Address(guestAddress)!), prefixLength: guestPrefixLength)
        if try !route.addresses().contains(where: { $0.address == address }) {
            try route.addAddress(address, link: nic)
        }
    }

    /// A listening socket on `listenAddress:port` (port 0: any free port) and the port it got.
    public func listen() throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemCallError(call: "socket", errno: errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, listenAddress, &addr.sin_addr) == 1 else { close(fd); throw LabVMError.agent("bad listen address \(listenAddress)") }
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else { let e = errno; close(fd); throw SystemCallError(call: "bind \(listenAddress):\(port)", errno: e) }
        guard Glibc.listen(fd, 64) == 0 else { let e = errno; close(fd); throw SystemCallError(call: "listen", errno: e) }
        var got = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &got) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return (fd, UInt16(bigEndian: got.sin_port))
    }

    /// Accepts connections on `listening` until a `.shutdown` request comes; closes it then.
    public func serve(listening: Int32) throws {
        signal(SIGPIPE, SIG_IGN)
        try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        var stop: [Int32] = [0, 0]
        guard lblab_pipe_cloexec(&stop) == 0 else { throw SystemCallError(call: "pipe2", errno: errno) }
        defer { close(stop[0]); close(stop[1]); close(listening) }
        let stopWrite = stop[1]
        while true {
            var fds = [pollfd(fd: listening, events: Int16(POLLIN), revents: 0), pollfd(fd: stop[0], events: Int16(POLLIN), revents: 0)]
            let n = poll(&fds, 2, -1)
            if n < 0 { if errno == EINTR { continue }; throw SystemCallError(call: "poll", errno: errno) }
            if fds[1].revents != 0 { return }
            guard fds[0].revents & Int16(POLLIN) != 0 else { continue }
            let conn = lblab_accept_cloexec(listening)
            guard conn >= 0 else { continue }
            let agent = self
            Thread.detachNewThread {
                var session = AgentSession(agent: agent, socket: conn, stopWrite: stopWrite)
                session.run()
            }
        }
    }
}

/// One connection to the agent: one request, one command.
struct AgentSession {
    let agent: LabVMAgent
    let socket: Int32
    let stopWrite: Int32
    var decoder = LabVMFrameDecoder()
    /// Bytes waiting to go to the client.
    var pending: [UInt8] = []

    init(agent: LabVMAgent, socket: Int32, stopWrite: Int32) {
        self.agent = agent
        self.socket = socket
        self.stopWrite = stopWrite
    }

    mutating func run() {
        defer { close(socket) }
        VMIO.setNonBlocking(socket)
        guard let request = readRequest() else { return }
        switch request.kind {
        case .ping:
            finish(.exited(0))
        case .labs:
            let labs = StateStore().labs()
            if !labs.isEmpty { pending += LabVMFrame.stdout(Array((labs.joined(separator: "\n") + "\n").utf8)).encoded }
            finish(.exited(0))
        case .shutdown:
            finish(.exited(0))
            var one: UInt8 = 1
            _ = write(stopWrite, &one, 1)
        case .lblab, .exec:
            do {
                var command = try CommandRun(start: request, agent: agent)
                command.pump(session: &self)
            } catch {
                finish(.failure("\(error)"))
            }
        }
    }

    /// The first frame, within 30 s; nil (after telling the client why) when it is not a valid request.
    mutating func readRequest() -> LabVMRequest? {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            do {
                if let frame = try decoder.next() {
                    guard case .request(let json) = frame,
                          let request = try? JSONDecoder().decode(LabVMRequest.self, from: Data(json)) else {
                        finish(.failure("the first frame must be a request"))
                        return nil
                    }
                    guard request.version == LabVMRequest.currentVersion else {
                        finish(.failure("the lab VM runs lblab control protocol \(LabVMRequest.currentVersion), this lblab speaks \(request.version): `lblab vm stop` (its labs go with it), then run the command again"))
                        return nil
                    }
                    guard Self.sameSecret(request.token, agent.token) else {
                        finish(.failure("wrong token for the lab VM"))
                        return nil
                    }
                    return request
                }
                var p = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
                _ = poll(&p, 1, 1000)
                guard let bytes = try VMIO.readSome(socket) else { return nil }
                decoder.append(bytes)
            } catch {
                return nil
            }
        }
        return nil
    }

    /// Compares in time that does not depend on where the strings differ.
    static func sameSecret(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count, !x.isEmpty else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// Queues `last`, sends everything pending (for up to 10 s) and returns.
    mutating func finish(_ last: LabVMFrame) {
        pending += last.encoded
        let deadline = Date().addingTimeInterval(10)
        while !pending.isEmpty && Date() < deadline {
            guard let sent = try? VMIO.sendSome(socket, pending) else { return }
            pending.removeFirst(sent)
            if !pending.isEmpty {
                var p = pollfd(fd: socket, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, 1000)
            }
        }
    }
}

/// A command the agent started, and the relay between it and the client.
struct CommandRun {
    var pid: pid_t
    var stdinFD: Int32
    var stdoutFD: Int32
    var stderrFD: Int32

    /// Output held back from the client beyond this stops reading the command's pipes.
    static let highWater = 1 << 20

    init(start request: LabVMRequest, agent: LabVMAgent) throws {
        guard !request.argv.isEmpty || request.kind == .lblab else { throw LabVMError.agent("no command given") }
        // Request files (lab files) go to the agent's directory, under names of their own.
        var argv = request.argv
        for (name, content) in request.files {
            guard !name.isEmpty, !name.hasPrefix("."), name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
                throw LabVMError.agent("bad request file name '\(name)'")
            }
            let path = "\(agent.workDirectory)/\(name)"
            try content.write(to: URL(fileURLWithPath: path))
            argv = argv.map { $0 == LabVMRequest.fileArgument(name) ? path : $0 }
        }
        var environment = ["PATH": agent.path, "HOME": "/root", KernelVM.insideMarker: "1"]
        environment.merge(request.environment) { _, new in new }
        let program: String
        if request.kind == .lblab {
            program = agent.lblabPath
            argv = ["lblab"] + argv
        } else if argv[0].contains("/") {
            program = argv[0]
        } else {
            let dirs = (environment["PATH"] ?? agent.path).split(separator: ":").map(String.init)
            guard let found = dirs.map({ "\($0)/\(argv[0])" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
                throw LabVMError.agent("no program named '\(argv[0])' in the lab VM (PATH \(environment["PATH"] ?? ""))")
            }
            program = found
        }
        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0], inPipe: [Int32] = [-1, -1]
        guard lblab_pipe_cloexec(&outPipe) == 0, lblab_pipe_cloexec(&errPipe) == 0 else { throw SystemCallError(call: "pipe2", errno: errno) }
        if request.stdin, lblab_pipe_cloexec(&inPipe) != 0 { throw SystemCallError(call: "pipe2", errno: errno) }
        var cargs = argv.map { strdup($0) } + [nil]
        var cenv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cargs + cenv).forEach { free($0) } }
        let pid = lblab_spawn(program, &cargs, &cenv, request.cwd, inPipe[0], outPipe[1], errPipe[1], 1)
        let spawnErrno = errno
        close(outPipe[1]); close(errPipe[1])
        if inPipe[0] >= 0 { close(inPipe[0]) }
        guard pid > 0 else {
            close(outPipe[0]); close(errPipe[0])
            if inPipe[1] >= 0 { close(inPipe[1]) }
            let what = request.kind == .lblab ? "lblab cannot run in the lab VM" : "cannot run \(argv[0]) in the lab VM"
            throw LabVMError.agent("\(what): \(program): \(String(cString: strerror(spawnErrno)))")
        }
        self.pid = pid
        stdinFD = inPipe[1]
        stdoutFD = outPipe[0]
        stderrFD = errPipe[0]
        for fd in [stdinFD, stdoutFD, stderrFD] where fd >= 0 { VMIO.setNonBlocking(fd) }
    }

    /// Relays until the command ended and its end reached the client (or the client left).
    mutating func pump(session: inout AgentSession) {
        var toChild: [UInt8] = []
        var closeStdinWhenFlushed = false
        var clientGone = false
        var hangupAt: Date?
        var result: LabVMFrame?
        defer {
            for fd in [stdinFD, stdoutFD, stderrFD] where fd >= 0 { close(fd) }
        }
        func closeFD(_ fd: inout Int32) { if fd >= 0 { close(fd); fd = -1 } }
        func drain(_ fd: inout Int32, _ wrap: ([UInt8]) -> LabVMFrame, into pending: inout [UInt8]) {
            while fd >= 0 {
                guard let bytes = try? VMIO.readSome(fd) else { closeFD(&fd); return }
                if bytes.isEmpty { return }
                pending += wrap(bytes).encoded
            }
        }

        // Frames that came with the request (stdin, a signal) are in the decoder already.
        func takeFrames() {
            while let frame = try? session.decoder.next() {
                switch frame {
                case .stdin(let data): if stdinFD >= 0 { toChild += data }
                case .stdinClosed: closeStdinWhenFlushed = true
                case .signal(let sig) where sig > 0 && sig < 65: if result == nil { kill(-pid, sig) }
                default: break
                }
            }
        }
        takeFrames()

        while true {
            if closeStdinWhenFlushed && toChild.isEmpty { closeFD(&stdinFD) }
            if result == nil {
                var status: Int32 = 0
                let r = waitpid(pid, &status, WNOHANG)
                if r == pid {
                    // Everything the command wrote is in the pipes now; a background process
                    // that still holds them does not delay the end.
                    drain(&stdoutFD, LabVMFrame.stdout, into: &session.pending)
                    drain(&stderrFD, LabVMFrame.stderr, into: &session.pending)
                    closeFD(&stdoutFD)
                    closeFD(&stderrFD)
                    closeFD(&stdinFD)
                    result = status & 0x7f == 0 ? .exited((status >> 8) & 0xff) : .killed(status & 0x7f)
                    session.pending += result!.encoded
                }
            }
            if clientGone {
                session.pending.removeAll()
                if result != nil { return }
                if let t = hangupAt, Date().timeIntervalSince(t) > 5 { kill(-pid, SIGKILL) }
            } else if result != nil && session.pending.isEmpty {
                return
            }

            var fds: [pollfd] = []
            let sockEvents = (clientGone ? 0 : Int16(POLLIN)) | (session.pending.isEmpty || clientGone ? 0 : Int16(POLLOUT))
            fds.append(pollfd(fd: clientGone ? -1 : session.socket, events: sockEvents, revents: 0))
            let reading = session.pending.count < Self.highWater || clientGone
            fds.append(pollfd(fd: reading ? stdoutFD : -1, events: Int16(POLLIN), revents: 0))
            fds.append(pollfd(fd: reading ? stderrFD : -1, events: Int16(POLLIN), revents: 0))
            fds.append(pollfd(fd: toChild.isEmpty ? -1 : stdinFD, events: Int16(POLLOUT), revents: 0))
            // Child exits are found by polling waitpid: a short timeout while it runs.
            let n = poll(&fds, nfds_t(fds.count), result == nil ? 20 : 1000)
            if n < 0 && errno != EINTR { clientGone = true; continue }
            if n <= 0 { continue }

            if fds[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                var incoming: [UInt8]?
                do { incoming = try VMIO.readSome(session.socket) } catch { incoming = nil }
                if let bytes = incoming {
                    session.decoder.append(bytes)
                    takeFrames()
                } else {
                    // The client is gone (its terminal closed, it was killed): hang up, as a terminal would.
                    clientGone = true
                    hangupAt = Date()
                    if result == nil { kill(-pid, SIGHUP) }
                }
            }
            if !clientGone && fds[0].revents & Int16(POLLOUT) != 0 {
                if let sent = try? VMIO.sendSome(session.socket, session.pending) {
                    session.pending.removeFirst(sent)
                } else {
                    clientGone = true
                    hangupAt = Date()
                    if result == nil { kill(-pid, SIGHUP) }
                }
            }
            if fds[1].revents != 0 { readOnce(&stdoutFD, LabVMFrame.stdout, into: &session.pending) }
            if fds[2].revents != 0 { readOnce(&stderrFD, LabVMFrame.stderr, into: &session.pending) }
            if fds[3].revents != 0 && stdinFD >= 0 {
                let n = toChild.withUnsafeBytes { write(stdinFD, $0.baseAddress, $0.count) }
                if n > 0 { toChild.removeFirst(n) } else if n < 0 && errno != EAGAIN && errno != EINTR { toChild.removeAll(); closeFD(&stdinFD) }
            }
            if closeStdinWhenFlushed && toChild.isEmpty { closeFD(&stdinFD) }
        }
    }

    private func readOnce(_ fd: inout Int32, _ wrap: ([UInt8]) -> LabVMFrame, into pending: inout [UInt8]) {
        guard fd >= 0 else { return }
        guard let bytes = try? VMIO.readSome(fd) else { close(fd); fd = -1; return }
        if !bytes.isEmpty { pending += wrap(bytes).encoded }
    }
}
