import Foundation
import UniRLCore
import UniRLExperts
import UniRLShapesWorld

/// The settings of ``TextToImageScenario`` (snake_case keys; `unirl train` takes them in a
/// configuration file's `scenario:` section or as `scenario.<key>=<value>` overrides, e.g.
/// `scenario.guidance_scale=4.5`).
public struct TextToImageSettings: MergeableSettings, Sendable, Equatable {
    /// N, SDE steps of a training rollout. Default 10.
    public var samplingSteps = 10
    /// Euler ODE steps of evaluation samples (more than a rollout's: "denoising reduction"). Default 20.
    public var evaluationSteps = 20
    /// SANA's flow shift. Default 1 (32 × 32 images need none).
    public var shift: Float = 1
    /// The SDE's noise level a. Default 0.7 (flow_grpo).
    public var noiseLevel: Float = 0.7
    /// `sde` (default) or `cps`.
    public var sdeKind: SDEStepKind = .sde
    /// w of classifier-free guidance in rollouts and evaluation. Default 3.
    public var guidanceScale: Float = 3
    /// Steps per rollout to train on, a random subset; 0 trains on all. Default 0.
    public var trainedSteps = 0
    /// Training prompts (drawn from ShapesWorld's training split) and evaluation prompts (every
    /// k-th of the bundled evaluation set). Defaults 256 and 48.
    public var trainPrompts = 256
    public var testPrompts = 48
    /// Seed of the training prompts. Default 1.
    public var promptSeed = 1
    /// The unified model folder (lm/, connector/, dm/, vae/) the unified scenarios start from;
    /// empty (default): the bundled tiny unified model.
    public var model = ""
    /// Steps between held-out evaluations during training (`eval_curve.png`); 0 (default): start and end only.
    public var evalEvery = 0
    /// The training reward of `t2i`: `shapes_eval` (ShapesEval's partial score, the default) or
    /// `clip_score` (``CLIPScore`` on the bundled ShapesCLIP). The held-out metric stays strict ShapesEval.
    public var reward: TextToImageReward = .shapesEval
    /// Recompute each DiT block in the backward instead of keeping its activations
    /// (``SanaTransformer/gradientCheckpointing``, diffusers' `gradient_checkpointing`): less
    /// activation memory for one more forward of the blocks, identical gradients. Default false.
    public var gradientCheckpointing = false

    public init(samplingSteps: Int = 10, evaluationSteps: Int = 20, guidanceScale: Float = 3) {
        self.samplingSteps = samplingSteps
        self.evaluationSteps = evaluationSteps
        self.guidanceScale = guidanceScale
    }

    enum CodingKeys: String, CodingKey {
        case samplingSteps = "sampling_steps", evaluationSteps = "evaluation_steps", shift
        case noiseLevel = "noise_level", sdeKind = "sde_kind", guidanceScale = "guidance_scale"
        case trainedSteps = "trained_steps", trainPrompts = "train_prompts", testPrompts = "test_prompts"
        case promptSeed = "prompt_seed", model, evalEvery = "eval_every", reward
        case gradientCheckpointing = "gradient_checkpointing"
    }

    /// The policy settings these describe.
    public var policySettings: SanaPolicySettings {
        SanaPolicySettings(steps: samplingSteps, shift: shift, noiseLevel: noiseLevel, kind: sdeKind,
                           guidanceScale: guidanceScale, trainedSteps: trainedSteps > 0 ? .random(trainedSteps) : .all)
    }

    /// Checks ranges; throws ``ConfigurationError/invalidValue(key:reason:)`` naming the
    /// `scenario.` key.
    public func validate() throws {
        func check(_ ok: Bool, _ key: String, _ reason: String) throws {
            if !ok { throw ConfigurationError.invalidValue(key: "scenario." + key, reason: reason) }
        }
        try check(samplingSteps >= 1, "sampling_steps", "must be ≥ 1")
        try check(evaluationSteps >= 1, "evaluation_steps", "must be ≥ 1")
        try check(shift > 0, "shift", "must be > 0")
        try check(noiseLevel > 0, "noise_level", "must be > 0")
        try check(trainedSteps >= 0, "trained_steps", "must be ≥ 0")
        try check(trainedSteps <= samplingSteps, "trained_steps",
                  "\(trainedSteps) is more than the \(samplingSteps) sampling_steps of a rollout")
        try check(trainPrompts >= 1 && testPrompts >= 1, "train_prompts", "prompt counts must be ≥ 1")
        try check(evalEvery >= 0, "eval_every", "must be ≥ 0")
    }
}

/// What `t2i` rewards during training (``TextToImageSettings/reward``).
public enum TextToImageReward: String, Codable, Sendable, CaseIterable {
    case shapesEval = "shapes_eval"
    case clipScore = "clip_score"
}

extension TextToImageSettings {
    /// The prompts of a split: `train_prompts` prompts of ShapesWorld's training split (all six
    /// categories, drawn with `prompt_seed`); test: `test_prompts` evenly spaced prompts of the 600
    /// bundled evaluation prompts (all of them by default).
    public func prompts(_ split: DatasetSplit) throws -> [ShapesPrompt] {
        switch split {
        case .train:
            return PromptGenerator().prompts(count: trainPrompts, seed: UInt64(promptSeed)).map(\.prompt)
        case .test:
            let all = try PromptGenerator.bundledEvaluationSet()
            let stride = Swift.max(1, all.count / testPrompts)
            return Array(Swift.stride(from: 0, to: all.count, by: stride).map { all[$0] }.prefix(testPrompts))
        }
    }
}
