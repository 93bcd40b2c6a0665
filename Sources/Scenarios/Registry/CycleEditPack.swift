import Foundation
import UniRLCore
import UniRLExperts
import UniRLRewards
import UniRLShapesWorld
import UniRLTensor

/// `cycle-edit`: Cycle-Edit RL (``CycleEditScenario``) on the bundled tiny unified model's edit
/// weights (`tiny-unified-edit`, the edit cold start of `unirl pretrain unified --stage edit`).
/// The held-out metric is the exact edit success on `test_edits` quadruples of the evaluation
/// side of the split (the edited scene, by ShapesEval's detector, equals the target scene), with
/// the same noise at the start and the end; CLIP direction, CLIP-I and the cycle's success are
/// reported beside it (`<name>_start` / `<name>_end` in `summary.json`, with the λ of the run).
///
/// It leaves `edits_start.png` / `edits_end.png` (rows of source | edit | reconstruction |
/// target on the same quadruples and seeds) and `eval_start.json` / `eval_end.json` beside
/// `reward_curve.png` and `summary.json`.
public struct CycleEditPack: ScenarioPack {
    public let name = "cycle-edit"
    public let summary = "Cycle-Edit RL: edit, reconstruct with the reverse instruction (held-out exact edit success)"
    public let metricName = "edit_success"
    public let experts = [ExpertDeclaration("dm", kind: .sde)]
    /// loss_weight 2 and β doubled turn the trainer's mean over the 2G segments into the official
    /// PG₁ + PG₂ + β(KL₁ + KL₂) with β = 0.004 (``CycleEditScenario``). Both trajectories use
    /// Flow-GRPO-Fast's window as `t2i` does: of the official 10 sampler steps, a window of 3 drawn
    /// among the first 6 is stochastic, recorded and trained; the others are ODE steps (replaying all
    /// lets the low-noise last steps, which cannot recolour, move, add or remove a shape, dominate the
    /// gradient). The sampler's log-probs are π_old (the single update of a step is on-policy).
    /// Advantages are centred per group and scaled by the batch's std (`batch_std`), not each
    /// group's: a group whose CLIP scores differ only a little (no exact edit among its samples)
    /// then gets small advantages instead of being blown up to unit spread (README, "Cycle-Edit").
    public var defaultOverrides: [String] {
        ["run.steps=\(Self.defaultSteps)", "run.checkpoint_every=0", "trainer.prompts_per_step=4", "trainer.group_size=8",
         "trainer.gradient_accumulation=4", "trainer.advantage_clip=5", "trainer.advantage_scaling=batch_std",
         "trainer.recompute_old_log_probs=false",
         "experts.dm.learning_rate=0.0003", "experts.dm.loss_weight=2", "experts.dm.beta=0.008", "experts.dm.clip_low=0.0001",
         "experts.dm.clip_high=0.0001", "experts.dm.sde_window_size=3", "experts.dm.sde_window_mode=random",
         "experts.dm.sde_window_end=6"]
    }
    /// The official 10 sampler steps per trajectory (only the window's 3 are replayed).
    public var defaultSettings: CycleEditSettings { CycleEditSettings() }
    /// Seed of the evaluation noise (the same at the start and the end).
    public let evaluationSeed: UInt64 = 0

    /// GRPO steps of a default run.
    public static let defaultSteps = 30

    public init() {}

    public func evaluationInterval(settings: CycleEditSettings) -> Int { settings.evalEvery }

    public func makeScenario(settings: CycleEditSettings, configuration: GRPOConfiguration) throws -> CycleEditScenario {
        let scenario = try CycleEditScenario(generator: try settings.loadEditModel(), settings: settings)
        print(String(format: "Cycle-Edit GRPO on the tiny unified model: R = %g·direction + %g·CLIP-I(cycle) + %g·palette fit, "
                     + "%d SDE steps per trajectory", settings.lambdaEdit, settings.lambdaCycle, settings.lambdaQuality,
                     settings.samplingSteps))
        return scenario
    }

    public func evaluate(_ scenario: CycleEditScenario, trainer: GRPOTrainer<CycleEditScenario>, phase: EvaluationPhase, output: URL)
        async throws -> ScenarioEvaluation
    {
        let examples = try scenario.prompts(.test)
        let evaluation = CycleEditEvaluation()
        let bar = ProgressBar(total: 2 * examples.count, keys: [])
        let (edited, reconstructed) = try evaluation.draw(scenario.generator, examples: examples,
                                                          settings: scenario.settings.generationSettings(seed: evaluationSeed)) {
            bar.update(step: $0)
        }
        bar.finish()
        let report = try await evaluation.report(examples: examples, edited: edited, reconstructed: reconstructed,
                                                 clip: try ShapesCLIP.load())
        var extra = report.metrics
        extra["lambda_edit"] = Double(scenario.settings.lambdaEdit)
        extra["lambda_cycle"] = Double(scenario.settings.lambdaCycle)
        extra["lambda_quality"] = Double(scenario.settings.lambdaQuality)
        extra["lambda_exact"] = Double(scenario.settings.lambdaExact)
        if phase == .during { return ScenarioEvaluation(metric: report.editSuccess, prompts: examples.count, extra: extra) }
        try CycleEditEvaluation.grid(examples: examples, edited: edited, reconstructed: reconstructed)
            .writePNG(to: output.appendingPathComponent("edits_\(phase.rawValue).png"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: output.appendingPathComponent("eval_\(phase.rawValue).json"))
        print("held-out edits (\(phase.rawValue)):\n" + report.table())
        return ScenarioEvaluation(metric: report.editSuccess, prompts: examples.count, extra: extra)
    }
}
