import Foundation
import Testing
import UniRLExperts
import UniRLTensor

/// The schedule with SANA's flow shift, logit-normal levels, the flow-matching loss, the Euler
/// sampler and classifier-free guidance.
@Suite struct FlowMatchingScheduleTests {
    @Test func shiftMatchesDiffusersFlowSchedulers() {
        // diffusers 0.42.1 FlowMatchEulerDiscreteScheduler(shift=3.0).sigmas at base levels 1, 0.75, 0.001.
        #expect(FlowMatchingSchedule.shifted(1, shift: 3) == 1)
        #expect(abs(FlowMatchingSchedule.shifted(0.75, shift: 3) - 0.9) < 1e-7)
        #expect(abs(FlowMatchingSchedule.shifted(0.001, shift: 3) - 0.002994) < 1e-6)
        // DPMSolverMultistepScheduler(use_flow_sigmas=True, flow_shift=3.0).set_timesteps(10).sigmas: the
        // same shift of levels that stop at 1/1000 instead of 0, so they agree to ~1e-3.
        let dpm: [Float] = [0.9996665, 0.9639411, 0.9227217, 0.8746352, 0.8178097, 0.7496248, 0.6662961,
                            0.5621483, 0.4282652, 0.2497916, 0.0]
        let ours = FlowMatchingSchedule(steps: 10, shift: 3).timesteps
        #expect(ours.count == 11 && ours.first == 1 && ours.last == 0)
        for (a, b) in zip(ours, dpm) { #expect(abs(a - b) < 1e-3) }
        #expect(abs(ours[1] - 2.7 / 2.8) < 1e-6)
    }

    @Test func unshiftedScheduleIsEvenAndDecreasing() {
        let s = FlowMatchingSchedule(steps: 4)
        #expect(s.timesteps == [1, 0.75, 0.5, 0.25, 0])
        #expect(s.stepSize(1) == -0.25)
        #expect(s.modelTimestep(1) == 750)
        #expect(s.firstLevelBelowOne == 0.75)
        let shifted = FlowMatchingSchedule(steps: 20, shift: 4)
        #expect(zip(shifted.timesteps, shifted.timesteps.dropFirst()).allSatisfy { $0 > $1 })
        #expect(zip(shifted.timesteps, FlowMatchingSchedule(steps: 20).timesteps).allSatisfy { $0 >= $1 })
    }

    @Test func logitNormalLevelsHaveTheRequestedLogitMoments() {
        var rng = RandomState(seed: 5)
        let t = LogitNormalTimesteps(mean: 0.5, std: 0.8).sample(count: 20_000, using: &rng)
        #expect(t.allSatisfy { $0 > 0 && $0 < 1 })
        let logits = t.map { Double(Foundation.log($0 / (1 - $0))) }
        let mean = logits.reduce(0, +) / Double(logits.count)
        let std = (logits.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(logits.count)).squareRoot()
        #expect(abs(mean - 0.5) < 0.03)
        #expect(abs(std - 0.8) < 0.03)
    }

    @Test func lossIsTheMeanSquaredVelocityError() {
        var rng = RandomState(seed: 6)
        let clean = Tensor.randomNormal([3, 2, 2, 2], using: &rng), noise = Tensor.randomNormal([3, 2, 2, 2], using: &rng)
        let levels: [Float] = [0.1, 0.5, 0.9]
        let xt = FlowMatchingLoss.interpolate(clean: clean, noise: noise, levels: levels)
        let (c, n, x) = (clean.scalars, noise.scalars, xt.scalars)
        for i in 0..<x.count { #expect(abs(x[i] - ((1 - levels[i / 8]) * c[i] + levels[i / 8] * n[i])) < 1e-6) }
        #expect(FlowMatchingLoss.loss(prediction: noise - clean, clean: clean, noise: noise).item == 0)
        let off = FlowMatchingLoss.loss(prediction: noise - clean + 0.5, clean: clean, noise: noise).item
        #expect(abs(off - 0.25) < 1e-6)
        // The drawn form: a model that knows ε and x_0 has zero loss at every level.
        let loss = FlowMatchingLoss()
        var draw = RandomState(seed: 7)
        let value = loss(clean: clean, using: &draw) { noised, t in
            // Recover ε from x_t and x_0: ε = (x_t − (1 − t)·x_0) / t, then v = ε − x_0.
            let tt = Tensor(shape: [3, 1, 1, 1], scalars: t)
            return (noised - clean * (1 - tt)) / tt - clean
        }
        #expect(value.item < 1e-9)
    }

    @Test func eulerStepsFollowTheVelocity() {
        let sampler = EulerSampler(schedule: FlowMatchingSchedule(steps: 4))
        var rng = RandomState(seed: 8)
        let noise = Tensor.randomNormal([2, 3], using: &rng), target = Tensor.randomNormal([2, 3], using: &rng)
        // The exact velocity of the straight path from `target` to `noise` lands on `target`.
        let end = sampler.sample(from: noise) { _, _ in noise - target }
        #expect(FlowMatchingFixtures.maxAbsDifference(end, target) < 1e-6)
        let path = sampler.path(from: noise) { x, t in x * Tensor(shape: [2, 1], scalars: t) }
        #expect(path.count == 5)
        let x0 = noise.scalars, x1 = path[1].scalars
        for i in 0..<6 { #expect(abs(x1[i] - (x0[i] + x0[i] * 1 * -0.25)) < 1e-6) }
    }

    @Test func guidanceCombinesConditionalAndUnconditionalVelocities() throws {
        let model = try FlowMatchingFixtures.transformer()
        var rng = RandomState(seed: 9)
        let x = Tensor.randomNormal([2, 2, 4, 4], using: &rng)
        let c = Tensor.randomNormal([2, 3, 6], using: &rng), u = Tensor.randomNormal([2, 3, 6], using: &rng)
        let mask = Tensor(shape: [2, 3], scalars: [1, 1, 0, 1, 1, 1]), umask = Tensor(shape: [2, 3], scalars: [1, 0, 0, 1, 0, 0])
        let levels: [Float] = [0.3, 0.8]
        let t = Tensor(levels.map { $0 * 1000 })
        let vc = model(x, encoderHiddenStates: c, timestep: t, encoderAttentionMask: mask)
        let vu = model(x, encoderHiddenStates: u, timestep: t, encoderAttentionMask: umask)
        func guided(_ w: Float) -> Tensor {
            GuidedVelocity(transformer: model, conditions: c, mask: mask, unconditional: u, unconditionalMask: umask,
                           guidanceScale: w)(x, levels: levels)
        }
        #expect(FlowMatchingFixtures.maxAbsDifference(guided(1), vc) == 0)
        #expect(FlowMatchingFixtures.maxAbsDifference(guided(0), vu) < 1e-5)
        #expect(FlowMatchingFixtures.maxAbsDifference(guided(4.5), vu + (vc - vu) * 4.5) < 1e-4)
    }
}
