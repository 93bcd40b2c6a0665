/// How rewards are turned into advantages.
public enum AdvantageScaling: String, Codable, Sendable, CaseIterable {
    /// A = (r − mean_group) / (std_group + 1e-4), std with Bessel's correction as `torch.std`
    /// (TRL's `scale_rewards="group"`, huggingface/trl `trl/trainer/grpo_trainer.py`). The default.
    case groupStd = "group_std"
    /// A = r − mean_group (Dr. GRPO; TRL's `scale_rewards="none"`).
    case noStd = "no_std"
    /// A = (r − mean_group) / (std_batch + 1e-4), one std over every scored sample of the batch
    /// (TRL's `scale_rewards="batch"`).
    case batchStd = "batch_std"
    /// A = (r − mean_prompt) / (std_prompt + 1e-4) from a running per-prompt buffer
    /// (``PerPromptStatTracker``, DDPO / flow_grpo).
    case perPromptTracker = "per_prompt_tracker"
}

/// How a batch's rewards become advantages (verl's `adv_estimator`).
public enum AdvantageEstimator: String, Codable, Sendable, CaseIterable {
    /// Group-relative, A = (r − mean_group) scaled as ``AdvantageScaling`` says. The default.
    case grpo
    /// RLOO: A_i = r_i − mean_{j≠i} r_j = G/(G−1)·(r_i − mean_group) over the G scored samples
    /// of the group (volcengine/verl `core_algos.py`, `compute_rloo_outcome_advantage`).
    case rloo
    /// REINFORCE++: A = (r − mean_batch) / (std_batch + 1e-4), whitened over every scored sample of
    /// the batch (verl whitens over tokens; here over samples, one outcome per sample).
    case reinforcePlusPlus = "reinforce_pp"
    /// REINFORCE++ with a group baseline: r − mean_group, then whitened over the batch
    /// (verl's `reinforce_plus_plus_baseline`).
    case reinforcePlusPlusBaseline = "reinforce_pp_baseline"
    /// pass@k-style credit for the group's best: A_i = max_j r_j − max_{j≠i} r_j, the part of the
    /// group maximum that sample i alone provides (positive only for a unique best sample, 0
    /// otherwise), so training raises the chance that *some* sample of the group succeeds (verl's
    /// `grpo_passk`, `compute_grpo_passk_outcome_advantage`, without its optional division by the std).
    case passAtK = "pass_at_k"
}

/// The order of weighting and normalising when several rewards score a sample.
public enum RewardAggregationOrder: String, Codable, Sendable, CaseIterable {
    /// A from Σ_k w_k·r_k. The default (TRL).
    case sumThenNormalize = "sum_then_normalize"
    /// A = Σ_k w_k·A_k with A_k the advantages of reward k alone (each reward's scale removed
    /// before summing, as GDPO does), then the advantage clip.
    case normalizeThenSum = "normalize_then_sum"
}

/// The advantages of one batch of groups and what was decided about each sample.
public struct GroupAdvantageResult: Sendable, Equatable {
    /// A_i per sample (0 for samples that take no part).
    public var advantages: [Float]
    /// Whether each sample takes part in the loss.
    public var included: [Bool]
    /// The std of each sample's group (0 for groups that contribute nothing).
    public var groupStd: [Float]
    /// Number of groups, and how many of them had all-equal rewards.
    public var groupCount: Int
    public var zeroStdGroupCount: Int
    /// Groups left out because fewer than two of their samples had a score.
    public var droppedGroupCount: Int
    /// How many advantages the clipping bound changed.
    public var clippedCount: Int
}

/// Group-relative advantages (GRPO).
///
/// For a group of rewards r_1..r_G of one prompt:
///
///     A_i = (r_i − mean(r)) / (std(r) + 1e-4),   then   A_i ← clip(A_i, −c, c)
///
/// Samples whose reward failed (threw, NaN/±∞) are dropped and take no part in the statistics or
/// the loss. Samples that no reward applied to are left out of the statistics and get A = 0
/// (TRL). A group with fewer than two scored samples contributes nothing. Groups whose rewards
/// are all equal are counted (`frac_reward_zero_std`) and, with `dropZeroStdGroups`, dropped
/// (flow_grpo filters zero-advantage groups).
public enum GroupAdvantage {
    /// The ε added to the standard deviation.
    public static let epsilon: Float = 1e-4

    /// - Parameters:
    ///   - rewards: one outcome per sample.
    ///   - groups: the group index of every sample.
    ///   - scaling: how to normalise.
    ///   - clip: bound c on |A|; `nil`, zero or infinite disables clipping.
    ///   - tracker: the running per-prompt statistics, used (and updated) by `.perPromptTracker`.
    ///   - promptKeys: each sample's prompt key, for the tracker.
    public static func compute(
        rewards: [SampleReward], groups: [Int], scaling: AdvantageScaling,
        clip: Float?, dropZeroStdGroups: Bool = false,
        tracker: inout PerPromptStatTracker, promptKeys: [String] = [],
        estimator: AdvantageEstimator = .grpo
    ) -> GroupAdvantageResult {
        precondition(rewards.count == groups.count, "one group index per reward")
        let n = rewards.count
        var advantages = [Float](repeating: 0, count: n)
        var included = [Bool](repeating: false, count: n)
        var groupStd = [Float](repeating: 0, count: n)
        var order: [Int] = []
        var members: [Int: [Int]] = [:]
        for (i, g) in groups.enumerated() {
            if members[g] == nil { order.append(g) }
            members[g, default: []].append(i)
        }
        var zeroStd = 0, dropped = 0
        var contributing: [(mean: Float, std: Float, members: [Int])] = []
        for g in order {
            let idx = members[g]!
            let scored = idx.filter { rewards[$0].value != nil }
            guard scored.count >= 2 else { dropped += 1; continue }
            let (mean, std) = sampleMeanStd(scored.map { rewards[$0].value! })
            if std < 1e-8 {
                zeroStd += 1
                if dropZeroStdGroups { continue }
            }
            contributing.append((mean, std, idx))
        }
        // The batch std covers every scored sample of the contributing groups.
        let batchStd: Float = {
            guard scaling == .batchStd && estimator == .grpo else { return 0 }
            let all = contributing.flatMap { $0.members }.compactMap { rewards[$0].value }
            return sampleMeanStd(all).1
        }()
        // REINFORCE++ whitening statistics: of r, or of r − mean_group for the baseline variant.
        let whitening: (mean: Float, std: Float) = {
            switch estimator {
            case .reinforcePlusPlus:
                return sampleMeanStd(contributing.flatMap { $0.members }.compactMap { rewards[$0].value })
            case .reinforcePlusPlusBaseline:
                return sampleMeanStd(contributing.flatMap { g in g.members.compactMap { rewards[$0].value.map { $0 - g.mean } } })
            default: return (0, 0)
            }
        }()
        var trackerStats: [Int: (mean: Float, std: Float)] = [:]
        if scaling == .perPromptTracker && estimator == .grpo {
            precondition(promptKeys.count == n, "the per-prompt tracker needs one prompt key per sample")
            let scored = contributing.flatMap { $0.members }.filter { rewards[$0].value != nil }
            let stats = tracker.update(keys: scored.map { promptKeys[$0] }, rewards: scored.map { rewards[$0].value! })
            for (i, s) in zip(scored, stats) { trackerStats[i] = s }
        }
        var clipped = 0
        let bound = clip.flatMap { $0 > 0 && $0.isFinite ? $0 : nil }
        for group in contributing {
            let scoredValues = group.members.compactMap { rewards[$0].value }
            let count = Float(scoredValues.count)
            for i in group.members {
                included[i] = rewards[i] != .failed
                groupStd[i] = group.std
                guard let r = rewards[i].value else { continue }
                var a: Float
                switch (estimator, scaling) {
                case (.grpo, .groupStd): a = (r - group.mean) / (group.std + epsilon)
                case (.grpo, .noStd): a = r - group.mean
                case (.grpo, .batchStd): a = (r - group.mean) / (batchStd + epsilon)
                case (.grpo, .perPromptTracker):
                    let s = trackerStats[i]!
                    a = (r - s.mean) / (s.std + epsilon)
                case (.rloo, _): a = count / (count - 1) * (r - group.mean)
                case (.reinforcePlusPlus, _): a = (r - whitening.mean) / (whitening.std + epsilon)
                case (.reinforcePlusPlusBaseline, _): a = (r - group.mean - whitening.mean) / (whitening.std + epsilon)
                case (.passAtK, _):
                    var others = group.members.filter { $0 != i }.compactMap { rewards[$0].value }
                    if others.isEmpty { others = [r] }
                    a = Swift.max(r, others.max()!) - others.max()!
                }
                if let c = bound, Swift.abs(a) > c {
                    a = Swift.max(-c, Swift.min(c, a))
                    clipped += 1
                }
                advantages[i] = a
            }
        }
        return GroupAdvantageResult(
            advantages: advantages, included: included, groupStd: groupStd,
            groupCount: order.count, zeroStdGroupCount: zeroStd,
            droppedGroupCount: dropped, clippedCount: clipped)
    }
}
