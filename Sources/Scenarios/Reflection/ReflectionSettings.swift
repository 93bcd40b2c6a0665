import Foundation
import UniRLCore
import UniRLExperts

/// The settings of `reflection` (``ReflectionScenario``; `scenario.<key>=<value>`).
public struct ReflectionSettings: MergeableSettings, Sendable, Equatable {
    /// The editing folder (connector/ with t2i + i2i queries, dm/ with the reference path; lm/ and
    /// vae/ optional, else the bundled tiny unified model's); empty: the bundled editing folder.
    public var model = ""
    /// SDE steps of a rollout's drawing and editing, Euler steps in evaluation, flow shift, noise, guidance.
    public var samplingSteps = 10
    public var evaluationSteps = 20
    public var shift: Float = 3
    public var noiseLevel: Float = 0.7
    public var guidanceScale: Float = 3
    /// Tokens the judge may write, and its temperature in rollouts (evaluation is greedy).
    public var maxNewTokens = 32
    public var temperature: Float = 1
    /// Weight of the judge's agreement with ShapesEval in round 1's reward.
    public var judgeWeight: Float = 0.5
    /// Training prompts (ShapesWorld's training split) and held-out ones (evenly spaced bundled evaluation prompts).
    public var trainPrompts = 256
    public var testPrompts = 120
    public var promptSeed = 1
    /// Recompute each DiT block in the backward instead of keeping its activations (gradient
    /// checkpointing per block, diffusers' `enable_gradient_checkpointing`): less activation memory
    /// for one more forward of the blocks; gradients are unchanged. Default false.
    public var gradientCheckpointing = false

    public init() {}

    enum CodingKeys: String, CodingKey {
        case model, samplingSteps = "sampling_steps", evaluationSteps = "evaluation_steps", shift, noiseLevel = "noise_level"
        case guidanceScale = "guidance_scale", maxNewTokens = "max_new_tokens", temperature, judgeWeight = "judge_weight"
        case trainPrompts = "train_prompts", testPrompts = "test_prompts", promptSeed = "prompt_seed"
        case gradientCheckpointing = "gradient_checkpointing"
    }

    /// The DM's rollout settings (drawing and editing; w_ref 1 as the official edit sampler).
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
        try check(judgeWeight.isFinite && judgeWeight >= 0, "judge_weight", "must be ≥ 0")
        try check(trainPrompts >= 1 && testPrompts >= 1, "train_prompts", "prompt counts must be ≥ 1")
    }

    /// The model of `model`, or the bundled editing folder.
    public func loadModel() throws -> UnifiedImageGenerator {
        let generator = try ReflectionModel.load(from: model.isEmpty ? nil : URL(fileURLWithPath: model))
        generator.model.transformer.gradientCheckpointing = gradientCheckpointing
        return generator
    }
}
