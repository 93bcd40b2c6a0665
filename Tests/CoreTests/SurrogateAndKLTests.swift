import Foundation
import Testing
import UniRLTensor
import UniRLToys
@testable import UniRLCore

/// Ratio, clipping and KL values against hand-computed numbers.
@Suite struct SurrogateAndKLTests {
    @Test func clippedSurrogateValuesAndGradient() {
        let surrogate = ClippedSurrogate(epsilonLow: 0.2, epsilonHigh: 0.28)
        let logProbs = Tensor([-1.0, -0.5, -2.0, -0.1]).requiringGrad()
        let old = Tensor([-1.1, -0.5, -1.5, -0.4])
        let advantages: [Float] = [1, -1, -2, 0.5]
        let (loss, ratio) = surrogate.loss(logProbs: logProbs, oldLogProbs: old, advantages: Tensor(advantages))
        // ρ = exp([0.1, 0, −0.5, 0.3])
        assertClose(ratio.scalars, [1.1051709180756477, 1, 0.6065306597126334, 1.3498588075760032])
        // −min(ρA, clip(ρ, 0.8, 1.28)·A)
        assertClose(loss.scalars, [-1.1051709180756477, 1, 1.6, -0.64])
        // The gradient flows only where the unclipped term is the minimum.
        let g = Autodiff.gradients(of: loss.sum(), withRespectTo: [logProbs])[0]!
        assertClose(g.scalars, [-1.1051709180756477, 1, 0, 0])
        let counts = surrogate.clipCounts(ratios: ratio.scalars, advantages: advantages)
        #expect(counts.low == 1 && counts.high == 1 && counts.region == 2)
    }

    @Test func ratioIsOneAndLossIsMinusAdvantageWhenPolicyEqualsOld() {
        let lp = Tensor([-0.3, -1.2, -2.5])
        let (loss, ratio) = ClippedSurrogate().loss(logProbs: lp, oldLogProbs: lp, advantages: Tensor([0.5, -0.5, 2]))
        #expect(ratio.scalars == [1, 1, 1])
        #expect(loss.scalars == [-0.5, 0.5, -2])
    }

    @Test func k3() {
        let lp = Tensor([-1, -2]).requiringGrad()
        let kl = KLPenalty.k3(logProbs: lp, referenceLogProbs: Tensor([-1.5, -1]))
        // q = ref − lp = [−0.5, 1]; exp(q) − q − 1
        assertClose(kl.scalars, [0.10653065971263342, 0.7182818284590451])
        let g = Autodiff.gradients(of: kl.sum(), withRespectTo: [lp])[0]!
        assertClose(g.scalars, [0.3934693402873666, -1.718281828459045])   // 1 − exp(q)
        #expect(KLPenalty.k3(logProbs: lp, referenceLogProbs: lp).scalars == [0, 0])
    }

    @Test func gaussianStepKL() {
        let means = Tensor(shape: [2, 2], scalars: [1, 2, 0, 0])
        let reference = Tensor(shape: [2, 2], scalars: [1.5, 2, 1, -1])
        let exact = KLPenalty.gaussian(means: means, referenceMeans: reference, noiseScales: [0.5, 1], stepSizes: [0.1, 0.2],
                                       variant: .exact)
        // mean_d (Δμ)² = [0.125, 1]; divided by 2σ²(−dt) = [0.05, 0.4]
        assertClose(exact.scalars, [2.5, 2.5])
        let flow = KLPenalty.gaussian(means: means, referenceMeans: reference, noiseScales: [0.5, 1], stepSizes: [0.1, 0.2],
                                      variant: .flowGRPO)
        // divided by 2σ² = [0.5, 2]
        assertClose(flow.scalars, [0.25, 0.5])
    }

    @Test func lossAggregationWeights() {
        let counts = [2, 4]
        assertClose(LossAggregation.grpo.weights(actionCounts: counts, trajectories: 2, actions: 6, maxLength: 5),
                    [0.25, 0.25, 0.125, 0.125, 0.125, 0.125])
        assertClose(LossAggregation.tokenMean.weights(actionCounts: counts, trajectories: 2, actions: 6, maxLength: 5),
                    Array(repeating: 1.0 / 6, count: 6))
        assertClose(LossAggregation.drGRPO.weights(actionCounts: counts, trajectories: 2, actions: 6, maxLength: 5),
                    Array(repeating: 0.1, count: 6))
    }

    /// The toy SDE sampler's log-prob is the Gaussian density averaged over dimensions, and its
    /// replay reproduces the sampler's numbers.
    @Test func sdeStepLogProbability() throws {
        var rng = RandomState(seed: 3)
        let policy = ToyFlowPolicy(hidden: 8, steps: 4, rng: &rng)
        let rollouts = try policy.sample([(), ()], using: &rng)
        let replays = try policy.replay(rollouts, given: [(), ()])
        for (r, p) in zip(rollouts, replays) {
            let path = r.path.scalars
            for k in 0..<4 {
                let mean = p.means.scalars[(2 * k)..<(2 * k + 2)].map(Double.init)
                let sigma = Double(policy.noiseScale(step: k)), dt = Double(p.stepSizes[k])
                let variance = sigma * sigma * dt
                let next = [Double(path[2 * (k + 1)]), Double(path[2 * (k + 1) + 1])]
                let logNormaliser = 0.5 * Foundation.log(2 * Double.pi * variance)
                let logDensities = zip(next, mean).map { -($0 - $1) * ($0 - $1) / (2 * variance) - logNormaliser }
                let expected = logDensities.reduce(0, +) / 2
                assertClose(p.logProbs.scalars[k], expected, tolerance: 1e-4)
                assertClose(r.actionLogProbs[k], expected, tolerance: 1e-4)
            }
        }
        // σ_t = a·√(t/(1 − t)), with t_1 in the denominator at t = 1.
        assertClose(policy.noiseScale(step: 0), 0.7 * (1.0 / 0.25).squareRoot())
        assertClose(policy.noiseScale(step: 2), 0.7 * (0.5 / 0.5).squareRoot())
    }
}

