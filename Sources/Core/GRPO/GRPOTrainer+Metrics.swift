import Foundation
import UniRLTensor

// The per-step metrics and the held-out evaluation.
extension GRPOTrainer {
    // MARK: - Metrics

    /// `name` for a scenario with one expert, `<expert>/name` when several act.
    func metricName(_ name: String, _ expert: String) -> String {
        scenario.experts.count > 1 ? "\(expert)/\(name)" : name
    }

    func recordRewardMetrics(
        _ evaluation: RewardEvaluation, groups sampleGroups: [Int],
        advantages adv: GroupAdvantageResult, into metrics: inout [String: Double]
    ) {
        let scores = evaluation.totals.compactMap(\.value)
        if !scores.isEmpty { metrics["reward"] = scores.reduce(0.0) { $0 + Double($1) } / Double(scores.count) }
        var groups: [Int: [Float]] = [:]
        for (g, r) in zip(sampleGroups, evaluation.totals) { if let v = r.value { groups[g, default: []].append(v) } }
        let stds = groups.keys.sorted().compactMap { k -> Double? in
            groups[k]!.count >= 2 ? Double(sampleMeanStd(groups[k]!).1) : nil
        }
        if !stds.isEmpty { metrics["reward_std"] = stds.reduce(0, +) / Double(stds.count) }
        let scoredGroups = adv.groupCount - adv.droppedGroupCount
        metrics["frac_reward_zero_std"] = scoredGroups > 0 ? Double(adv.zeroStdGroupCount) / Double(scoredGroups) : 0
        for c in evaluation.components {
            let v = c.scores.compactMap { $0 }
            guard !v.isEmpty else { continue }
            let (m, s) = sampleMeanStd(v)
            metrics["rewards/\(c.name)/mean"] = Double(m)
            metrics["rewards/\(c.name)/std"] = Double(s)
        }
        let a = sampleGroups.indices.filter { adv.included[$0] }.map { adv.advantages[$0] }
        if !a.isEmpty {
            let (m, s) = populationMeanStd(a)
            metrics["advantages/mean"] = Double(m)
            metrics["advantages/std"] = Double(s)
            metrics["advantages/min"] = Double(a.min()!)
            metrics["advantages/max"] = Double(a.max()!)
            metrics["advantages/clipped_frac"] = Double(adv.clippedCount) / Double(a.count)
        }
        metrics["samples/failed"] = Double(evaluation.totals.filter { $0 == .failed }.count)
        metrics["samples/unscored"] = Double(evaluation.totals.filter { $0 == .notApplicable }.count)
        metrics["groups/dropped"] = Double(adv.droppedGroupCount)
    }

    /// TRL's `completions/*` per token expert: mean, min and max length, the fraction truncated
    /// (`clipped_ratio`) and the lengths of those that ended on their own (`*_terminated_length`).
    func recordCompletionMetrics(_ trajectories: [Trajectory<S.Output>], into metrics: inout [String: Double]) {
        var lengths: [String: [Int]] = [:], terminated: [String: [Int]] = [:]
        for tr in trajectories {
            for s in tr.segments where s.kind == .discrete {
                lengths[s.expert, default: []].append(s.actionCount)
                if !s.isTruncated { terminated[s.expert, default: []].append(s.actionCount) }
            }
        }
        for (name, l) in lengths {
            let ended = terminated[name] ?? []
            metrics[metricName("completions/mean_length", name)] = Double(l.reduce(0, +)) / Double(l.count)
            metrics[metricName("completions/min_length", name)] = Double(l.min()!)
            metrics[metricName("completions/max_length", name)] = Double(l.max()!)
            metrics[metricName("completions/clipped_ratio", name)] = Double(l.count - ended.count) / Double(l.count)
            metrics[metricName("completions/mean_terminated_length", name)] =
                ended.isEmpty ? 0 : Double(ended.reduce(0, +)) / Double(ended.count)
            metrics[metricName("completions/min_terminated_length", name)] = Double(ended.min() ?? 0)
            metrics[metricName("completions/max_terminated_length", name)] = Double(ended.max() ?? 0)
        }
    }

    // MARK: - Evaluation

    /// The mean reward of `samplesPerPrompt` rollouts for every prompt of `split`, without an
    /// update and without touching the training generators; with the EMA weights when
    /// `trainer.ema_decay` > 0.
    public func evaluate(split: DatasetSplit = .test, samplesPerPrompt: Int = 1, seed: UInt64 = 0) async throws -> Double {
        var prompts = try scenario.prompts(split)
        if prompts.isEmpty { prompts = trainPrompts }
        var rng = RandomState(seed: seed)
        let trajectories = try withEMAWeights {
            try withoutGrad { try scenario.rollout(prompts, group: samplesPerPrompt, using: &rng) }
        }
        let e = await scenario.reward.evaluate(trajectories.map(\.output))
        let v = e.totals.compactMap(\.value)
        return v.isEmpty ? .nan : v.reduce(0.0) { $0 + Double($1) } / Double(v.count)
    }
}
