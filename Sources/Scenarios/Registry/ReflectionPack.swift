import Foundation
import UniRLCore
import UniRLExperts
import UniRLShapesWorld
import UniRLTensor

/// `reflection`: reflective generation (``ReflectionScenario``): draw, judge through the vision
/// tower, correct through the editing path; R3's per-round advantages (``ReflectionReward``). The
/// held-out metric is the final image's strict ShapesEval; the first image's score, the judge's
/// accuracy and the edit rate are reported beside it.
///
/// Leaves `samples_start.png` / `samples_end.png` (first images above final images for 8 prompts),
/// `eval_start.json` / `eval_end.json`, `reward_curve.png` and `summary.json`.
public struct ReflectionPack: ScenarioPack {
    public let name = "reflection"
    public let summary = "draw, judge the image with the LM, correct it through the editing path (R3 per-round advantages)"
    public let metricName = "shapes_eval_final"
    public let experts = [ExpertDeclaration("lm", kind: .discrete), ExpertDeclaration("dm", kind: .sde)]
    public var defaultOverrides: [String] {
        // no_std: the reward's totals are already R3's centred per-round advantages (ReflectionReward).
        ["run.steps=40", "run.checkpoint_every=0", "trainer.prompts_per_step=4", "trainer.group_size=8",
         "trainer.gradient_accumulation=4", "trainer.advantage_clip=5", "trainer.advantage_scaling=no_std",
         "experts.dm.learning_rate=0.0003", "experts.dm.beta=0.004", "experts.dm.clip_low=0.0001", "experts.dm.clip_high=0.0001",
         "experts.lm.learning_rate=0.0001", "experts.lm.beta=0.01"]
    }
    public var defaultSettings: ReflectionSettings { ReflectionSettings() }
    public let evaluationSeed: UInt64 = 0
    /// The reward's totals are R3's centred advantages (mean 0 by construction); the curve shows
    /// the final image's raw ShapesEval score instead.
    public let trainingRewardMetric = "rewards/final_image/mean"

    public init() {}

    public func makeScenario(settings: ReflectionSettings, configuration: GRPOConfiguration) throws -> ReflectionScenario {
        ReflectionScenario(generator: try settings.loadModel(), settings: settings)
    }

    public func evaluate(_ scenario: ReflectionScenario, trainer: GRPOTrainer<ReflectionScenario>,
                         phase: EvaluationPhase, output: URL) async throws -> ScenarioEvaluation {
        let prompts = try scenario.prompts(.test)
        let bar = ProgressBar(total: prompts.count, keys: [])
        let result = try scenario.evaluate(prompts, seed: evaluationSeed) { bar.update(step: $0) }
        bar.finish()
        let extra: [String: Double] = [
            "first_image": result.first.overall, "judge_accuracy": result.judgeAccuracy, "edit_rate": result.editRate,
        ]
        if phase == .during { return ScenarioEvaluation(metric: result.final.overall, prompts: prompts.count, extra: extra) }
        let shown = Array(0..<Swift.min(8, prompts.count))
        try ImageGrid.tile(shown.map { result.firstImages[$0] } + shown.map { result.finalImages[$0] }, columns: Swift.max(shown.count, 1))
            .upscaled(by: 3).writePNG(to: output.appendingPathComponent("samples_\(phase.rawValue).png"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(result).write(to: output.appendingPathComponent("eval_\(phase.rawValue).json"))
        print(String(format: "held-out (%@): strict ShapesEval first image %.1f%%, after reflection %.1f%%; judge accuracy %.1f%%, "
                     + "edits %.1f%%", phase.rawValue, 100 * result.first.overall, 100 * result.final.overall,
                     100 * result.judgeAccuracy, 100 * result.editRate))
        return ScenarioEvaluation(metric: result.final.overall, prompts: prompts.count, extra: extra)
    }
}
