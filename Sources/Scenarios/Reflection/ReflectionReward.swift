import UniRLCore
import UniRLRewards
import UniRLShapesWorld

/// The reward of reflective generation, turned into R3's per-round advantages
/// (``RoundAdvantages``; sen-ye/R3 `train/train_utils.py`) inside each group:
///
///     r0 = ShapesEval partial score of the first image
///     r1 = ShapesEval partial score of the final image + judge_weight · [judgement agrees with ShapesEval (strict) on the first image]
///     round 0's total: r0 − mean r0;  round 1's total: (r1 − r0) − mean (r1 − r0)
///
/// The totals are already advantages: every round's totals sum to zero over the group, so the
/// trainer's group-mean subtraction (`trainer.advantage_scaling=no_std`, which the `reflection`
/// pack sets) leaves them unchanged. The raw scores are logged as components:
/// `rewards/first_image`, `rewards/final_image` and `rewards/judge_accuracy` (round-1 entries).
public struct ReflectionReward: RewardFunction {
    public let name = "reflection_r3"
    public var judgeWeight: Float
    public var evaluator = ShapesEval()

    public init(judgeWeight: Float = 0.5) { self.judgeWeight = judgeWeight }

    /// Per-step raw numbers: ShapesEval partial of the first and final image, and the judge's agreement.
    public func raw(_ batch: [ReflectionStep]) -> (first: [Float], final: [Float], judge: [Float]) {
        let first = evaluator.evaluations(prompts: batch.map(\.prompt), images: batch.map(\.firstImage))
        let final = evaluator.evaluations(prompts: batch.map(\.prompt), images: batch.map(\.finalImage))
        return (first.map { Float($0.partialScore) }, final.map { Float($0.partialScore) },
                zip(batch, first).map { s, e in s.judgedCorrect == e.correct ? 1 : 0 })
    }

    public func scores(for batch: [ReflectionStep]) async throws -> [Float?] { totals(batch) }

    /// The R3 advantages of `batch`, one per step.
    public func totals(_ batch: [ReflectionStep]) -> [Float] {
        let (first, final, judge) = raw(batch)
        var out = [Float](repeating: 0, count: batch.count)
        let groups = Dictionary(grouping: batch.indices, by: { batch[$0].group })
        for (_, members) in groups {
            // One row per sample: [r0, r1], with the indices of its round-0 and round-1 steps.
            let samples = Dictionary(grouping: members, by: { batch[$0].sample }).sorted { $0.key < $1.key }
            var rewards: [[Float]] = [], where0: [Int?] = [], where1: [Int?] = []
            for (_, steps) in samples {
                guard let any = steps.first else { continue }
                let r0 = first[any], r1 = final[any] + judgeWeight * judge[any]
                rewards.append([r0, r1])
                where0.append(steps.first { batch[$0].round == 0 })
                where1.append(steps.first { batch[$0].round == 1 })
            }
            let advantages = RoundAdvantages.compute(rewards)
            for (k, a) in advantages.enumerated() {
                if let i = where0[k] { out[i] = a[0] }
                if let i = where1[k] { out[i] = a[1] }
            }
        }
        return out
    }

    public func evaluate(_ batch: [ReflectionStep]) async -> RewardEvaluation {
        let (first, final, judge) = raw(batch)
        let totals = totals(batch)
        func component(_ name: String, _ values: [Float], round: Int) -> RewardComponent {
            RewardComponent(name: name, scores: zip(batch, values).map { $0.round == round ? $1 : nil })
        }
        return RewardEvaluation(
            totals: totals.map { .score($0) },
            components: [
                RewardComponent(name: name, scores: totals), component("first_image", first, round: 0),
                component("final_image", final, round: 1), component("judge_accuracy", judge, round: 1),
            ], warnings: [])
    }
}
