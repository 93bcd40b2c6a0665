import Foundation

// REINFORCE++ with the KL inside the reward (`trainer.kl_in_reward`): per-action advantages.
extension GRPOTrainer {
    /// A_k for every action of every trajectory (``KLRewardAdvantage``), from log π_old and log π_ref
    /// as ``prepareOldAndReference(_:microBatches:active:metrics:)`` left them; nil when
    /// `trainer.kl_in_reward` is off. Segments of experts that are not trained have KL 0 (π = π_ref).
    /// Records `reward_kl_penalty` (the mean KL_k per expert) and `reward_kl_penalty_coeff`, verl's
    /// `actor/reward_kl_penalty*`.
    func klInRewardAdvantages(
        _ trajectories: [Trajectory<S.Output>], advantages adv: GroupAdvantageResult, outcomes: [Float?],
        active: [TrainableExpert], metrics: inout [String: Double]
    ) throws -> [[[Float]]]? {
        let t = configuration.trainer
        guard t.klInReward else { return nil }
        guard outcomes.count == trajectories.count else {
            throw TrainerError.badReplay("\(outcomes.count) outcomes for \(trajectories.count) trajectories")
        }
        let names = Set(active.map(\.name))
        var klSums: [String: (sum: Double, count: Int)] = [:]
        var segments: [[KLRewardAdvantage.Segment]] = []
        for (i, tr) in trajectories.enumerated() {
            var row: [KLRewardAdvantage.Segment] = []
            for s in tr.segments {
                var kl = [Float](repeating: 0, count: s.actionCount)
                if names.contains(s.expert) {
                    guard let ref = s.referenceLogProbs, ref.count == s.actionCount else {
                        throw TrainerError.badReplay("no reference log-probs for '\(s.expert)' (trainer.kl_in_reward)")
                    }
                    kl = zip(s.oldLogProbs, ref).map { $0 - $1 }
                    if adv.included[i] {
                        let v = klSums[s.expert, default: (0, 0)]
                        klSums[s.expert] = (v.sum + kl.reduce(0.0) { $0 + Double($1) }, v.count + kl.count)
                    }
                }
                row.append(KLRewardAdvantage.Segment(expert: s.expert, kl: kl, takesPart: takesPart(s)))
            }
            segments.append(row)
        }
        for (name, v) in klSums where v.count > 0 { metrics[metricName("reward_kl_penalty", name)] = v.sum / Double(v.count) }
        metrics["reward_kl_penalty_coeff"] = Double(t.klInRewardCoef)
        // Under data parallelism the whitening runs over the global batch (every rank's trajectories).
        let collective = dataParallel?.collective
        return try KLRewardAdvantage.compute(
            outcomes: outcomes, included: adv.included, groups: trajectories.map(\.promptIndex), segments: segments,
            coefficient: t.klInRewardCoef, estimator: t.advantageEstimator, clip: t.advantageClip,
            experts: active.map(\.name)
        ) { values in try collective?.allReduceSum(&values) }
    }
}
