import Foundation
import Testing
import UniRLExperts
import UniRLTensor

/// One SDE step against an independent float64 computation of flow_grpo's formulas.
@Suite struct FlowMatchingSDETests {
    /// flow_grpo's `sde` step in float64, written out again from the paper's equations.
    static func referenceSDE(x: [Float], v: [Float], next: [Float], t: Double, tNext: Double, tFirstBelowOne: Double,
                             a: Double) -> (mean: [Double], logProb: Double) {
        let sigma = a * (t / (1 - (t == 1 ? tFirstBelowOne : t))).squareRoot()
        let dt = tNext - t
        let std = sigma * (-dt).squareRoot()
        var mean: [Double] = [], logProb = 0.0
        for i in x.indices {
            let xi = Double(x[i]), vi = Double(v[i])
            let mu = xi + (vi + sigma * sigma / (2 * t) * (xi + (1 - t) * vi)) * dt
            mean.append(mu)
            let z = Double(next[i]) - mu
            logProb += -z * z / (2 * std * std) - Foundation.log(std) - 0.5 * Foundation.log(2 * Double.pi)
        }
        return (mean, logProb / Double(x.count))
    }

    @Test func stepLogProbIsTheGaussianDensityAveragedOverDimensions() {
        let schedule = FlowMatchingSchedule(steps: 8, shift: 2)
        let step = SDEStep(schedule: schedule, kind: .sde, noiseLevel: 0.7)
        var rng = RandomState(seed: 21)
        let ks = [0, 3, 7]        // t = 1 (the t_1 rule), a middle step, the last step onto t = 0
        let x = Tensor.randomNormal([3, 2, 3, 3], using: &rng), v = Tensor.randomNormal([3, 2, 3, 3], using: &rng)
        let mean = step.mean(x, velocity: v, steps: ks)
        let next = step.sample(mean: mean, steps: ks, using: &rng)
        let logProb = step.logProbability(of: next, mean: mean, steps: ks).scalars
        #expect(logProb.count == 3)
        let d = 18
        for (r, k) in ks.enumerated() {
            let rows = (r * d)..<((r + 1) * d)
            let ref = Self.referenceSDE(x: Array(x.scalars[rows]), v: Array(v.scalars[rows]), next: Array(next.scalars[rows]),
                                        t: Double(schedule.timesteps[k]), tNext: Double(schedule.timesteps[k + 1]),
                                        tFirstBelowOne: Double(schedule.timesteps[1]), a: 0.7)
            let ours = Array(mean.scalars[rows])
            for i in 0..<d { #expect(abs(Double(ours[i]) - ref.mean[i]) < 1e-5 * max(1, abs(ref.mean[i]))) }
            #expect(abs(Double(logProb[r]) - ref.logProb) < 1e-4 * max(1, abs(ref.logProb)), "step \(k): \(logProb[r]) vs \(ref.logProb)")
        }
        // The t = 1 rule: σ_0 = a·√(1 / (1 − t_1)).
        #expect(abs(step.noiseScale(0) - 0.7 * (1 / (1 - schedule.timesteps[1])).squareRoot()) < 1e-6)
        #expect(step.varianceFactors(3).stepSize == schedule.timesteps[3] - schedule.timesteps[4])
    }

    @Test func sampledNoiseHasTheStepsStandardDeviation() {
        let step = SDEStep(schedule: FlowMatchingSchedule(steps: 4), noiseLevel: 0.7)
        var rng = RandomState(seed: 22)
        let mean = Tensor.zeros([1, 40_000])
        let next = step.sample(mean: mean, steps: [2], using: &rng).scalars
        let std = (next.map { Double($0 * $0) }.reduce(0, +) / Double(next.count)).squareRoot()
        // σ = 0.7·√(0.5 / 0.5) = 0.7, √(−dt) = 0.5.
        #expect(abs(std - 0.35) < 0.005)
    }

    @Test func coefficientPreservingStepMatchesFlowGRPO() {
        let schedule = FlowMatchingSchedule(steps: 5)
        let step = SDEStep(schedule: schedule, kind: .cps, noiseLevel: 0.5)
        var rng = RandomState(seed: 23)
        let x = Tensor.randomNormal([2, 8], using: &rng), v = Tensor.randomNormal([2, 8], using: &rng)
        let ks = [1, 4]
        let mean = step.mean(x, velocity: v, steps: ks)
        let next = step.sample(mean: mean, steps: ks, using: &rng)
        let logProb = step.logProbability(of: next, mean: mean, steps: ks).scalars
        for (r, k) in ks.enumerated() {
            let t = Double(schedule.timesteps[k]), tn = Double(schedule.timesteps[k + 1])
            let std = tn * Foundation.sin(0.5 * Double.pi / 2)
            var squared = 0.0
            for i in 0..<8 {
                let xi = Double(x.scalars[r * 8 + i]), vi = Double(v.scalars[r * 8 + i])
                let mu = (xi - t * vi) * (1 - tn) + (xi + (1 - t) * vi) * (tn * tn - std * std).squareRoot()
                #expect(abs(Double(mean.scalars[r * 8 + i]) - mu) < 1e-5)
                let z = Double(next.scalars[r * 8 + i]) - mu
                squared += z * z
            }
            #expect(abs(Double(logProb[r]) + squared / 8) < 1e-5)
        }
        // The last step lands on t' = 0 without noise: it is not an action.
        #expect(!step.isStochastic(4) && step.isStochastic(3))
        #expect(step.varianceFactors(1).stepSize == 1)
    }
}
