import Foundation
import Testing
import UniRLTensor
import UniRLToys
@testable import UniRLCore

/// The toy flow policy under an SDE window: exact replay of the window's steps, deterministic
/// steps elsewhere, the trainer's plan (window, shared noise), and learning with the window on.
@Suite struct FlowWindowTests {
    @Test func windowStepsReplayExactlyAndTheRestAreEulerSteps() throws {
        let policy = pretrainedFlowPolicy()
        policy.samplingPlan = SDESamplingPlan(window: SDEWindow(size: 2, start: 3))
        var rng = RandomState(seed: 5)
        let rollouts = try policy.sample([Void](repeating: (), count: 6), using: &rng)
        let replays = try policy.replay(rollouts, given: [Void](repeating: (), count: 6))
        for (r, replay) in zip(rollouts, replays) {
            #expect(r.steps == [3, 4] && r.actionLogProbs.count == 2)
            for (x, y) in zip(replay.logProbs.scalars, r.actionLogProbs) { #expect(abs(x - y) <= 1e-5 * max(1, abs(y))) }
            #expect(replay.noiseScales == [policy.noiseScale(step: 3), policy.noiseScale(step: 4)])
            for k in [0, 1, 2, 5, 6, 7] {
                let x = r.path.slice(axis: 0, k..<(k + 1)), next = r.path.slice(axis: 0, (k + 1)..<(k + 2))
                let dt = policy.timesteps[k + 1] - policy.timesteps[k]
                let euler = withoutGrad { x + policy.velocity(x, t: [policy.timesteps[k]]) * dt }
                #expect(zip(euler.scalars, next.scalars).allSatisfy { abs($0 - $1) < 1e-6 }, "step \(k)")
            }
        }
    }

    @Test func theTrainerSetsTheWindowAndTheSharedNoise() async throws {
        let policy = pretrainedFlowPolicy()
        var configuration = flowConfiguration(steps: 3, beta: 0)
        configuration.experts["dm"]?.sdeWindowSize = 2
        configuration.experts["dm"]?.sdeWindowMode = .sliding
        configuration.experts["dm"]?.sameInitialNoise = true
        let scenario = ToyFlowScenario(policy: policy)
        let trainer = try GRPOTrainer(scenario: scenario, configuration: configuration)
        try await trainer.trainStep()
        try await trainer.trainStep()
        #expect(policy.samplingPlan.window.size == 2 && policy.samplingPlan.trainingStep == 1)
        #expect(policy.samplingPlan.sharedNoiseGroup == configuration.trainer.groupSize)
        var rng = RandomState(seed: 6)
        let trajectories = try scenario.rollout([0, 0], group: 16, using: &rng)
        #expect(trajectories.allSatisfy { $0.segments[0].actionCount == 2 })
        // The sliding window sits at step 1 at training step 1: steps 0 and 1 of a group start alike.
        let rollouts = try policy.sample([Void](repeating: (), count: 32), using: &rng)
        #expect(rollouts[0].steps == [1, 2])
        #expect(rollouts[0].path.slice(axis: 0, 0..<1).scalars == rollouts[15].path.slice(axis: 0, 0..<1).scalars)
        #expect(zip(rollouts[0].path.slice(axis: 0, 1..<2).scalars, rollouts[15].path.slice(axis: 0, 1..<2).scalars)
            .allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(rollouts[0].path.slice(axis: 0, 0..<1).scalars != rollouts[16].path.slice(axis: 0, 0..<1).scalars)
    }

    @Test func aWindowOnATokenExpertIsRefused() throws {
        var configuration = quietConfiguration(steps: 1)
        var lm = ExpertSettings.languageModel
        lm.sdeWindowSize = 2
        configuration.experts = ["lm": lm]
        #expect(throws: TrainerError.self) { _ = try GRPOTrainer(scenario: makeTokenScenario(), configuration: configuration) }
    }

    /// The toy scenario still learns when only 3 of its 8 steps (a random window per step) are actions.
    @Test func theToyFlowLearnsWithTheWindowOn() async throws {
        let reference = try flowSamples(pretrainedFlowPolicy())
        let policy = pretrainedFlowPolicy()
        var configuration = flowConfiguration(steps: 60, beta: 0, learningRate: 3e-3)
        configuration.experts["dm"]?.sdeWindowSize = 3
        configuration.experts["dm"]?.sdeWindowMode = .random
        let trainer = try GRPOTrainer(scenario: ToyFlowScenario(policy: policy), configuration: configuration)
        var rewards: [Double] = []
        for _ in 0..<60 { rewards.append(try await trainer.trainStep().metrics["reward"] ?? .nan) }
        let early = rewards.prefix(10).reduce(0, +) / 10, late = rewards.suffix(10).reduce(0, +) / 10
        policy.samplingPlan = .standard
        let after = try flowSamples(policy)
        print("flow with an SDE window of 3/8: reward \(early) → \(late); "
              + "in region \(fractionInRegion(reference)) → \(fractionInRegion(after))")
        #expect(late > early + 0.3)
        #expect(fractionInRegion(after) > 0.8)
    }

    /// The toy still learns when every sample of a group starts from one x₀ (flow_grpo's `same_latent`):
    /// the group's spread then comes from the SDE noise alone.
    @Test func theToyFlowLearnsWithSharedInitialNoise() async throws {
        let reference = try flowSamples(pretrainedFlowPolicy())
        let policy = pretrainedFlowPolicy()
        var configuration = flowConfiguration(steps: 60, beta: 0, learningRate: 3e-3)
        configuration.experts["dm"]?.sameInitialNoise = true
        let trainer = try GRPOTrainer(scenario: ToyFlowScenario(policy: policy), configuration: configuration)
        var rewards: [Double] = []
        for _ in 0..<60 { rewards.append(try await trainer.trainStep().metrics["reward"] ?? .nan) }
        let early = rewards.prefix(10).reduce(0, +) / 10, late = rewards.suffix(10).reduce(0, +) / 10
        policy.samplingPlan = .standard
        let after = try flowSamples(policy)
        print("flow with shared initial noise per group: reward \(early) → \(late); "
              + "in region \(fractionInRegion(reference)) → \(fractionInRegion(after))")
        #expect(late > early + 0.3)
        #expect(fractionInRegion(after) > 0.8)
    }
}
