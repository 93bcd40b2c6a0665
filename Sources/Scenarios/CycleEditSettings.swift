import Foundation
import UniRLCore
import UniRLExperts
import UniRLShapesWorld

/// The settings of the `cycle-edit` scenario (``CycleEditScenario``; `scenario.<key>=<value>`).
public struct CycleEditSettings: MergeableSettings, Sendable, Equatable {
    /// N, SDE steps of each of a rollout's two trajectories (the official 10).
    public var samplingSteps = 10
    /// Euler ODE steps of evaluation edits.
    public var evaluationSteps = 20
    /// SANA's flow shift. Default 1 (32 × 32 images need none).
    public var shift: Float = 1
    /// The SDE's noise level a (flow_grpo 0.7).
    public var noiseLevel: Float = 0.7
    /// w and w_ref of triple guidance (the official I2I trainer: 3 and 1).
    public var guidanceScale: Float = 3
    public var referenceGuidanceScale: Float = 1
    /// λ1 (CLIP direction of the edit), λ2 (CLIP-I of the reconstruction against the source) and
    /// λ3 (palette fit of the edit, ``PaletteFitReward``): the official 4 · direction + 1 · CLIP-I, no quality term.
    public var lambdaEdit: Float = 4
    public var lambdaCycle: Float = 1
    public var lambdaQuality: Float = 0
    /// λ4, an optional term beyond the paper: 1 when ShapesEval's detector reads the edit as exactly the
    /// target scene (the held-out metric on training quadruples). 0 by default: it is logged
    /// (`rewards/edit_exact/mean`), not rewarded.
    public var lambdaExact: Float = 0
    /// Training quadruples (drawn from the training side of the split with `edit_seed`) and
    /// held-out quadruples (the evaluation side, drawn with `edit_seed + 1`).
    public var trainEdits = 512
    public var testEdits = 96
    public var editSeed = 1
    /// The edit model folder (connector/ and dm/, optionally lm/ and vae/); empty: the bundled
    /// `tiny-unified-edit` over `tiny-unified`.
    public var model = ""
    /// GRPO steps between held-out evaluations (`eval_curve.png`); 0: at the start and the end only.
    public var evalEvery = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case samplingSteps = "sampling_steps", evaluationSteps = "evaluation_steps", shift, noiseLevel = "noise_level"
        case guidanceScale = "guidance_scale", referenceGuidanceScale = "reference_guidance_scale"
        case lambdaEdit = "lambda_edit", lambdaCycle = "lambda_cycle", lambdaQuality = "lambda_quality", lambdaExact = "lambda_exact"
        case trainEdits = "train_edits", testEdits = "test_edits", editSeed = "edit_seed", model, evalEvery = "eval_every"
    }

    /// The SDE policy settings of both trajectories.
    public var policySettings: SanaPolicySettings {
        SanaPolicySettings(steps: samplingSteps, shift: shift, noiseLevel: noiseLevel, guidanceScale: guidanceScale,
                           referenceGuidanceScale: referenceGuidanceScale)
    }

    /// What evaluation edits are drawn with (Euler ODE, `evaluation_steps`, the rollouts' guidance).
    public func generationSettings(seed: UInt64) -> UnifiedGenerationSettings {
        UnifiedGenerationSettings(steps: evaluationSteps, guidanceScale: guidanceScale, referenceGuidanceScale: referenceGuidanceScale,
                                  shift: shift, samples: 1, seed: seed)
    }

    /// Checks ranges; throws ``ConfigurationError/invalidValue(key:reason:)`` naming the `scenario.` key.
    public func validate() throws {
        func check(_ ok: Bool, _ key: String, _ reason: String) throws {
            if !ok { throw ConfigurationError.invalidValue(key: "scenario." + key, reason: reason) }
        }
        try check(samplingSteps >= 1, "sampling_steps", "must be ≥ 1")
        try check(evaluationSteps >= 1, "evaluation_steps", "must be ≥ 1")
        try check(shift > 0, "shift", "must be > 0")
        try check(noiseLevel > 0, "noise_level", "must be > 0")
        for (key, v) in [("lambda_edit", lambdaEdit), ("lambda_cycle", lambdaCycle), ("lambda_quality", lambdaQuality),
                         ("lambda_exact", lambdaExact)] {
            try check(v.isFinite && v >= 0, key, "must be a finite number ≥ 0")
        }
        try check(lambdaEdit + lambdaCycle + lambdaQuality + lambdaExact > 0, "lambda_edit", "at least one λ must be > 0")
        try check(trainEdits >= 1, "train_edits", "must be ≥ 1")
        try check(testEdits >= 1, "test_edits", "must be ≥ 1")
        try check(evalEvery >= 0, "eval_every", "must be ≥ 0")
    }

    /// The quadruples of a split: `train_edits` of the training side, `test_edits` of the evaluation side.
    public func edits(_ split: DatasetSplit) -> [EditExample] {
        switch split {
        case .train: EditExamples.draw(count: trainEdits, split: .train, seed: UInt64(editSeed))
        case .test: EditExamples.draw(count: testEdits, split: .evaluation, seed: UInt64(editSeed) &+ 1)
        }
    }

    /// The editing model `model` names, or the bundled one.
    public func loadEditModel() throws -> UnifiedImageGenerator {
        try UnifiedEditModel.load(from: model.isEmpty ? nil : URL(fileURLWithPath: model))
    }
}
