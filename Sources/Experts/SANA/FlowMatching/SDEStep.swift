import Foundation
import UniRLTensor

/// Which stochastic sampler turns the flow ODE into a policy with Gaussian steps.
public enum SDEStepKind: String, Codable, Sendable, CaseIterable {
    /// Flow-GRPO's SDE (`sde_type="sde"`): the reverse-time SDE with the flow's marginals, noise
    /// σ_t = a·√(t / (1 − t)).
    case sde
    /// Flow-GRPO's coefficient-preserving sampler (`sde_type="cps"`): a DDIM-like step that keeps
    /// the noise coefficient of x_{t'} equal to t', noise σ = t'·sin(aπ/2); its log-prob is
    /// −(x' − μ)² without constants, as flow_grpo computes it.
    case cps
}

/// One step of Flow-GRPO's stochastic sampler between schedule levels t = t_k > t' = t_{k+1}
/// (dt = t' − t < 0), with its Gaussian log-probability — flow_grpo's `sde_step_with_logprob`
/// (yifan123/flow_grpo, flow_grpo/diffusers_patch/sd3_sde_with_logprob.py):
///
/// `sde`:
///
///     σ_t = a·√(t / (1 − t))                 at t = 1 the denominator uses t_1 (`sigma_max`)
///     μ   = x·(1 + σ_t²/(2t)·dt) + v·(1 + σ_t²·(1 − t)/(2t))·dt
///     x'  = μ + σ_t·√(−dt)·z
///     log p = mean_d [ −(x' − μ)² / (2σ_t²(−dt)) − log(σ_t√(−dt)) − log √(2π) ]
///
/// `cps`:
///
///     σ = t'·sin(aπ/2),   x̂_0 = x − t·v,   x̂_1 = x + (1 − t)·v
///     μ = x̂_0·(1 − t') + x̂_1·√(t'² − σ²),   x' = μ + σ·z,   log p = mean_d −(x' − μ)²
///
/// The mean runs over every non-batch dimension ("averaged, not summed", docs/ARCHITECTURE.md). Each row of
/// a batch may sit at its own step k, so one call serves a rollout (all rows at one step) and a
/// replay (rows at different steps). Everything is taped through v.
///
/// ```swift
/// let step = SDEStep(schedule: FlowMatchingSchedule(steps: 10), kind: .sde, noiseLevel: 0.7)
/// let mean = step.mean(x, velocity: v, steps: ks)
/// let next = step.sample(mean: mean, steps: ks, using: &rng)
/// let logProb = step.logProbability(of: next, mean: mean, steps: ks)   // [rows]
/// ```
public struct SDEStep: Sendable, Equatable {
    public let schedule: FlowMatchingSchedule
    public let kind: SDEStepKind
    /// a, the noise level (flow_grpo's `noise_level`, default 0.7).
    public let noiseLevel: Float

    public init(schedule: FlowMatchingSchedule, kind: SDEStepKind = .sde, noiseLevel: Float = 0.7) {
        precondition(noiseLevel >= 0 && noiseLevel.isFinite, "the noise level must be ≥ 0, is \(noiseLevel)")
        self.schedule = schedule
        self.kind = kind
        self.noiseLevel = noiseLevel
    }

    /// σ of step k: `sde` σ_t = a·√(t/(1 − t)) (the `std_dev_t` of flow_grpo, before the √(−dt)
    /// factor); `cps` σ = t'·sin(aπ/2).
    public func noiseScale(_ k: Int) -> Float {
        let t = schedule.timesteps[k]
        switch kind {
        case .sde:
            let denominator = 1 - (t == 1 ? schedule.firstLevelBelowOne : t)
            return (t / denominator).squareRoot() * noiseLevel
        case .cps:
            return schedule.timesteps[k + 1] * Foundation.sin(noiseLevel * Float.pi / 2)
        }
    }

    /// The standard deviation of x_{k+1} given x_k: σ_t·√(−dt) (`sde`) or σ (`cps`).
    public func standardDeviation(_ k: Int) -> Float {
        switch kind {
        case .sde: noiseScale(k) * (-schedule.stepSize(k)).squareRoot()
        case .cps: noiseScale(k)
        }
    }

    /// Whether step k draws noise. A step that does not (`cps` onto t' = 0, or a = 0) is
    /// deterministic and is not an action of the policy.
    public func isStochastic(_ k: Int) -> Bool { standardDeviation(k) > 0 }

    /// (σ, s) with step variance σ²·s, as ``SDEReplay`` reports them for the closed-form KL:
    /// `sde` (σ_t, −dt); `cps` (σ, 1).
    public func varianceFactors(_ k: Int) -> (noiseScale: Float, stepSize: Float) {
        switch kind {
        case .sde: (noiseScale(k), -schedule.stepSize(k))
        case .cps: (noiseScale(k), 1)
        }
    }

    /// (α, β) with μ = α·x + β·v at step k.
    public func meanCoefficients(_ k: Int) -> (x: Float, v: Float) {
        let t = schedule.timesteps[k], next = schedule.timesteps[k + 1], dt = schedule.stepSize(k)
        switch kind {
        case .sde:
            let s = noiseScale(k), c = s * s / (2 * t)
            return (1 + c * dt, (1 + c * (1 - t)) * dt)
        case .cps:
            let s = noiseScale(k), keep = (next * next - s * s).squareRoot()
            return ((1 - next) + keep, -t * (1 - next) + (1 - t) * keep)
        }
    }

    /// μ = α_k·x + β_k·v for rows x, v [R, …], row r at step `steps[r]`.
    public func mean(_ x: Tensor, velocity v: Tensor, steps: [Int]) -> Tensor {
        precondition(x.shape == v.shape && steps.count == x.shape[0], "mean: x \(x.shape), v \(v.shape), \(steps.count) steps")
        let coefficients = steps.map(meanCoefficients)
        return x * FlowMatchingLoss.perSample(coefficients.map(\.x), rank: x.rank)
            + v * FlowMatchingLoss.perSample(coefficients.map(\.v), rank: v.rank)
    }

    /// x' = μ + std_k·z, z ~ N(0, I) drawn from `rng` in row-major order.
    public func sample(mean: Tensor, steps: [Int], using rng: inout RandomState) -> Tensor {
        let z = Tensor.randomNormal(mean.shape, using: &rng)
        return mean + z * FlowMatchingLoss.perSample(steps.map(standardDeviation), rank: mean.rank)
    }

    /// log p(x' | x) per row, [R], averaged over the non-batch dimensions (taped through `mean`).
    public func logProbability(of next: Tensor, mean: Tensor, steps: [Int]) -> Tensor {
        precondition(next.shape == mean.shape && steps.count == next.shape[0], "log-prob: next \(next.shape), mean \(mean.shape)")
        let rows = next.shape[0]
        let squared = (next.detached() - mean).square().reshaped([rows, next.elementCount / Swift.max(rows, 1)]).mean(axis: 1)
        switch kind {
        case .cps:
            return -squared
        case .sde:
            let std = steps.map(standardDeviation)
            let scale = Tensor(std.map { -1 / (2 * $0 * $0) })
            let constant = Tensor(std.map { -Foundation.log($0) - Foundation.log((2 * Float.pi).squareRoot()) })
            return squared * scale + constant
        }
    }
}
