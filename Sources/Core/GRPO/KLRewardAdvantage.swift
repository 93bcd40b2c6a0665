import Foundation

/// REINFORCE++ with the KL to the reference inside the reward (`trainer.kl_in_reward`): per-action
/// advantages.
///
/// Every action k of a trajectory (its segments in acting order, tokens or denoising steps) earns
/// r_k = −β·KL_k, and the outcome R is earned after the last action. With γ = 1:
///
///     KL_k = log π_old(a_k) − log π_ref(a_k)                 (k1, verl's `kl_penalty="kl"`)
///     reinforce_pp:           G_k = R − β·Σ_{j ≥ k} KL_j      (the return to go)
///     reinforce_pp_baseline:  G_k = S − mean_group(S),  S = R − β·Σ_j KL_j   (one value per trajectory)
///     A_k = (G_k − mean) / √(var + 1e-8)
///
/// The mean and the variance (with Bessel's correction) run over the actions of one expert's
/// segments in the batch (verl's `masked_whiten` over the response tokens; token and SDE actions
/// are whitened apart because they are different units). Then the advantage clip bounds |A_k|.
/// Under data parallelism the batch is the global one: `sumAcrossProcesses` adds the per-expert
/// counts and sums of every process (two passes: the mean, then the squared deviations), so N
/// processes whiten exactly as one process holding all their trajectories.
///
/// For an SDE step, KL_k is the log-ratio of the step's recorded sample under the old and the
/// reference transition kernels (the log-probs are per-dimension means, so its expectation is the
/// exact Gaussian KL of ``KLPenalty/gaussian(means:referenceMeans:noiseScales:stepSizes:variant:)``);
/// by the chain rule Σ_k KL_k estimates the KL of the whole denoising path, so the return to go is
/// the KL still ahead of that step.
///
/// volcengine/verl `verl/trainer/ppo/core_algos.py` (`compute_reinforce_plus_plus_outcome_advantage`,
/// `compute_reinforce_plus_plus_baseline_outcome_advantage`, `kl_penalty`) and
/// `verl/trainer/ppo/ray_trainer.py` (`apply_kl_penalty`); OpenRLHF's REINFORCE++ (`compute_reward`,
/// `get_cumulative_returns`).
public enum KLRewardAdvantage {
    /// ε inside the square root of the whitening (verl's `masked_whiten`).
    public static let epsilon = 1e-8

    /// One segment of a trajectory: whose actions, their KL_k, and whether they enter the loss
    /// (only those enter the whitening statistics; the KL of every segment enters the returns).
    public struct Segment: Sendable {
        public var expert: String
        public var kl: [Float]
        public var takesPart: Bool
        public init(expert: String, kl: [Float], takesPart: Bool = true) {
            self.expert = expert
            self.kl = kl
            self.takesPart = takesPart
        }
    }

    /// - Parameters:
    ///   - outcomes: R per trajectory; nil when no reward scored it (its advantages are 0).
    ///   - included: whether each trajectory takes part (``GroupAdvantageResult/included``); the
    ///     others get 0 and stay out of the statistics.
    ///   - groups: the group of each trajectory (for the baseline variant).
    ///   - segments: each trajectory's segments in acting order.
    ///   - coefficient: β.
    ///   - estimator: `reinforcePlusPlus` or `reinforcePlusPlusBaseline`.
    ///   - clip: bound c on |A|; nil, zero or infinite disables it.
    ///   - sumAcrossProcesses: element-wise sum of a vector over the processes of a data-parallel
    ///     job (every process calls it with the same length); by default one process (nothing to add).
    /// - Returns: A_k per trajectory, per segment, per action.
    public static func compute(
        outcomes: [Float?], included: [Bool], groups: [Int], segments: [[Segment]], coefficient: Float,
        estimator: AdvantageEstimator, clip: Float?, experts: [String]? = nil,
        sumAcrossProcesses: (inout [Double]) throws -> Void = { _ in }
    ) rethrows -> [[[Float]]] {
        let n = outcomes.count
        precondition(included.count == n && groups.count == n && segments.count == n, "one entry per trajectory")
        let beta = Double(coefficient)
        let scored = (0..<n).map { included[$0] && outcomes[$0] != nil }

        // G_k per trajectory, per segment, per action.
        var returns: [[[Double]]] = segments.map { $0.map { [Double](repeating: 0, count: $0.kl.count) } }
        var totals = [Double](repeating: 0, count: n)
        for i in 0..<n where scored[i] {
            var running = Double(outcomes[i]!)
            for j in segments[i].indices.reversed() {
                for k in segments[i][j].kl.indices.reversed() {
                    running -= beta * Double(segments[i][j].kl[k])
                    returns[i][j][k] = running
                }
            }
            totals[i] = running
        }
        if estimator == .reinforcePlusPlusBaseline {
            var sums: [Int: (Double, Int)] = [:]
            for i in 0..<n where scored[i] {
                let s = sums[groups[i], default: (0, 0)]
                sums[groups[i]] = (s.0 + totals[i], s.1 + 1)
            }
            for i in 0..<n where scored[i] {
                let (sum, count) = sums[groups[i]]!
                let centred = totals[i] - sum / Double(count)
                returns[i] = returns[i].map { $0.map { _ in centred } }
            }
        }

        // Whitening statistics per expert, over the actions that enter the loss (of every process).
        var pools: [String: [Double]] = [:]
        for i in 0..<n where scored[i] {
            for (j, s) in segments[i].enumerated() where s.takesPart { pools[s.expert, default: []] += returns[i][j] }
        }
        // Every process reduces the same experts (`experts`, in name order); others stay local.
        let reduced = experts.map { Set($0).sorted() } ?? pools.keys.sorted()
        var statistics = try whiteningStatistics(pools, experts: reduced, sum: sumAcrossProcesses)
        let others = pools.keys.filter { !reduced.contains($0) }.sorted()
        statistics.merge(whiteningStatistics(pools, experts: others, sum: { _ in })) { $1 }

        let bound = clip.flatMap { $0 > 0 && $0.isFinite ? Double($0) : nil }
        return (0..<n).map { i in
            segments[i].enumerated().map { j, s in
                guard scored[i], let st = statistics[s.expert] else { return [Float](repeating: 0, count: s.kl.count) }
                return returns[i][j].map { g in
                    let a = (g - st.mean) * st.scale
                    return Float(bound.map { Swift.max(-$0, Swift.min($0, a)) } ?? a)
                }
            }
        }
    }

    /// Mean and 1/√(var + ε) (Bessel) per expert over its pooled returns, summed over the processes
    /// by `sum`: the counts and sums first, then the squared deviations from the global mean.
    static func whiteningStatistics(
        _ pools: [String: [Double]], experts names: [String], sum: (inout [Double]) throws -> Void
    ) rethrows -> [String: (mean: Double, scale: Double)] {
        var firstPass: [Double] = []
        for name in names {
            let pool = pools[name] ?? []
            firstPass += [Double(pool.count), pool.reduce(0, +)]
        }
        try sum(&firstPass)
        let means: [Double] = names.indices.map { e in firstPass[2 * e + 1] / Swift.max(firstPass[2 * e], 1) }
        var squares: [Double] = names.indices.map { e in
            (pools[names[e]] ?? []).reduce(0.0) { total, g in total + (g - means[e]) * (g - means[e]) }
        }
        try sum(&squares)
        var statistics: [String: (mean: Double, scale: Double)] = [:]
        for (e, expert) in names.enumerated() where firstPass[2 * e] > 0 {
            let count = firstPass[2 * e]
            let variance = count > 1 ? squares[e] / (count - 1) : 0
            statistics[expert] = (means[e], 1 / (variance + epsilon).squareRoot())
        }
        return statistics
    }
}
