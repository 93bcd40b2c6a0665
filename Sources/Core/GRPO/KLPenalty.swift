import UniRLTensor

/// How the KL between two Gaussian SDE steps is taken.
public enum SDEKLVariant: String, Codable, Sendable, CaseIterable {
    /// KL(N(μ_θ, s²) ‖ N(μ_ref, s²)) with s² = σ_t²·(−dt), the variance of the step:
    /// mean over dimensions of ‖μ_θ − μ_ref‖² / (2·σ_t²·(−dt)). The default.
    case exact
    /// flow_grpo's training-script form, mean of ‖μ_θ − μ_ref‖² / (2·σ_t²) without the (−dt)
    /// factor (yifan123/flow_grpo `scripts/train_sd3.py`); use it to reuse flow_grpo's β values.
    case flowGRPO = "flow_grpo"
}

/// KL penalties against a frozen reference policy, per action.
public enum KLPenalty {
    /// The k3 estimator of KL(π_θ ‖ π_ref) per token (Schulman; TRL):
    ///
    ///     q = log π_ref − log π_θ,    KL ≈ exp(q) − q − 1  (≥ 0, unbiased)
    public static func k3(logProbs: Tensor, referenceLogProbs: Tensor) -> Tensor {
        let q = referenceLogProbs - logProbs
        return q.exp() - q - 1
    }

    /// The closed-form KL between the step distributions N(μ_θ, σ²(−dt)) and N(μ_ref, σ²(−dt)),
    /// per step, averaged over dimensions (like the step log-probs):
    ///
    ///     exact:     mean_d (μ_θ − μ_ref)² / (2·σ_t²·(−dt))
    ///     flow_grpo: mean_d (μ_θ − μ_ref)² / (2·σ_t²)
    ///
    /// - Parameters:
    ///   - means: μ_θ, `[steps, dimensions]`, on the tape.
    ///   - referenceMeans: μ_ref, same shape.
    ///   - noiseScales: σ_t per step; `stepSizes`: −dt per step.
    public static func gaussian(means: Tensor, referenceMeans: Tensor, noiseScales: [Float],
                                stepSizes: [Float], variant: SDEKLVariant = .exact) -> Tensor {
        precondition(means.shape == referenceMeans.shape, "means \(means.shape) vs reference \(referenceMeans.shape)")
        let divisors = zip(noiseScales, stepSizes).map { s, dt in
            variant == .exact ? 2 * s * s * dt : 2 * s * s
        }
        return (means - referenceMeans).square().mean(axis: 1) / Tensor(divisors)
    }
}
