import Foundation
import Testing
import LblabModel
@testable import LblabPlan
import LblabTypes

/// A `StepExecutor` that records what it is asked to do and fails the steps it is told to.
final class RecordingExecutor: StepExecutor {
    struct Failure: Error, Equatable { var step: Step }

    private(set) var executed: [Step] = []
    private(set) var batches: [[Step]] = []
    /// Steps that throw when executed (every time).
    var failing: [Step] = []
    private var nextPID: Int32 = 4000

    func execute(_ step: Step) throws -> StepOutcome {
        executed.append(step)
        if failing.contains(step) { throw Failure(step: step) }
        if case .startAgent(let ns, let node, let port, _) = step {
            nextPID += 1
            return .startedAgent(node: node, namespace: ns, port: port, pid: nextPID)
        }
        return .done
    }

    func willExecute(_ steps: [Step]) { batches.append(steps) }
}

/// Where in dr-basic's plan a failure is injected: the first steps, the first step of a node, a
/// veth, the IPVS service, the first agent and the step after it, the last step.
let failurePoints: [Int] = {
    guard let steps = try? plan("dr-basic").steps else { return [] }
    let agent = steps.firstIndex { $0.startedAgent != nil } ?? 0
    return [0, 1,
            steps.firstIndex(of: .createNamespace(name: "lblab-dr-basic-client")) ?? 0,
            steps.firstIndex { if case .createVeth = $0 { true } else { false } } ?? 0,
            steps.firstIndex(of: .createNamespace(name: "lblab-dr-basic-rs1")) ?? 0,
            steps.firstIndex { if case .addService = $0 { true } else { false } } ?? 0,
            agent, agent + 1, steps.count - 1]
}()

@Suite struct PlanApplierTests {
    /// dr-basic's steps, and the index of each kind of step a failure can hit.
    let steps: [Step]
    init() throws { steps = try plan("dr-basic").steps }

    func index(_ step: Step) -> Int { steps.position(of: step) }

    @Test func aFullApplyDoesEveryStepInOrderAndRecordsTheAgents() throws {
        let executor = RecordingExecutor()
        let applier = PlanApplier(executor: executor)
        var reported: [(Int, Step)] = []
        applier.onStep = { i, step, seconds in
            reported.append((i, step))
            #expect(seconds >= 0)
        }
        try applier.apply(steps)
        #expect(executor.executed == steps)
        #expect(applier.done == steps)
        #expect(executor.batches == [steps], "willExecute gets the whole plan once, before the first step")
        #expect(reported.map(\.0) == Array(steps.indices))
        #expect(reported.map(\.1) == steps)
        #expect(applier.agents == [
            .startedAgent(node: "rs1", namespace: "lblab-dr-basic-rs1", port: 80, pid: 4001),
            .startedAgent(node: "rs2", namespace: "lblab-dr-basic-rs2", port: 80, pid: 4002),
        ])
    }

    /// A failure at step k: k is reported with its cause, the steps before k stay done, and the
    /// rollback undoes exactly them, newest first.
    @Test func failurePointsAreDistinctStepsOfThePlan() {
        #expect(Set(failurePoints).count == 9)
        #expect(failurePoints.allSatisfy { steps.indices.contains($0) })
    }

    @Test(arguments: failurePoints)
    func failureAtStepKRollsBackTheStepsBeforeIt(k: Int) throws {
        let executor = RecordingExecutor()
        executor.failing = [steps[k]]
        let applier = PlanApplier(executor: executor)
        do {
            try applier.apply(steps)
            Issue.record("apply did not fail")
        } catch let failure as StepFailure {
            #expect(failure.index == k)
            #expect(failure.step == steps[k])
            #expect(failure.cause as? RecordingExecutor.Failure == RecordingExecutor.Failure(step: steps[k]))
            #expect(failure.description.hasPrefix("`\(steps[k].command)`: "))
        }
        #expect(executor.executed == Array(steps.prefix(k + 1)), "nothing after the failed step runs")
        #expect(applier.done == Array(steps.prefix(k)))

        let failures = applier.rollback()
        #expect(failures.isEmpty)
        let undone = Array(executor.executed.dropFirst(k + 1))
        #expect(undone == Plan.teardown(of: Array(steps.prefix(k))))
        #expect(executor.batches.count == 2 && executor.batches[1] == undone, "willExecute gets the whole rollback")
        #expect(applier.done.isEmpty && applier.agents.isEmpty)
        // Exactly the namespaces created before k, newest first; exactly the agents started before k.
        #expect(undone.deletedNamespaces == Array(steps.prefix(k)).createdNamespaces.reversed())
        #expect(undone.compactMap(\.stoppedAgent) == Array(steps.prefix(k)).compactMap(\.startedAgent).reversed())
    }

    /// The failing step is not undone: an agent that failed to start is not stopped.
    @Test func anAgentThatFailedToStartIsNotStopped() throws {
        let rs2Agent = Step.startAgent(namespace: "lblab-dr-basic-rs2", node: "rs2", port: 80, proto: .tcp)
        let executor = RecordingExecutor()
        executor.failing = [rs2Agent]
        let applier = PlanApplier(executor: executor)
        #expect(throws: StepFailure.self) { try applier.apply(steps) }
        #expect(applier.agents == [.startedAgent(node: "rs1", namespace: "lblab-dr-basic-rs1", port: 80, pid: 4001)])
        applier.rollback()
        let undone = Array(executor.executed.dropFirst(steps.count))
        #expect(undone == [
            .stopAgent(namespace: "lblab-dr-basic-rs1", node: "rs1", port: 80),
            .deleteNamespace(name: "lblab-dr-basic-rs2"), .deleteNamespace(name: "lblab-dr-basic-rs1"),
            .deleteNamespace(name: "lblab-dr-basic-dispatcher"), .deleteNamespace(name: "lblab-dr-basic-client"),
            .deleteNamespace(name: "lblab-dr-basic-switch"),
        ])
    }

    /// Undo steps that fail do not stop the rest; each failure comes back with its step.
    @Test func failingUndoStepsDoNotStopTheRest() throws {
        let executor = RecordingExecutor()
        let applier = PlanApplier(executor: executor)
        try applier.apply(steps)
        executor.failing = [.stopAgent(namespace: "lblab-dr-basic-rs2", node: "rs2", port: 80), .deleteNamespace(name: "lblab-dr-basic-client")]
        let failures = applier.rollback()
        let teardown = Plan.teardown(of: steps)
        #expect(Array(executor.executed.dropFirst(steps.count)) == teardown, "every undo step was tried")
        #expect(failures.map(\.step) == executor.failing)
        #expect(failures.map(\.index) == [teardown.position(of: executor.failing[0]), teardown.position(of: executor.failing[1])])
        #expect(applier.done.isEmpty)
    }

    /// `down` of a running lab: the teardown of the full plan is its creating steps' undos, reversed.
    @Test(arguments: shippedLabs)
    func teardownOfAFullPlanIsTheReverseOfItsCreatingSteps(lab: String) throws {
        let steps = try plan(lab).steps
        let executor = RecordingExecutor()
        let failures = PlanApplier.teardown(steps, with: executor)
        #expect(failures.isEmpty)
        let expected = steps.reversed().compactMap { s -> Step? in
            switch s {
            case .createNamespace(let n): .deleteNamespace(name: n)
            case .startAgent(let ns, let node, let port, _): .stopAgent(namespace: ns, node: node, port: port)
            case .startDaemon(let ns, let node, let d): .stopDaemon(namespace: ns, node: node, kind: d.kind)
            default: nil
            }
        }
        #expect(executor.executed == expected)
        #expect(executor.batches == [expected])
    }

    @Test func dRBasicDownByHand() throws {
        let executor = RecordingExecutor()
        _ = PlanApplier.teardown(steps, with: executor)
        #expect(executor.executed == [
            .stopAgent(namespace: "lblab-dr-basic-rs2", node: "rs2", port: 80), .stopAgent(namespace: "lblab-dr-basic-rs1", node: "rs1", port: 80),
            .deleteNamespace(name: "lblab-dr-basic-rs2"), .deleteNamespace(name: "lblab-dr-basic-rs1"),
            .deleteNamespace(name: "lblab-dr-basic-dispatcher"), .deleteNamespace(name: "lblab-dr-basic-client"),
            .deleteNamespace(name: "lblab-dr-basic-switch"),
        ])
    }

    /// An applier that starts from a running lab's steps (`down`) undoes them; a second apply adds to them.
    @Test func rollbackOfStepsDoneEarlier() throws {
        let executor = RecordingExecutor()
        let half = steps.count / 2
        let applier = PlanApplier(executor: executor, done: Array(steps.prefix(half)))
        try applier.apply(Array(steps[half...]))
        #expect(applier.done == steps)
        #expect(executor.executed == Array(steps[half...]))
        applier.rollback()
        #expect(Array(executor.executed.dropFirst(steps.count - half)) == Plan.teardown(of: steps))
        #expect(applier.rollback().isEmpty)
        #expect(executor.executed.count == steps.count - half + Plan.teardown(of: steps).count, "a second rollback does nothing")
    }
}
