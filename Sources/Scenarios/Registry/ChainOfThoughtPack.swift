import Foundation
import UniRLCore
import UniRLExperts
import UniRLShapesWorld
import UniRLTensor

/// `cot-t2i`: chain-of-thought-enhanced generation (``ChainOfThoughtScenario``) from the bundled
/// chain-of-thought cold start. The LM (trainable, its own learning rate and k3 KL) writes its
/// reasoning and the resolved caption; the DM draws from the connector over prompt + reply; one
/// advantage per trajectory. The held-out metric is ShapesEval's strict score on held-out
/// indirect prompts, with greedy reasoning; the same model without reasoning (queries right after
/// the prompt) and the LM's arithmetic (on counting prompts and on the tiny LM's held-out text
/// tasks) are reported beside it.
///
/// Leaves `samples_start.png` / `samples_end.png` (the first 24 held-out prompts with reasoning,
/// the same noise), `eval_start.json` / `eval_end.json` (reports, replies) beside
/// `reward_curve.png` and `summary.json`.
public struct ChainOfThoughtPack: ScenarioPack {
    public let name = "cot-t2i"
    public let summary = "the LM reasons about indirect prompts, the DM draws the resolved scene (held-out ShapesEval, strict)"
    public let metricName = "shapes_eval_overall"
    public let experts = [ExpertDeclaration("lm", kind: .discrete), ExpertDeclaration("dm", kind: .sde)]
    public var defaultOverrides: [String] {
        ["run.steps=\(Self.defaultSteps)", "run.checkpoint_every=0", "trainer.prompts_per_step=4", "trainer.group_size=8",
         "trainer.gradient_accumulation=4", "trainer.advantage_clip=5", "experts.dm.learning_rate=0.0003",
         "experts.dm.beta=0.004", "experts.dm.clip_low=0.0001", "experts.dm.clip_high=0.0001",
         "experts.lm.learning_rate=0.0001", "experts.lm.beta=0.01"]
    }
    public var defaultSettings: ChainOfThoughtSettings { ChainOfThoughtSettings() }
    /// Seed of the evaluation noise (the same at the start and the end).
    public let evaluationSeed: UInt64 = 0
    /// GRPO steps of a default run.
    public static let defaultSteps = 60

    public init() {}

    public func evaluationInterval(settings: ChainOfThoughtSettings) -> Int { settings.evalEvery }

    public func makeScenario(settings: ChainOfThoughtSettings, configuration: GRPOConfiguration) throws -> ChainOfThoughtScenario {
        let scenario = ChainOfThoughtScenario(generator: try settings.loadModel(), settings: settings)
        print("CoT GRPO on the tiny unified model: the LM writes ≤ \(settings.maxNewTokens) tokens, "
              + "the DM draws \(settings.samplingSteps) SDE steps from prompt + reply")
        return scenario
    }

    public func evaluate(_ scenario: ChainOfThoughtScenario, trainer: GRPOTrainer<ChainOfThoughtScenario>,
                         phase: EvaluationPhase, output: URL) async throws -> ScenarioEvaluation {
        let prompts = try scenario.prompts(.test)
        let bar = ProgressBar(total: prompts.count * (phase == .during ? 1 : 2), keys: [])
        let withReasoning = try scenario.evaluate(prompts, reasoning: true, seed: evaluationSeed) { bar.update(step: $0) }
        if phase == .during {
            bar.finish()
            return ScenarioEvaluation(metric: withReasoning.report.overall, prompts: prompts.count)
        }
        let without = try scenario.evaluate(prompts, reasoning: false, seed: evaluationSeed) { bar.update(step: prompts.count + $0) }
        bar.finish()
        let text = scenario.settings.textEvalPrompts > 0 ? try scenario.textAccuracy(count: scenario.settings.textEvalPrompts) : nil
        try ImageGrid.tile(Array(withReasoning.images.prefix(24)), columns: 8).upscaled(by: 3)
            .writePNG(to: output.appendingPathComponent("samples_\(phase.rawValue).png"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try encoder.encode(["with_reasoning": withReasoning, "without_reasoning": without])
            .write(to: output.appendingPathComponent("eval_\(phase.rawValue).json"))
        var extra: [String: Double] = [
            "no_reasoning": without.report.overall, "answer_accuracy": withReasoning.answerAccuracy,
            "format_rate": withReasoning.formatRate, "arithmetic_accuracy": withReasoning.arithmeticAccuracy,
        ]
        for row in withReasoning.report.categories { extra[row.category.rawValue] = row.accuracy }
        if let text {
            extra["text_accuracy"] = text.accuracy["text"] ?? .nan
            for (k, v) in text.bySubkind { extra[k.replacingOccurrences(of: "/", with: "_")] = v }
        }
        print(String(format: "held-out (%@): strict ShapesEval %.1f%% with reasoning, %.1f%% without; answers %.1f%%, "
                     + "format %.1f%%, arithmetic (counting prompts) %.1f%%, text tasks %.1f%%",
                     phase.rawValue, 100 * withReasoning.report.overall, 100 * without.report.overall,
                     100 * withReasoning.answerAccuracy, 100 * withReasoning.formatRate, 100 * withReasoning.arithmeticAccuracy,
                     100 * (extra["text_accuracy"] ?? .nan)))
        return ScenarioEvaluation(metric: withReasoning.report.overall, prompts: prompts.count, extra: extra)
    }
}
