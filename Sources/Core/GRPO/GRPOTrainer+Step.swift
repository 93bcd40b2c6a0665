import Foundation
import UniRLTensor

// One GRPO step: draw prompts, roll out, score, compute advantages, update.
extension GRPOTrainer {
    // MARK: - One step

    /// Samples, scores and updates once.
    @discardableResult
    public func trainStep() async throws -> StepReport {
        let stepStart = Date()
        let t = configuration.trainer
        var metrics: [String: Double] = [:]
        var warnings: [String] = []

        let prompts = drawPrompts(t.promptsPerStep).map { trainPrompts[$0] }
        var clock = Date()
        for e in scenario.experts where e.kind == .sde {
            let s = configuration.settings(for: e.name, kind: e.kind)
            e.configureSampling?(SDESamplingPlan(window: s.sdeWindow, trainingStep: step,
                                                 sharedNoiseGroup: s.sameInitialNoise ? t.groupSize : 1))
        }
        var trajectories = try rolloutShare(prompts)
        try check(trajectories, promptCount: prompts.count)
        metrics["time/rollout"] = Date().timeIntervalSince(clock)

        clock = Date()
        let outputs = trajectories.map(\.output)
        var evaluation: RewardEvaluation
        if let answered = await scenario.reward.evaluate(outputs, timeout: t.rewardTimeout) {
            evaluation = answered
        } else {
            let message = "reward '\(scenario.reward.name)' gave no answer within trainer.reward_timeout = \(t.rewardTimeout) s; "
                + "the batch is marked failed"
            logger.error("\(message)")
            evaluation = RewardEvaluation(totals: Array(repeating: .failed, count: trajectories.count), components: [],
                                          warnings: [message])
            metrics["reward/timeouts"] = 1
        }
        if evaluation.totals.count != trajectories.count {
            warnings.append(
                "the reward returned \(evaluation.totals.count) results for \(trajectories.count) samples; "
                    + "the step makes no update")
            evaluation.totals = Array(repeating: .failed, count: trajectories.count)
        }
        warnings += evaluation.warnings
        metrics["time/reward"] = Date().timeIntervalSince(clock)

        clock = Date()
        // With data parallelism the advantages are computed over the whole batch on every rank.
        let (batchEvaluation, groups, localShare) = try gatherRewards(evaluation, groups: trajectories.map(\.promptIndex))
        evaluation = batchEvaluation
        if !t.rewardWeights.isEmpty { evaluation = evaluation.reweighted(t.rewardWeights) }
        let keys = groups.map { scenario.promptKey(prompts[$0]) }
        var advantages = GroupAdvantage.compute(
            rewards: evaluation.totals, groups: groups, scaling: t.advantageScaling,
            clip: t.advantageClip, dropZeroStdGroups: t.dropZeroStdGroups, tracker: &tracker, promptKeys: keys,
            estimator: t.advantageEstimator)
        if t.rewardAggregation == .normalizeThenSum && evaluation.components.count > 1 {
            advantages = GroupAdvantage.normalizingEachReward(
                advantages, evaluation: evaluation, groups: groups, scaling: t.advantageScaling,
                estimator: t.advantageEstimator, clip: t.advantageClip, weights: t.rewardWeights)
        }
        metrics["time/advantages"] = Date().timeIntervalSince(clock)
        recordRewardMetrics(evaluation, groups: groups, advantages: advantages, into: &metrics)
        recordCompletionMetrics(trajectories, into: &metrics)

        clock = Date()
        try update(
            &trajectories, advantages: advantages.restricted(to: localShare),
            outcomes: evaluation.totals[localShare].map(\.value), metrics: &metrics, warnings: &warnings)
        metrics["time/update"] = Date().timeIntervalSince(clock)
        if let dp = dataParallel { metrics["time/allreduce"] = dp.gradientClock.take() }
        updateEMA()
        metrics["time/step"] = Date().timeIntervalSince(stepStart)

        step += 1
        try checkReplicasIfDue()
        for w in warnings { logger.warning("step \(step): \(w)") }
        return StepReport(step: step, metrics: metrics, warnings: warnings)
    }

    /// Draws prompt indices: without replacement when the split is large enough.
    func drawPrompts(_ count: Int) -> [Int] {
        let n = trainPrompts.count
        guard count <= n else { return (0..<count).map { _ in Int(samplingRNG.next() % UInt64(n)) } }
        var idx = Array(0..<n)
        for i in 0..<count { idx.swapAt(i, i + Int(samplingRNG.next() % UInt64(n - i))) }
        return Array(idx.prefix(count))
    }

    func check(_ trajectories: [Trajectory<S.Output>], promptCount: Int) throws {
        let known = Set(scenario.experts.map(\.name))
        for (i, tr) in trajectories.enumerated() {
            guard tr.promptIndex >= 0 && tr.promptIndex < promptCount else {
                throw TrainerError.badRollout("trajectory \(i) answers prompt \(tr.promptIndex) of \(promptCount)")
            }
            for s in tr.segments where !known.contains(s.expert) {
                throw TrainerError.badRollout("trajectory \(i) has a segment of unknown expert '\(s.expert)'")
            }
        }
    }
}
