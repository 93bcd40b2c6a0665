import Foundation
import UniRLCore
import UniRLExperts
import UniRLRewards
import UniRLShapesWorld
import UniRLTensor

/// `t2i`: the bundled tiny unified model learns to draw ShapesWorld prompts with GRPO (the main
/// job of UniRL-Zero at a laptop's scale). The LM is frozen; the connector, the t2i queries and the
/// DiT train through Flow-GRPO-Fast SDE rollouts (8 prompts × 8 samples per step; of the 10
/// steps a random window of 3 among the first 6 is stochastic and trained, the others are ODE
/// steps; `experts.dm.sde_window_size=0` makes all 10 stochastic) rewarded by
/// ShapesEval's partial score (or, with
/// `scenario.reward=clip_score`, by CLIPScore on the bundled ShapesCLIP). The held-out metric is
/// ShapesEval's strict GenEval overall score on the 600 bundled evaluation prompts (one Euler-ODE
/// image per prompt, the same noise at the start and the end), computed through the code path of `unirl generate` + `unirl shapes eval`.
///
/// It leaves `samples_start.png` / `samples_end.png` (the same 24 prompts and seeds),
/// `eval_start.json` / `eval_end.json` (the ShapesEval reports), `eval_curve.png` (the held-out
/// score every `eval_every` steps on a subset, when set) beside `reward_curve.png` and `summary.json`.
public struct TextToImagePack: ScenarioPack {
    public let name = "t2i"
    public let summary = "the bundled tiny unified model learns ShapesWorld prompts (held-out ShapesEval, strict)"
    public let metricName = "shapes_eval_overall"
    public let experts = [ExpertDeclaration("dm", kind: .sde)]
    public var defaultOverrides: [String] {
        [
            "run.steps=\(Self.defaultSteps)", "run.checkpoint_every=0", "trainer.prompts_per_step=8", "trainer.group_size=8",
            "trainer.gradient_accumulation=4", "trainer.advantage_clip=5", "trainer.recompute_old_log_probs=false",
            "experts.dm.learning_rate=0.0003", "experts.dm.beta=0.004", "experts.dm.clip_low=0.0001", "experts.dm.clip_high=0.0001",
            // Flow-GRPO-Fast: noise, log-probs and the update on a 3-step window drawn among the first 6 of the 10 steps,
            // where the layout is decided; replaying all 10 lets the low-noise last steps dominate the gradient.
            "experts.dm.sde_window_size=3", "experts.dm.sde_window_mode=random", "experts.dm.sde_window_end=6",
        ]
    }
    public var defaultSettings: TextToImageSettings {
        var s = TextToImageSettings()
        s.testPrompts = 600
        s.trainPrompts = 2000
        s.shift = 3
        return s
    }
    /// Seed of the evaluation noise (the same at the start and the end).
    public let evaluationSeed: UInt64 = 0

    public func evaluationInterval(settings: TextToImageSettings) -> Int { settings.evalEvery }

    /// GRPO steps of a default run.
    public static let defaultSteps = 100
    /// GRPO steps, learning rate and held-out prompts of `unirl demo` (a shorter run at twice the
    /// default learning rate, which learns faster over its first 30 steps, on a subset of the 600).
    public static let demoSteps = 30
    public static let demoLearningRate: Float = 6e-4
    public static let demoEvaluationPrompts = 120

    public init() {}

    public func makeScenario(settings: TextToImageSettings, configuration: GRPOConfiguration) throws -> UnifiedTextToImageScenario {
        let reward: any RewardFunction<PromptedImage>
        switch settings.reward {
        case .shapesEval: reward = ShapesEvalReward(partialCredit: true)
        case .clipScore:
            let clip = try CLIPScore.shapesCLIP()
            reward = FunctionReward<PromptedImage>(name: clip.name) { batch in
                try await clip.scores(for: batch.map { CaptionedImage(image: $0.image, caption: $0.prompt.caption) })
            }
        }
        let scenario = UnifiedTextToImageScenario(generator: try settings.loadUnifiedModel(), reward: reward, settings: settings)
        let s = scenario.settings
        print("GRPO on the tiny unified model with \(reward.name): \(s.samplingSteps) SDE steps, guidance \(s.guidanceScale)")
        return scenario
    }

    public func evaluate(
        _ scenario: UnifiedTextToImageScenario, trainer: GRPOTrainer<UnifiedTextToImageScenario>,
        phase: EvaluationPhase, output: URL
    ) async throws -> ScenarioEvaluation {
        let prompts = try scenario.prompts(.test)
        let bar = ProgressBar(total: prompts.count, keys: [])
        let (report, images) = try scenario.evaluate(prompts, seed: evaluationSeed) { bar.update(step: $0) }
        bar.finish()
        if phase == .during { return ScenarioEvaluation(metric: report.overall, prompts: prompts.count) }
        let shown = Self.gridIndices(prompts)
        try ImageGrid.tile(shown.map { images[$0] }, columns: 8).upscaled(by: 3)
            .writePNG(to: output.appendingPathComponent("samples_\(phase.rawValue).png"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: output.appendingPathComponent("eval_\(phase.rawValue).json"))
        print("held-out ShapesEval (\(phase.rawValue)):\n" + report.table())
        var extra: [String: Double] = ["image_accuracy": report.imageAccuracy]
        for row in report.categories { extra[row.category.rawValue] = row.accuracy }
        return ScenarioEvaluation(metric: report.overall, prompts: prompts.count, extra: extra)
    }

    /// 24 prompts of the grid: the first 4 of each category present.
    public static func gridIndices(_ prompts: [ShapesPrompt]) -> [Int] {
        var out: [Int] = []
        for category in PromptCategory.allCases {
            out += prompts.indices.filter { prompts[$0].category == category }.prefix(4)
        }
        return out
    }
}

extension TextToImageSettings {
    /// The unified model `model` names (a folder with lm/, connector/, dm/, vae/), or the bundled one.
    public func loadUnifiedModel() throws -> UnifiedImageGenerator {
        if !model.isEmpty { return try UnifiedImageGenerator(directory: URL(fileURLWithPath: model)) }
        guard let bundled = BundledUnifiedModel.directory else { throw TinyModelError.unifiedNotBundled }
        return try UnifiedImageGenerator(directory: bundled)
    }
}
