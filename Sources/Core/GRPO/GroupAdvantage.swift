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
    public static func compute(rewards: [SampleReward], groups: [Int], scaling: AdvantageScaling,
                               clip: Float?, dropZeroStdGroups: Bool = false,
                               tracker: inout PerPromptStatTracker, promptKeys: [String] = []) -> GroupAdvantageResult {
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
            guard scaling == .batchStd else { return 0 }
            let all = contributing.flatMap { $0.members }.compactMap { rewards[$0].value }
            return sampleMeanStd(all).1
        }()
        var trackerStats: [Int: (mean: Float, std: Float)] = [:]
        if scaling == .perPromptTracker {
            precondition(promptKeys.count == n, "the per-prompt tracker needs one prompt key per sample")
            let scored = contributing.flatMap { $0.members }.filter { rewards[$0].value != nil }
            let stats = tracker.update(keys: scored.map { promptKeys[$0] }, rewards: scored.map { rewards[$0].value! })
            for (i, s) in zip(scored, stats) { trackerStats[i] = s }
        }
        var clipped = 0
        let bound = clip.flatMap { $0 > 0 && $0.isFinite ? $0 : nil }
        for group in contributing {
            for i in group.members {
                included[i] = rewards[i] != .failed
                groupStd[i] = group.std
                guard let r = rewards[i].value else { continue }
                var a: Float
                switch scaling {
                case .groupStd: a = (r - group.mean) / (group.std + epsilon)
                case .noStd: a = r - group.mean
                case .batchStd: a = (r - group.mean) / (batchStd + epsilon)
                case .perPromptTracker:
                    let s = trackerStats[i]!
                    a = (r - s.mean) / (s.std + epsilon)
                }
                if let c = bound, Swift.abs(a) > c {
                    a = Swift.max(-c, Swift.min(c, a))
                    clipped += 1
                }
                advantages[i] = a
            }
        }
        return GroupAdvantageResult(advantages: advantages, included: included, groupStd: groupStd,
                                    groupCount: order.count, zeroStdGroupCount: zeroStd,
                                    droppedGroupCount: dropped, clippedCount: clipped)
    }
}
