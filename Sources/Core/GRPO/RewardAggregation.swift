/// Several rewards into one advantage: per-reward weights from the configuration and the order
/// of weighting and normalising (``RewardAggregationOrder``).
extension RewardEvaluation {
    /// The totals recomputed from each reward's own scores as Σ_k w_k·r_k over the rewards that
    /// apply to the sample, `weights` by logged name (names not listed weigh 1). Samples that
    /// failed stay failed; a sample no reward applies to stays unscored.
    public func reweighted(_ weights: [String: Float]) -> RewardEvaluation {
        var out = self
        out.totals = totals.indices.map { i in
            if totals[i] == .failed { return .failed }
            var sum = 0.0, applies = false
            for c in components where i < c.scores.count {
                guard let v = c.scores[i] else { continue }
                sum += Double(weights[c.name] ?? 1) * Double(v)
                applies = true
            }
            guard applies else { return .notApplicable }
            return sum.isFinite ? .score(Float(sum)) : .failed
        }
        return out
    }
}

extension GroupAdvantage {
    /// `normalize_then_sum`: A_i = Σ_k w_k·A_{k,i}, A_k the advantages of reward k alone (same
    /// estimator and scaling, no clip), for the samples `base` includes; then the clip bound.
    /// `base` (computed from the totals) decides which samples and groups take part.
    public static func normalizingEachReward(
        _ base: GroupAdvantageResult, evaluation: RewardEvaluation, groups: [Int],
        scaling: AdvantageScaling, estimator: AdvantageEstimator, clip: Float?,
        weights: [String: Float]
    ) -> GroupAdvantageResult {
        var out = base
        var sums = [Float](repeating: 0, count: base.advantages.count)
        var unusedTracker = PerPromptStatTracker(bufferSize: 1, minimumCount: 1)
        let componentScaling = scaling == .perPromptTracker ? .groupStd : scaling
        for c in evaluation.components {
            let rewards: [SampleReward] = base.advantages.indices.map { i in
                if evaluation.totals[i] == .failed { return .failed }
                guard i < c.scores.count, let v = c.scores[i] else { return .notApplicable }
                return .score(v)
            }
            let a = compute(
                rewards: rewards, groups: groups, scaling: componentScaling, clip: nil,
                tracker: &unusedTracker, estimator: estimator
            ).advantages
            let w = weights[c.name] ?? 1
            for i in sums.indices { sums[i] += w * a[i] }
        }
        let bound = clip.flatMap { $0 > 0 && $0.isFinite ? $0 : nil }
        out.clippedCount = 0
        for i in sums.indices {
            guard base.included[i] else { out.advantages[i] = 0; continue }
            var a = sums[i]
            if let c = bound, Swift.abs(a) > c {
                a = Swift.max(-c, Swift.min(c, a))
                out.clippedCount += 1
            }
            out.advantages[i] = a
        }
        return out
    }
}
