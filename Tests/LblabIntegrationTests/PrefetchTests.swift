import Foundation
import Testing
import LblabPlan
import LblabSystem
import LblabTypes
@testable import LblabRuntime

/// The executor's prefetcher and agent launcher against the real kernel: namespaces and agents
/// made ahead of their steps are used by the steps, and removed when the batch fails. Needs root
/// (network namespaces), not IPVS: runs on the host as well as in the kernel VM.
@Suite(.enabled(if: getuid() == 0, "needs root: it creates network namespaces"), .serialized)
struct PrefetchTests {
    /// Names no other lab or test uses (namespaces are shared by everything on the machine).
    let tag = "pf\(getpid() % 100_000)"

    func namespaces(_ n: Int, _ batch: String) -> [String] { (1...n).map { "\(tag)\(batch)-ns\($0)" } }
    func node(_ i: Int, _ batch: String) -> String { "\(tag)\(batch)n\(i)" }

    /// Live lblab agents whose node name starts with this test's tag.
    func agentsLeft() -> [Int32] {
        let all = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return all.compactMap(Int32.init).filter { pid in
            guard Processes.isAlive(pid), Processes.commandName(pid) == Processes.agentName,
                  let cmd = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8) else { return false }
            return cmd.split(separator: "\0").contains { $0.hasPrefix(tag) }
        }
    }

    /// Connects to 127.0.0.1:`port` inside `ns` and reads the agent's answer.
    func ask(_ ns: String, port: UInt16) throws -> String {
        try NetworkNamespace(opening: ns).run {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            sa.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
            let ok = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard ok == 0 else { throw SystemError("connect in \(ns)") }
            let request = "GET / HTTP/1.0\r\n\r\n"
            _ = request.withCString { write(fd, $0, strlen($0)) }
            var buf = [UInt8](repeating: 0, count: 1024)
            var got = 0
            while got < buf.count {
                let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, $0.count - got) }
                if n <= 0 { break }
                got += n
            }
            return String(decoding: buf[..<got], as: UTF8.self)
        }
    }

    @Test func aBatchUsesWhatWasMadeAheadAndTearsDown() throws {
        let names = namespaces(5, "a")
        var steps: [Step] = []
        for (i, ns) in names.enumerated() {
            steps += [.createNamespace(name: ns), .setUp(namespace: ns, link: "lo"),
                      .startAgent(namespace: ns, node: node(i, "a"), port: 8080, proto: .tcp)]
        }
        let executor = KernelExecutor()
        let applier = PlanApplier(executor: executor)
        try NamespaceThread.shared.runHere { try applier.apply(steps) }
        #expect(applier.agents.count == names.count)
        for (i, ns) in names.enumerated() {
            #expect(NetworkNamespace.exists(ns))
            let answer = try ask(ns, port: 8080)
            #expect(answer.contains("X-Lblab-Node: \(node(i, "a"))"), "\(ns): \(answer.prefix(200))")
        }
        // Every agent was started in its own namespace, and the state has its pid.
        let pids = applier.agents.compactMap { if case .startedAgent(_, _, _, let pid) = $0 { pid } else { nil } }
        #expect(Set(pids) == Set(agentsLeft()))

        let down = KernelExecutor(agents: Dictionary(uniqueKeysWithValues: applier.agents.compactMap {
            if case .startedAgent(let node, _, let port, let pid) = $0 { (AgentKey(node: node, port: port), pid) } else { nil }
        }))
        let failures = try NamespaceThread.shared.runHere { PlanApplier.teardown(applier.done, with: down) }
        #expect(failures.isEmpty)
        for ns in names { #expect(!NetworkNamespace.exists(ns)) }
        #expect(agentsLeft().isEmpty)
    }

    /// A batch that fails early (while the prefetcher is still making namespaces and agents) or
    /// late (after every namespace was taken, before any agent was): the rollback removes all.
    @Test(arguments: ["early", "late"])
    func aFailedBatchLeavesNothingMadeAhead(_ when: String) throws {
        let batch = when == "early" ? "b" : "d"
        let names = namespaces(8, batch)
        let failing = Step.setUp(namespace: names[0], link: "nosuchlink")
        var steps: [Step] = names.map { .createNamespace(name: $0) }
        steps.insert(failing, at: when == "early" ? 1 : steps.count)
        for (i, ns) in names.enumerated().dropFirst() {
            steps.append(.startAgent(namespace: ns, node: node(i, batch), port: 8080, proto: .tcp))
        }
        let applier = PlanApplier(executor: KernelExecutor())
        #expect(throws: StepFailure.self) { try NamespaceThread.shared.runHere { try applier.apply(steps) } }
        if when == "late" {
            // Every namespace was taken by its step, every agent asked for and none taken.
            #expect(applier.done.count == names.count)
            #expect(applier.agents.isEmpty)
        }
        let failures = try NamespaceThread.shared.runHere { applier.rollback() }
        #expect(failures.isEmpty)
        for ns in names { #expect(!NetworkNamespace.exists(ns), "\(ns) left behind") }
        // Killed agents may take a moment to be reaped.
        var left = agentsLeft()
        for _ in 0..<100 where !left.isEmpty {
            usleep(20_000)
            left = agentsLeft()
        }
        #expect(left.isEmpty, "agents left: \(left)")
    }

    @Test func anAgentThatCannotListenFailsItsStep() throws {
        let names = namespaces(2, "c")
        let steps: [Step] = [
            .createNamespace(name: names[0]), .createNamespace(name: names[1]),
            .startAgent(namespace: names[0], node: node(0, "c"), port: 8080, proto: .tcp),
            // A second agent on the same port of the same namespace: EADDRINUSE.
            .startAgent(namespace: names[0], node: node(1, "c"), port: 8080, proto: .tcp),
        ]
        let applier = PlanApplier(executor: KernelExecutor())
        do {
            try NamespaceThread.shared.runHere { try applier.apply(steps) }
            Issue.record("two agents on one port should not both listen")
        } catch let failure as StepFailure {
            #expect("\(failure.cause)".contains("Address already in use"), "\(failure.cause)")
        }
        let failures = try NamespaceThread.shared.runHere { applier.rollback() }
        #expect(failures.isEmpty)
        for ns in names { #expect(!NetworkNamespace.exists(ns)) }
        var left = agentsLeft()
        for _ in 0..<100 where !left.isEmpty {
            usleep(20_000)
            left = agentsLeft()
        }
        #expect(left.isEmpty, "agents left: \(left)")
    }
}
