import Foundation
import Testing
import UniRLCore
import UniRLExperts
import UniRLTensor

/// The SANA policy under a sampling plan: stochastic steps only inside the window (Flow-GRPO-Fast),
/// deterministic Euler steps elsewhere, exact replay of the window's steps, and one x_0 per group.
@Suite struct SDEWindowPolicyTests {
    @Test func windowPositionsFollowTheirMode() {
        var rng = RandomState(seed: 1)
        #expect(SDEWindow.whole.steps(samplerSteps: 10, trainingStep: 5, using: &rng) == 0..<10)
        #expect(SDEWindow(size: 3, start: 2).steps(samplerSteps: 10, trainingStep: 5, using: &rng) == 2..<5)
        #expect(SDEWindow(size: 3, start: 9).steps(samplerSteps: 10, trainingStep: 0, using: &rng) == 7..<10)   // clamped
        let sliding = SDEWindow(size: 2, start: 1, end: 6, mode: .sliding, slideEvery: 2)
        // Starts 1…4 (end 6 − size 2), one move every 2 training steps, then back to 1.
        #expect((0..<10).map { sliding.steps(samplerSteps: 10, trainingStep: $0, using: &rng).lowerBound }
                == [1, 1, 2, 2, 3, 3, 4, 4, 1, 1])
        let random = SDEWindow(size: 2, start: 0, end: 5, mode: .random)
        let starts = Set((0..<200).map { _ in random.steps(samplerSteps: 10, trainingStep: 0, using: &rng).lowerBound })
        #expect(starts == [0, 1, 2, 3])
    }

    @Test(arguments: [SDEStepKind.sde, .cps])
    func onlyWindowStepsAreActionsAndTheirReplayMatches(kind: SDEStepKind) throws {
        let policy = try FlowMatchingFixtures.policy(guidance: 3, steps: 8, kind: kind)
        policy.samplingPlan = SDESamplingPlan(window: SDEWindow(size: 3, start: 2))
        let conditions = FlowMatchingFixtures.conditions(4)
        var rng = RandomState(seed: 40)
        let rollouts = try policy.sample(conditions, using: &rng)
        let replays = try policy.replay(rollouts, given: conditions)
        for (r, replay) in zip(rollouts, replays) {
            #expect(r.steps == [2, 3, 4])
            #expect(replay.logProbs.shape == [3])
            for (x, y) in zip(replay.logProbs.scalars, r.actionLogProbs) { #expect(abs(x - y) <= 1e-5 * max(1, abs(y)), "\(x) vs \(y)") }
        }
        // Outside the window x_{k+1} is the Euler step x_k + v(x_k, t_k)·dt_k exactly.
        let field = try policy.velocityField(conditions)
        let schedule = policy.sdeStep.schedule
        let paths = Tensor.stack(rollouts.map(\.latents), axis: 0)   // [n, N+1, C, H, W]
        for k in [0, 1, 5, 6, 7] {
            let x = paths.slice(axis: 1, k..<(k + 1)).squeezed(1), next = paths.slice(axis: 1, (k + 1)..<(k + 2)).squeezed(1)
            let euler = withoutGrad { x + field(x, levels: [Float](repeating: schedule.timesteps[k], count: 4)) * schedule.stepSize(k) }
            #expect(FlowMatchingFixtures.maxAbsDifference(euler, next) < 1e-5, "step \(k)")
        }
        // The same noise outside the window: two rollouts from one generator state differ only from the window on.
        var a = RandomState(seed: 41), b = RandomState(seed: 41)
        let first = try policy.sample(conditions, using: &a)
        policy.samplingPlan = SDESamplingPlan(window: SDEWindow(size: 1, start: 4))
        let second = try policy.sample(conditions, using: &b)
        let prefix = { (r: SanaPolicy.Rollout) in r.latents.slice(axis: 0, 0..<3).scalars }
        #expect(prefix(first[0]) == prefix(second[0]))
        #expect(first[0].sample.scalars != second[0].sample.scalars)
    }

    @Test func aGroupSharesItsInitialNoise() throws {
        let policy = try FlowMatchingFixtures.policy(steps: 4)
        policy.samplingPlan = SDESamplingPlan(sharedNoiseGroup: 3)
        let conditions = FlowMatchingFixtures.conditions(6)
        var rng = RandomState(seed: 42)
        let rollouts = try policy.sample(conditions, using: &rng)
        let starts = rollouts.map { $0.latents.slice(axis: 0, 0..<1).scalars }
        #expect(starts[0] == starts[1] && starts[1] == starts[2])
        #expect(starts[3] == starts[4] && starts[4] == starts[5])
        #expect(starts[0] != starts[3])
        #expect(rollouts[0].sample.scalars != rollouts[1].sample.scalars)   // the SDE noise still differs
    }
}
