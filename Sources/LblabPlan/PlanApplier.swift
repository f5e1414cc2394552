/// Carries out plan steps. The runtime's executor talks to the kernel over netlink; tests use a
/// recording fake, so rollback, partial failure and teardown order are checked without root.
public protocol StepExecutor: AnyObject {
    /// Carries out one step.
    func execute(_ step: Step) throws -> StepOutcome
    /// Called before a batch of steps runs (a whole plan, or a whole teardown), so an executor can
    /// start slow work for all of them at once (e.g. signal every agent before waiting for each).
    func willExecute(_ steps: [Step])
    /// Called after the last step of a batch: work a step started and did not wait for (e.g. an
    /// agent that has yet to listen) must be finished here, or fail as `DeferredStepError`.
    func finish() throws
}

extension StepExecutor {
    public func willExecute(_ steps: [Step]) {}
    public func finish() throws {}
}

/// A step whose work finished only in `StepExecutor.finish()`, and failed there.
public struct DeferredStepError: Error {
    public var step: Step
    public var cause: any Error

    public init(step: Step, cause: any Error) {
        self.step = step
        self.cause = cause
    }
}

/// What a step left behind that the lab's state must remember.
public enum StepOutcome: Sendable, Equatable {
    case done
    /// A process started by `startAgent`.
    case startedAgent(node: String, namespace: String, port: UInt16, pid: Int32)
    /// A process started by `startDaemon`.
    case startedDaemon(node: String, namespace: String, kind: DaemonKind, pid: Int32)
}

/// A step that failed, with the error the executor threw.
public struct StepFailure: Error, CustomStringConvertible {
    public var step: Step
    /// Its position in the steps given to `apply`.
    public var index: Int
    public var cause: any Error

    public var description: String { "`\(step.command)`: \(cause)" }
}

/// Applies steps in order and remembers what it did, so a failure rolls back exactly that, and
/// `down` undoes a running lab the same way (`Plan.teardown(of:)`, one path for both).
public final class PlanApplier {
    public let executor: any StepExecutor
    /// The steps carried out so far, in order.
    public private(set) var done: [Step]
    /// Agents started by this applier.
    public private(set) var agents: [StepOutcome] = []
    /// Called after each step with its index and duration in seconds.
    public var onStep: ((Int, Step, Double) -> Void)?

    public init(executor: any StepExecutor, done: [Step] = []) {
        self.executor = executor
        self.done = done
    }

    /// Carries out `steps` in order; stops at the first failure (the steps before it stay done).
    public func apply(_ steps: [Step]) throws {
        executor.willExecute(steps)
        let clock = ContinuousClock()
        for (i, step) in steps.enumerated() {
            let t0 = clock.now
            let outcome: StepOutcome
            do { outcome = try executor.execute(step) } catch { throw StepFailure(step: step, index: i, cause: error) }
            done.append(step)
            switch outcome {
            case .done: break
            case .startedAgent, .startedDaemon: agents.append(outcome)
            }
            let d = clock.now - t0
            onStep?(i, step, Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
        }
        do { try executor.finish() } catch let e as DeferredStepError {
            throw StepFailure(step: e.step, index: steps.firstIndex(of: e.step) ?? steps.count - 1, cause: e.cause)
        }
    }

    /// Undoes everything done, newest first. A step that fails does not stop the rest: its
    /// failure is returned, and `done` is empty afterwards either way.
    @discardableResult
    public func rollback() -> [StepFailure] {
        let failures = Self.teardown(done, with: executor)
        done = []
        agents = []
        return failures
    }

    /// Carries out the teardown of `done` (see `Plan.teardown(of:)`), continuing past failures.
    public static func teardown(_ done: [Step], with executor: any StepExecutor) -> [StepFailure] {
        let steps = Plan.teardown(of: done)
        executor.willExecute(steps)
        var failures: [StepFailure] = []
        for (i, step) in steps.enumerated() {
            do { _ = try executor.execute(step) } catch { failures.append(StepFailure(step: step, index: i, cause: error)) }
        }
        return failures
    }
}
