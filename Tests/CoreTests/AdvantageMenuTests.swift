import Foundation
import Testing
import UniRLTensor

@testable import UniRLCore

/// The advantage estimators and the multi-reward settings against numbers worked out by hand or
/// in float64 in the test.
@Suite struct AdvantageMenuTests {
    let rewards: [Float] = [1, 2, 3, 6, 0, 0, 1, 1]
    let groups = [0, 0, 0, 0, 1, 1, 1, 1]

    func advantages(_ estimator: AdvantageEstimator, rewards: [Float]? = nil) -> [Float] {
        var tracker = PerPromptStatTracker()
        return GroupAdvantage.compute(
            rewards: (rewards ?? self.rewards).map { .score($0) }, groups: groups, scaling: .groupStd,
            clip: nil, tracker: &tracker, estimator: estimator
        ).advantages
    }

    /// Sample mean and Bessel std in float64.
    func meanStd(_ xs: [Double]) -> (Double, Double) {
        let m = xs.reduce(0, +) / Double(xs.count)
        return (m, (xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(xs.count - 1)).squareRoot())
    }

    @Test func rlooIsTheLeaveOneOutBaseline() {
        // r_i − mean of the others: group 0 [1, 2, 3, 6] → [1 − 11/3, 2 − 10/3, 3 − 3, 6 − 2].
        assertClose(advantages(.rloo), [-8.0 / 3, -4.0 / 3, 0, 4, -2.0 / 3, -2.0 / 3, 2.0 / 3, 2.0 / 3])
    }

    @Test func reinforcePlusPlusWhitensOverTheBatch() {
        let r = rewards.map(Double.init)
        let (m, s) = meanStd(r)
        assertClose(advantages(.reinforcePlusPlus), r.map { ($0 - m) / (s + 1e-4) })
        // Baseline variant: r − group mean (3 and 0.5), then whitened.
        let centred = r.enumerated().map { $0.element - ($0.offset < 4 ? 3 : 0.5) }
        let (cm, cs) = meanStd(centred)
        assertClose(advantages(.reinforcePlusPlusBaseline), centred.map { ($0 - cm) / (cs + 1e-4) })
    }

    @Test func passAtKCreditsOnlyTheGroupsUniqueBest() {
        // Group 0: only 6 raises the maximum (by 6 − 3); group 1 has two best samples: no credit.
        assertClose(advantages(.passAtK), [0, 0, 0, 3, 0, 0, 0, 0])
    }

    @Test func grpoEstimatorIsUnchanged() {
        var tracker = PerPromptStatTracker()
        let before = GroupAdvantage.compute(
            rewards: rewards.map { .score($0) }, groups: groups, scaling: .groupStd, clip: nil,
            tracker: &tracker)
        #expect(advantages(.grpo) == before.advantages)
    }

    func evaluation() -> RewardEvaluation {
        RewardEvaluation(
            totals: [.score(0), .score(0), .score(0), .failed],
            components: [
                RewardComponent(name: "a", scores: [1, 2, 3, 4]),
                RewardComponent(name: "b", scores: [10, 0, nil, 10]),
            ],
            warnings: [])
    }

    @Test func rewardWeightsRecomputeTheTotals() {
        let e = evaluation().reweighted(["b": 0.5])
        #expect(e.totals == [.score(6), .score(2), .score(3), .failed])
        let none = RewardEvaluation(totals: [.score(1)], components: [RewardComponent(name: "a", scores: [nil])], warnings: [])
        #expect(none.reweighted(["a": 2]).totals == [.notApplicable])
    }

    @Test func normaliseEachRewardThenSum() {
        let e = RewardEvaluation(
            totals: [.score(0), .score(0), .score(0), .score(0)],
            components: [
                RewardComponent(name: "a", scores: [1, 2, 3, 4]),
                RewardComponent(name: "b", scores: [10, 0, 0, 10]),
            ], warnings: [])
        let weighted = e.reweighted(["b": 0.5])
        var tracker = PerPromptStatTracker()
        let base = GroupAdvantage.compute(
            rewards: weighted.totals, groups: [0, 0, 0, 0], scaling: .groupStd, clip: nil,
            tracker: &tracker)
        let out = GroupAdvantage.normalizingEachReward(
            base, evaluation: weighted, groups: [0, 0, 0, 0], scaling: .groupStd,
            estimator: .grpo, clip: nil, weights: ["b": 0.5])
        let (ma, sa) = meanStd([1, 2, 3, 4]), (mb, sb) = meanStd([10, 0, 0, 10])
        let expected = (0..<4).map { i in
            ([1.0, 2, 3, 4][i] - ma) / (sa + 1e-4) + 0.5 * ([10.0, 0, 0, 10][i] - mb) / (sb + 1e-4)
        }
        assertClose(out.advantages, expected, tolerance: 1e-4)
        // Sum-then-normalise differs: totals [6, 2, 3, 9].
        let (mt, st) = meanStd([6, 2, 3, 9])
        assertClose(base.advantages, [6.0, 2, 3, 9].map { ($0 - mt) / (st + 1e-4) }, tolerance: 1e-4)
        // The clip bound applies after the sum.
        let clipped = GroupAdvantage.normalizingEachReward(
            base, evaluation: weighted, groups: [0, 0, 0, 0], scaling: .groupStd,
            estimator: .grpo, clip: 1, weights: ["b": 0.5])
        #expect(clipped.advantages.allSatisfy { abs($0) <= 1 } && clipped.clippedCount > 0)
    }

    @Test func newKeysLoadAndValidate() throws {
        let c = try GRPOConfiguration().addingDefaults(for: [("lm", .discrete)]).applying(overrides: [
            "trainer.loss_aggregation=dapo", "trainer.advantage_estimator=rloo", "trainer.reward_aggregation=normalize_then_sum",
            "trainer.reward_weights.accuracy=2", "trainer.mask_truncated_completions=true",
            "experts.lm.policy_loss=sapo", "experts.lm.importance_sampling_level=sequence", "experts.lm.clip_ratio_c=3",
            "experts.lm.delta=1.5", "experts.lm.entropy_coeff=0.01", "experts.lm.top_entropy_quantile=0.2",
        ])
        try c.validate()
        #expect(c.trainer.lossAggregation == .dapo && c.trainer.advantageEstimator == .rloo)
        #expect(c.trainer.rewardWeights == ["accuracy": 2] && c.trainer.maskTruncatedCompletions)
        let lm = c.experts["lm"]!
        #expect(lm.policyLoss == .sapo && lm.importanceSamplingLevel == .sequence && lm.clipRatioC == 3 && lm.delta == 1.5)
        #expect(lm.entropyCoeff == 0.01 && lm.topEntropyQuantile == 0.2)
        var bad = c
        bad.experts["lm"]!.clipRatioC = 0.5
        #expect(throws: ConfigurationError.invalidValue(key: "experts.lm.clip_ratio_c", reason: "must be 0 (off) or > 1")) {
            try bad.validate()
        }
        bad = c
        bad.experts["lm"]!.topEntropyQuantile = 0
        #expect(throws: ConfigurationError.self) { try bad.validate() }
    }
}
