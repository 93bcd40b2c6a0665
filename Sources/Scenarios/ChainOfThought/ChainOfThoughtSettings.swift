import Foundation
import UniRLCore
import UniRLExperts

/// The settings of `cot-t2i` (``ChainOfThoughtScenario``; `scenario.<key>=<value>`).
public struct ChainOfThoughtSettings: MergeableSettings, Sendable, Equatable {
    /// The unified model folder (lm/, connector/, dm/, vae/ optional); empty (default): the bundled
    /// chain-of-thought cold start (`Resources/tiny-unified-cot`).
    public var model = ""
    /// SDE steps of a rollout, Euler steps of an evaluation image, flow shift, noise level, guidance.
    public var samplingSteps = 10
    public var evaluationSteps = 20
    public var shift: Float = 3
    public var noiseLevel: Float = 0.7
    public var guidanceScale: Float = 3
    /// Tokens the LM may write, and its sampling temperature in rollouts (evaluation is greedy).
    public var maxNewTokens = 40
    public var temperature: Float = 1
    /// Weight of the format reward beside ShapesEval's partial score.
    public var formatWeight: Float = 0.2
    /// Distinct training-side indirect prompts, and distinct held-out ones (with their seeds).
    public var trainPrompts = 400
    public var testPrompts = 200
    public var promptSeed = 1
    public var testPromptSeed = 7
    /// Held-out text tasks (arithmetic alone) whose greedy accuracy is reported; 0: none.
    public var textEvalPrompts = 100
    /// Steps between held-out evaluations during training (`eval_curve.png`); 0: start and end only.
    public var evalEvery = 0
    /// Recompute each DiT block in the backward instead of keeping its activations (gradient
    /// checkpointing per block, diffusers' `enable_gradient_checkpointing`): less activation memory
    /// for one more forward of the blocks; gradients are unchanged. Default false.
    public var gradientCheckpointing = false

    public init() {}

    enum CodingKeys: String, CodingKey {
        case model, samplingSteps = "sampling_steps", evaluationSteps = "evaluation_steps", shift, noiseLevel = "noise_level"
        case guidanceScale = "guidance_scale", maxNewTokens = "max_new_tokens", temperature, formatWeight = "format_weight"
        case trainPrompts = "train_prompts", testPrompts = "test_prompts", promptSeed = "prompt_seed"
        case testPromptSeed = "test_prompt_seed", textEvalPrompts = "text_eval_prompts", evalEvery = "eval_every"
        case gradientCheckpointing = "gradient_checkpointing"
    }

    /// The DM's rollout settings.
    public var policySettings: SanaPolicySettings {
        SanaPolicySettings(steps: samplingSteps, shift: shift, noiseLevel: noiseLevel, guidanceScale: guidanceScale)
    }

    public func validate() throws {
        func check(_ ok: Bool, _ key: String, _ reason: String) throws {
            if !ok { throw ConfigurationError.invalidValue(key: "scenario." + key, reason: reason) }
        }
        try check(samplingSteps >= 1, "sampling_steps", "must be ≥ 1")
        try check(evaluationSteps >= 1, "evaluation_steps", "must be ≥ 1")
        try check(shift > 0, "shift", "must be > 0")
        try check(noiseLevel > 0, "noise_level", "must be > 0")
        try check(maxNewTokens >= 1 && maxNewTokens <= 256, "max_new_tokens", "must be in 1…256")
        try check(temperature > 0, "temperature", "must be > 0 (rollouts sample)")
        try check(formatWeight.isFinite && formatWeight >= 0, "format_weight", "must be ≥ 0")
        try check(trainPrompts >= 1, "train_prompts", "must be ≥ 1")
        try check(testPrompts >= 1, "test_prompts", "must be ≥ 1")
        try check(textEvalPrompts >= 0 && textEvalPrompts <= 200, "text_eval_prompts", "must be in 0…200")
        try check(evalEvery >= 0, "eval_every", "must be ≥ 0")
    }

    /// The model of `model`, or the bundled cold start.
    public func loadModel() throws -> UnifiedImageGenerator {
        let generator =
            model.isEmpty ? try ChainOfThoughtModel.loadBundled() : try ChainOfThoughtModel.load(from: URL(fileURLWithPath: model))
        generator.model.transformer.gradientCheckpointing = gradientCheckpointing
        return generator
    }
}
