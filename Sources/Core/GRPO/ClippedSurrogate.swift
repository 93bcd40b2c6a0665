import UniRLTensor

/// Which per-action policy loss an expert trains with.
public enum PolicyLossKind: String, Codable, Sendable, CaseIterable {
    /// The PPO/GRPO clipped surrogate −min(ρ·A, clip(ρ, 1 − ε_low, 1 + ε_high)·A), with the optional
    /// dual clip and two-sided δ. The default.
    case ppoClip = "ppo_clip"
    /// CISPO (MiniMax-M1): −sg(min(ρ, 1 + ε_high))·A·log π_θ — the importance weight is clipped and
    /// kept off the tape, so every action keeps a gradient (TRL's `loss_type="cispo"` with its
    /// `epsilon_high` = 1 + `clip_high` here).
    case cispo
    /// SAPO: −(4/τ)·σ(τ·(ρ − 1))·A, a soft temperature-controlled gate instead of the hard clip,
    /// τ = τ_pos for A > 0 and τ_neg otherwise (TRL's `loss_type="sapo"`). Its slope at ρ = 1 is 1.
    case sapo
}

/// Where the importance ratio is taken (TRL's `importance_sampling_level`).
public enum ImportanceSamplingLevel: String, Codable, Sendable, CaseIterable {
    /// ρ_k = π_θ(a_k) / π_old(a_k) per action. The default.
    case token
    /// GSPO: one ratio per segment, the geometric mean of its per-action ratios,
    /// ρ_i = exp(mean_k (log π_θ(a_k) − log π_old(a_k))), shared by every action of the segment.
    /// For an SDE segment this is one ratio per trajectory over its denoising steps.
    case sequence
}

/// The PPO/GRPO clipped surrogate with asymmetric bounds (DAPO's ε_low / ε_high), per action:
///
///     ρ_k = exp(log π_θ(a_k) − log π_old(a_k))
///     ℓ_k = −min(min(ρ_k, δ)·A, clip(ρ_k, 1 − ε_low, 1 + ε_high)·A)        (δ only when set)
///     ℓ_k = min(ℓ_k, −c·A)  for A < 0                                       (dual clip, when c is set)
///
/// as in huggingface/trl `trl/trainer/grpo_trainer.py` (`_compute_loss`: `delta`, `cispo`, `sapo`,
/// `importance_sampling_level`) and volcengine/verl `verl/trainer/ppo/core_algos.py`
/// (`compute_policy_loss`, `clip_ratio_c`). At the first inner step π_θ = π_old, so ρ = 1 and
/// ℓ_k = −A: the loss *value* averages to −mean(A) (0 when the advantages are centred) while its
/// gradient, −A·∇log π_θ, is the policy gradient. ``PolicyLossKind`` selects CISPO or SAPO instead.
public struct ClippedSurrogate: Sendable, Equatable {
    public var epsilonLow: Float
    public var epsilonHigh: Float
    /// The per-action loss. Default ``PolicyLossKind/ppoClip``.
    public var kind: PolicyLossKind = .ppoClip
    /// c of the dual clip for negative advantages (verl's `clip_ratio_c`, there 3); 0 disables.
    public var dualClip: Float = 0
    /// δ, the upper bound on ρ in the unclipped term (TRL's two-sided GRPO `delta`); 0 disables.
    public var delta: Float = 0
    /// SAPO's temperatures for positive and non-positive advantages (TRL: 1.0 and 1.05).
    public var sapoTemperaturePositive: Float = 1
    public var sapoTemperatureNegative: Float = 1.05

    public init(epsilonLow: Float = 0.2, epsilonHigh: Float = 0.2) {
        self.epsilonLow = epsilonLow
        self.epsilonHigh = epsilonHigh
    }

    /// The surrogate an expert's settings describe.
    public init(settings s: ExpertSettings) {
        self.init(epsilonLow: s.clipLow, epsilonHigh: s.clipHigh)
        kind = s.policyLoss
        dualClip = s.clipRatioC
        delta = s.delta
        sapoTemperaturePositive = s.sapoTemperaturePositive
        sapoTemperatureNegative = s.sapoTemperatureNegative
    }

    /// ℓ_k and ρ_k for every action. `advantages` holds one value per action (the trajectory's A
    /// repeated over its actions). With `segmentLengths` (GSPO, lengths summing to the action
    /// count) the ratio is one per segment. The loss is on the tape through `logProbs`.
    public func loss(
        logProbs: Tensor, oldLogProbs: Tensor, advantages: Tensor,
        segmentLengths: [Int]? = nil
    ) -> (loss: Tensor, ratio: Tensor) {
        var logRatio = logProbs - oldLogProbs
        if let lengths = segmentLengths { logRatio = Self.segmentMean(logRatio, lengths: lengths) }
        let ratio = logRatio.exp()
        let a = advantages.scalars
        switch kind {
        case .ppoClip:
            let capped = delta > 0 ? ratio.clamped(max: delta) : ratio
            let clipped = ratio.clamped(min: 1 - epsilonLow, max: 1 + epsilonHigh) * advantages
            var loss = -(capped * advantages).minimum(clipped)
            if dualClip > 0 {
                let negative = Tensor(shape: advantages.shape, scalars: a.map { $0 < 0 ? 1 : 0 })
                loss = loss.minimum(advantages * (-dualClip)).selecting(where: negative, else: loss)
            }
            return (loss, ratio)
        case .cispo:
            let weight = ratio.clamped(max: 1 + epsilonHigh).detached()
            return (-(weight * advantages * logProbs), ratio)
        case .sapo:
            let tau = Tensor(shape: advantages.shape, scalars: a.map { $0 > 0 ? sapoTemperaturePositive : sapoTemperatureNegative })
            let gate = (tau * (ratio - 1)).sigmoid() * 4 / tau
            return (-(gate * advantages), ratio)
        }
    }

    /// Each segment's mean repeated over its actions, on the tape.
    static func segmentMean(_ x: Tensor, lengths: [Int]) -> Tensor {
        precondition(lengths.reduce(0, +) == x.elementCount, "segment lengths must cover every action")
        let parts = x.reshaped([x.elementCount]).split(axis: 0, sizes: lengths)
        return Tensor.concatenate(parts.map { $0.mean(keepDims: true).broadcast(to: $0.shape) }, axis: 0)
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

    /// Actions whose loss the dual clip bounds (A < 0 and ρ > c; verl's `pg_clipfrac_lower`).
    public func dualClipCount(ratios: [Float], advantages: [Float]) -> Int {
        guard dualClip > 0 else { return 0 }
        return zip(ratios, advantages).filter { $0.0 > dualClip && $0.1 < 0 }.count
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
    /// Σ_{i,k} ℓ_{i,k} / Σ_i n_i over the whole optimizer step on this process (one mean over
    /// every action of the minibatch, whatever the micro-batching).
    case tokenMean = "token_mean"
    /// Σ_{i,k} ℓ_{i,k} / (B·L) with L a fixed maximum length (Dr. GRPO).
    case drGRPO = "dr_grpo"
    /// BNPO (TRL's `bnpo`): each micro-batch's sum over the actions of *that* micro-batch, divided by
    /// the number of micro-batches — the local normaliser, so the gradient depends on the
    /// micro-batching (as in TRL with gradient accumulation).
    case bnpo
    /// DAPO (TRL's `dapo`): Σ ℓ / N_global, N_global the actions of the whole optimizer step over
    /// every data-parallel rank (``GRPOTrainer/globalActionCount``; the local count on one process,
    /// where it equals `token_mean`).
    case dapo

    /// The weight of each action of trajectories with the given action counts, within a batch of
    /// `trajectories` trajectories and `actions` actions in total, with maximum length `maxLength`.
    /// `bnpo` uses `microBatchActions` (this micro-batch's actions; default `actions`) and
    /// `microBatches`; `dapo` uses `globalActions` (default `actions`).
    public func weights(
        actionCounts: [Int], trajectories: Int, actions: Int, maxLength: Int,
        microBatchActions: Int? = nil, microBatches: Int = 1, globalActions: Int? = nil
    ) -> [Float] {
        var w: [Float] = []
        for n in actionCounts {
            let v: Float
            switch self {
            case .grpo: v = 1 / (Float(Swift.max(n, 1)) * Float(Swift.max(trajectories, 1)))
            case .tokenMean: v = 1 / Float(Swift.max(actions, 1))
            case .drGRPO: v = 1 / (Float(Swift.max(trajectories, 1)) * Float(Swift.max(maxLength, 1)))
            case .bnpo: v = 1 / (Float(Swift.max(microBatchActions ?? actions, 1)) * Float(Swift.max(microBatches, 1)))
            case .dapo: v = 1 / Float(Swift.max(globalActions ?? actions, 1))
            }
            w += [Float](repeating: v, count: n)
        }
        return w
    }
}
