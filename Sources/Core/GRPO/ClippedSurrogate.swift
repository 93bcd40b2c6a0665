import UniRLTensor

/// The PPO/GRPO clipped surrogate with asymmetric bounds (DAPO's ε_low / ε_high), per action:
///
///     ρ_k = exp(log π_θ(a_k) − log π_old(a_k))
///     ℓ_k = −min(ρ_k·A, clip(ρ_k, 1 − ε_low, 1 + ε_high)·A)
///
/// as in huggingface/trl `trl/trainer/grpo_trainer.py` (`_compute_loss`). At the first inner
/// step π_θ = π_old, so ρ = 1 and ℓ_k = −A: the loss *value* averages to −mean(A) (0 when the
/// advantages are centred) while its gradient, −A·∇log π_θ, is the policy gradient.
public struct ClippedSurrogate: Sendable, Equatable {
    public var epsilonLow: Float
    public var epsilonHigh: Float

    public init(epsilonLow: Float = 0.2, epsilonHigh: Float = 0.2) {
        self.epsilonLow = epsilonLow
        self.epsilonHigh = epsilonHigh
    }

    /// ℓ_k and ρ_k for every action. `advantages` holds one value per action (the trajectory's A
    /// repeated over its actions). The loss is on the tape through `logProbs`.
    public func loss(logProbs: Tensor, oldLogProbs: Tensor, advantages: Tensor) -> (loss: Tensor, ratio: Tensor) {
        let ratio = (logProbs - oldLogProbs).exp()
        let unclipped = ratio * advantages
        let clipped = ratio.clamped(min: 1 - epsilonLow, max: 1 + epsilonHigh) * advantages
        return (-unclipped.minimum(clipped), ratio)
    }

    /// Counts of clipped actions, TRL's definitions: low = (ρ < 1 − ε_low and A < 0),
    /// high = (ρ > 1 + ε_high and A > 0), region = low or high.
    public func clipCounts(ratios: [Float], advantages: [Float]) -> (low: Int, high: Int, region: Int) {
        precondition(ratios.count == advantages.count, "one advantage per ratio")
        var low = 0, high = 0
        for (r, a) in zip(ratios, advantages) {
            if r < 1 - epsilonLow && a < 0 { low += 1 }
            if r > 1 + epsilonHigh && a > 0 { high += 1 }
        }
        return (low, high, low + high)
    }
}

/// How losses over the actions of a batch are averaged (named as in TRL's `loss_type`).
///
/// With ℓ_{i,k} the per-action loss of trajectory i (n_i actions, B trajectories in the
/// optimizer step):
public enum LossAggregation: String, Codable, Sendable, CaseIterable {
    /// (1/B) Σ_i (1/n_i) Σ_k ℓ_{i,k}: a mean per trajectory, then over trajectories. The
    /// paper's joint surrogate and the default here.
    case grpo
    /// Σ_{i,k} ℓ_{i,k} / Σ_i n_i: one mean over every action of the batch (DAPO; TRL's `dapo`
    /// and `bnpo` on one process).
    case tokenMean = "token_mean"
    /// Σ_{i,k} ℓ_{i,k} / (B·L) with L a fixed maximum length (Dr. GRPO).
    case drGRPO = "dr_grpo"

    /// The weight of each action of trajectories with the given action counts, within a batch of
    /// `trajectories` trajectories and `actions` actions in total, with maximum length `maxLength`.
    public func weights(actionCounts: [Int], trajectories: Int, actions: Int, maxLength: Int) -> [Float] {
        var w: [Float] = []
        for n in actionCounts {
            let v: Float
            switch self {
            case .grpo: v = 1 / (Float(Swift.max(n, 1)) * Float(Swift.max(trajectories, 1)))
            case .tokenMean: v = 1 / Float(Swift.max(actions, 1))
            case .drGRPO: v = 1 / (Float(Swift.max(trajectories, 1)) * Float(Swift.max(maxLength, 1)))
            }
            w += [Float](repeating: v, count: n)
        }
        return w
    }
}
