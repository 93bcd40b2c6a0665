import Foundation
import Testing
import UniRLCore
import UniRLExperts
import UniRLTensor

/// The SANA SDE policy: reproducible rollouts, exact replay, the ODE limit, denoising reduction,
/// and the supervised cold start.
@Suite struct FlowMatchingPolicyTests {
    @Test func sameSeedGivesTheSameSamples() throws {
        let policy = try FlowMatchingFixtures.policy(guidance: 3)
        let conditions = FlowMatchingFixtures.conditions(3)
        var a = RandomState(seed: 30), b = RandomState(seed: 30), c = RandomState(seed: 31)
        let first = try policy.sample(conditions, using: &a), second = try policy.sample(conditions, using: &b)
        let other = try policy.sample(conditions, using: &c)
        for (r, s) in zip(first, second) {
            #expect(r.latents.scalars == s.latents.scalars)
            #expect(r.actionLogProbs == s.actionLogProbs)
            #expect(r.steps == Array(0..<6))
        }
        #expect(first[0].latents.shape == [7, 2, 4, 4])
        #expect(first[0].latents.scalars != other[0].latents.scalars)
    }

    @Test(arguments: [(Float(1), SDEStepKind.sde), (3, .sde), (3, .cps)])
    func replayedLogProbsEqualSamplingTimeOnes(guidance: Float, kind: SDEStepKind) throws {
        let policy = try FlowMatchingFixtures.policy(guidance: guidance, kind: kind)
        let conditions = FlowMatchingFixtures.conditions(4)
        var rng = RandomState(seed: 32)
        let rollouts = try policy.sample(conditions, using: &rng)
        let replays = try policy.replay(rollouts, given: conditions)
        let step = policy.sdeStep
        for (r, replay) in zip(rollouts, replays) {
            let replayed = replay.logProbs.scalars
            #expect(replayed.count == r.actionLogProbs.count)
            for (x, y) in zip(replayed, r.actionLogProbs) { #expect(abs(x - y) <= 1e-5 * max(1, abs(y)), "\(x) vs \(y)") }
            #expect(replay.means.shape == [r.steps.count, 32])
            #expect(replay.noiseScales == r.steps.map { step.varianceFactors($0).noiseScale })
            #expect(replay.stepSizes == r.steps.map { step.varianceFactors($0).stepSize })
            #expect(replay.logProbs.requiresGrad)
        }
        if kind == .cps { #expect(rollouts[0].steps == Array(0..<5)) }   // the noiseless last step is no action
    }

    @Test func replayOfAStepSubsetTrainsOnThoseStepsOnly() throws {
        let policy = try FlowMatchingFixtures.policy(guidance: 2, steps: 8, trained: .random(3))
        let conditions = FlowMatchingFixtures.conditions(5)
        var rng = RandomState(seed: 33)
        let rollouts = try policy.sample(conditions, using: &rng)
        #expect(Set(rollouts.map(\.steps)).count > 1)     // a different subset per rollout
        let full = try FlowMatchingFixtures.policy(guidance: 2, steps: 8)
        var again = RandomState(seed: 33)
        let all = try full.sample(conditions, using: &again)
        let replays = try policy.replay(rollouts, given: conditions)
        for ((r, f), replay) in zip(zip(rollouts, all), replays) {
            #expect(r.steps.count == 3 && r.steps == r.steps.sorted())
            #expect(r.latents.scalars == f.latents.scalars)          // same trajectory, fewer actions
            #expect(r.actionLogProbs == r.steps.map { f.actionLogProbs[$0] })
            for (x, y) in zip(replay.logProbs.scalars, r.actionLogProbs) { #expect(abs(x - y) <= 1e-5 * max(1, abs(y))) }
        }
        let fixed = try FlowMatchingFixtures.policy(steps: 8, trained: .fixed([0, 5, 7]))
        var f = RandomState(seed: 34)
        #expect(try fixed.sample(conditions, using: &f)[0].steps == [0, 5, 7])
    }

    @Test func replayGradientsReachTheTransformer() throws {
        let policy = try FlowMatchingFixtures.policy(guidance: 3)
        let conditions = FlowMatchingFixtures.conditions(2)
        var rng = RandomState(seed: 35)
        let rollouts = try policy.sample(conditions, using: &rng)
        let replays = try policy.replay(rollouts, given: conditions)
        Tensor.concatenate(replays.map(\.logProbs), axis: 0).sum().backward()
        let grads = policy.transformer.trainableParameters().compactMap(\.parameter.grad)
        #expect(grads.count > 10)
        #expect(grads.contains { g in g.scalars.contains { $0 != 0 } })
        policy.transformer.zeroGrad()
    }

    @Test func sdeSamplesApproachTheODEAsTheNoiseVanishes() throws {
        let conditions = FlowMatchingFixtures.conditions(3)
        var distances: [Float] = []
        for a: Float in [0.3, 0.03, 0.003] {
            let policy = try FlowMatchingFixtures.policy(guidance: 2, steps: 6, noiseLevel: a, shift: 2)
            var sdeRNG = RandomState(seed: 36), odeRNG = RandomState(seed: 36)   // the same x_0
            let sde = Tensor.stack(try policy.sample(conditions, using: &sdeRNG).map(\.sample), axis: 0)
            let ode = try policy.generate(conditions, steps: 6, using: &odeRNG)
            distances.append(FlowMatchingFixtures.maxAbsDifference(sde, ode))
        }
        // The gap shrinks in proportion to a (10× per step here).
        #expect(distances[0] > distances[1] && distances[1] > distances[2])
        #expect(distances[1] < 0.2 * distances[0] && distances[2] < 0.2 * distances[1], "\(distances)")
        #expect(distances[2] < 0.02 * distances[0] && distances[2] < 0.05, "\(distances)")
    }

    @Test func conditionsMustAgreeWithTheTransformer() throws {
        let policy = try FlowMatchingFixtures.policy(guidance: 3)
        var rng = RandomState(seed: 37)
        let wide = [SanaCondition(embedding: .zeros([3, 7]))]
        #expect(throws: SanaPolicyError.self) { _ = try policy.sample(wide, using: &rng) }
        let ragged = [SanaCondition(embedding: .zeros([3, 6])), SanaCondition(embedding: .zeros([2, 6]))]
        #expect(throws: SanaPolicyError.self) { _ = try policy.sample(ragged, using: &rng) }
        policy.unconditional = nil
        #expect(throws: SanaPolicyError.self) { _ = try policy.sample(FlowMatchingFixtures.conditions(1), using: &rng) }
    }

    @Test func coldStartLowersTheFlowMatchingLoss() throws {
        let model = try FlowMatchingFixtures.transformer(seed: 4)
        let tuning = SanaFineTuning(transformer: model, learningRate: 3e-3)
        var data = RandomState(seed: 38)
        // Two fixed "images", each tied to its own condition.
        let latents = Tensor.randomNormal([2, 2, 4, 4], using: &data), captions = Tensor.randomNormal([2, 3, 6], using: &data)
        var rng = RandomState(seed: 39)
        let losses = tuning.train(steps: 120, using: &rng) { _, _ in
            FlowMatchingBatch(latents: latents, encoderHiddenStates: captions)
        }
        let early = losses.prefix(20).reduce(0, +) / 20, late = losses.suffix(20).reduce(0, +) / 20
        #expect(late < 0.6 * early, "\(early) → \(late)")
        #expect(tuning.stepCount == 120)
        #expect(model.trainableParameters().allSatisfy { $0.parameter.grad == nil })
    }
}
