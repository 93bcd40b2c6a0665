import Foundation
import Testing
import UniRLTensor

@testable import UniRLCore

/// Every policy-loss setting against a float64 reference written out in the test: values and
/// gradients with respect to log π_θ on a small batch of two segments (2 and 4 actions).
@Suite struct PolicyLossMenuTests {
    let logProbs: [Double] = [-1.0, -0.5, -2.0, -0.1, -0.7, -3.0]
    let old: [Double] = [-1.1, -0.5, -1.5, -0.4, -2.2, -1.0]
    let advantages: [Double] = [1, 1, -2, -2, -2, -2]
    let lengths = [2, 4]

    /// ℓ(ρ, A) and dℓ/dρ of the PPO clip with δ and the dual clip c, in float64.
    func ppo(_ r: Double, _ a: Double, low: Double, high: Double, delta: Double, c: Double) -> (Double, Double) {
        let capped = delta > 0 ? min(r, delta) : r
        let dCapped: Double = delta > 0 && r > delta ? 0 : 1
        let clipped = min(max(r, 1 - low), 1 + high)
        let dClipped: Double = r > 1 - low && r < 1 + high ? 1 : 0
        var (loss, d) = capped * a <= clipped * a ? (-capped * a, -dCapped * a) : (-clipped * a, -dClipped * a)
        if c > 0 && a < 0 && -c * a < loss { (loss, d) = (-c * a, 0) }
        return (loss, d)
    }

    /// Value and gradient of Σ_k ℓ_k from the per-action function of ρ, at token or sequence level.
    func reference(sequence: Bool, _ f: (Double, Double) -> (Double, Double)) -> (loss: [Double], grad: [Double]) {
        var logRatio = zip(logProbs, old).map { $0 - $1 }
        if sequence {
            var offset = 0
            for n in lengths {
                let m = logRatio[offset..<(offset + n)].reduce(0, +) / Double(n)
                for k in offset..<(offset + n) { logRatio[k] = m }
                offset += n
            }
        }
        let ratio = logRatio.map { Foundation.exp($0) }
        let parts = zip(ratio, advantages).map { f($0, $1) }
        // dℓ_j/d log π_k = dℓ_j/dρ_j · ρ_j · ∂(log ratio_j)/∂ log π_k.
        var grad = [Double](repeating: 0, count: logProbs.count)
        var offset = 0
        for n in lengths {
            for j in offset..<(offset + n) {
                let g = parts[j].1 * ratio[j]
                if sequence { for k in offset..<(offset + n) { grad[k] += g / Double(n) } } else { grad[j] += g }
            }
            offset += n
        }
        return (parts.map(\.0), grad)
    }

    func run(_ surrogate: ClippedSurrogate, sequence: Bool = false) -> (loss: [Float], grad: [Float], ratio: [Float]) {
        let lp = Tensor(logProbs.map(Float.init)).requiringGrad()
        let (loss, ratio) = surrogate.loss(
            logProbs: lp, oldLogProbs: Tensor(old.map(Float.init)),
            advantages: Tensor(advantages.map(Float.init)),
            segmentLengths: sequence ? lengths : nil)
        let g = Autodiff.gradients(of: loss.sum(), withRespectTo: [lp])[0]!
        return (loss.scalars, g.scalars, ratio.scalars)
    }

    @Test(arguments: [(0.0, 0.0, false), (1.2, 0.0, false), (0.0, 3.0, false), (1.2, 3.0, false), (0.0, 3.0, true)])
    func ppoClipWithDeltaDualClipAndSequenceLevel(delta: Double, c: Double, sequence: Bool) {
        var s = ClippedSurrogate(epsilonLow: 0.2, epsilonHigh: 0.5)
        s.delta = Float(delta)
        s.dualClip = Float(c)
        let out = run(s, sequence: sequence)
        let ref = reference(sequence: sequence) { ppo($0, $1, low: 0.2, high: 0.5, delta: delta, c: c) }
        assertClose(out.loss, ref.loss)
        assertClose(out.grad, ref.grad)
    }

    /// The dual clip bounds the loss of the action with A < 0 and ρ = e^{1.5} > 3 at −3·A, with no gradient.
    @Test func dualClipBoundsTheNegativeAdvantageAction() {
        var s = ClippedSurrogate(epsilonLow: 0.2, epsilonHigh: 0.2)
        let plain = run(s)
        s.dualClip = 3
        let dual = run(s)
        assertClose(plain.loss[4], 2 * Foundation.exp(1.5), tolerance: 1e-4)
        assertClose(dual.loss[4], 6)
        #expect(dual.grad[4] == 0 && plain.grad[4] != 0)
        #expect(s.dualClipCount(ratios: dual.ratio, advantages: advantages.map(Float.init)) == 1)
        #expect(zip(plain.loss, dual.loss).enumerated().allSatisfy { $0.offset == 4 || $0.element.0 == $0.element.1 })
    }

    @Test(arguments: [false, true])
    func cispoWeightsTheLogProbWithAClippedStopGradientRatio(sequence: Bool) {
        var s = ClippedSurrogate(epsilonLow: 0.2, epsilonHigh: 0.28)
        s.kind = .cispo
        let out = run(s, sequence: sequence)
        // ℓ_k = −min(ρ_k, 1.28)·A_k·log π_k; the weight carries no gradient: dℓ_k/d log π_k = −w_k·A_k.
        var logRatio = zip(logProbs, old).map { $0 - $1 }
        if sequence {
            let first = (logRatio[0] + logRatio[1]) / 2, second = logRatio[2...].reduce(0, +) / 4
            logRatio = [first, first, second, second, second, second]
        }
        let w = logRatio.map { min(Foundation.exp($0), 1.28) }
        assertClose(out.loss, (0..<6).map { -w[$0] * advantages[$0] * logProbs[$0] })
        assertClose(out.grad, (0..<6).map { -w[$0] * advantages[$0] })
    }

    @Test(arguments: [false, true])
    func sapoSoftGate(sequence: Bool) {
        var s = ClippedSurrogate()
        s.kind = .sapo
        s.sapoTemperaturePositive = 1
        s.sapoTemperatureNegative = 1.05
        let out = run(s, sequence: sequence)
        let ref = reference(sequence: sequence) { r, a in
            let tau = a > 0 ? 1.0 : 1.05
            let sig = 1 / (1 + Foundation.exp(-tau * (r - 1)))
            return (-(4 / tau) * sig * a, -4 * sig * (1 - sig) * a)
        }
        assertClose(out.loss, ref.loss)
        assertClose(out.grad, ref.grad)
    }

    /// At ρ = 1 every policy loss has the policy gradient −A·∇log π (SAPO's gate has slope 1 there,
    /// CISPO's weight is 1), at token and at sequence level.
    @Test func allKindsAgreeOnPolicy() {
        for kind in PolicyLossKind.allCases {
            for lengths in [nil, [2, 1]] as [[Int]?] {
                var s = ClippedSurrogate()
                s.kind = kind
                let lp = Tensor([-0.3, -1.2, -2.5]).requiringGrad()
                let (loss, _) = s.loss(
                    logProbs: lp, oldLogProbs: Tensor([-0.3, -1.2, -2.5]), advantages: Tensor([0.5, 0.5, -2]),
                    segmentLengths: lengths)
                let g = Autodiff.gradients(of: loss.sum(), withRespectTo: [lp])[0]!
                assertClose(g.scalars, [-0.5, -0.5, 2])
            }
        }
    }

    @Test func bnpoAndDapoNormalisers() {
        // Two micro-batches of one trajectory each (2 and 4 actions), 6 actions in the step.
        let first = LossAggregation.bnpo.weights(
            actionCounts: [2], trajectories: 2, actions: 6, maxLength: 5,
            microBatchActions: 2, microBatches: 2)
        let second = LossAggregation.bnpo.weights(
            actionCounts: [4], trajectories: 2, actions: 6, maxLength: 5,
            microBatchActions: 4, microBatches: 2)
        assertClose(first + second, [0.25, 0.25, 0.125, 0.125, 0.125, 0.125])
        // One micro-batch: bnpo is the token mean.
        assertClose(
            LossAggregation.bnpo.weights(
                actionCounts: [2, 4], trajectories: 2, actions: 6, maxLength: 5,
                microBatchActions: 6, microBatches: 1),
            Array(repeating: 1.0 / 6, count: 6))
        // dapo: the global count (here two ranks of 6 actions); the local count without one.
        assertClose(
            LossAggregation.dapo.weights(
                actionCounts: [2, 4], trajectories: 2, actions: 6, maxLength: 5,
                globalActions: 12),
            Array(repeating: 1.0 / 12, count: 6))
        assertClose(
            LossAggregation.dapo.weights(actionCounts: [2, 4], trajectories: 2, actions: 6, maxLength: 5),
            Array(repeating: 1.0 / 6, count: 6))
    }

    @Test func topEntropyMaskKeepsTheForkingTokens() {
        // torch.quantile([0.1, 0.3, 0.5, 0.9], 0.5) = 0.4 (linear interpolation).
        assertClose(TokenSelection.quantile([0.9, 0.1, 0.5, 0.3], 0.5), 0.4)
        assertClose(TokenSelection.quantile([0.9, 0.1, 0.5, 0.3], 0.8), 0.66)
        let mask = TokenSelection.highEntropyMask(entropies: [[0.1, 0.5], nil, [0.3, 0.9]], actionCounts: [2, 3, 2], quantile: 0.5)
        #expect(mask == [0, 1, 1, 1, 1, 0, 1])
        #expect(TokenSelection.highEntropyMask(entropies: [[0.1, 0.5]], actionCounts: [2], quantile: 1) == nil)
        // Ties at the threshold are kept (≥), as in TRL.
        #expect(TokenSelection.highEntropyMask(entropies: [[1, 1, 1]], actionCounts: [3], quantile: 0.2) == [1, 1, 1])
    }
}
