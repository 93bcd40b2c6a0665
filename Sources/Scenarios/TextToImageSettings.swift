import Foundation
import UniRLExperts

/// Errors in a scenario's `scenario.<key>=<value>` overrides.
public enum ScenarioSettingsError: Error, CustomStringConvertible, Equatable {
    case unknownKey(String)
    case invalidValue(key: String, reason: String)

    public var description: String {
        switch self {
        case .unknownKey(let k): "unknown scenario setting '\(k)'"
        case .invalidValue(let k, let r): "invalid value for scenario setting '\(k)': \(r)"
        }
    }
}

/// The settings of ``TextToImageScenario`` (snake_case keys; `unirl train` takes them as
/// `scenario.<key>=<value>` overrides, e.g. `scenario.guidance_scale=4.5`).
public struct TextToImageSettings: Codable, Sendable, Equatable {
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

    public init(samplingSteps: Int = 10, evaluationSteps: Int = 20, guidanceScale: Float = 3) {
        self.samplingSteps = samplingSteps
        self.evaluationSteps = evaluationSteps
        self.guidanceScale = guidanceScale
    }

    enum CodingKeys: String, CodingKey {
        case samplingSteps = "sampling_steps", evaluationSteps = "evaluation_steps", shift
        case noiseLevel = "noise_level", sdeKind = "sde_kind", guidanceScale = "guidance_scale"
        case trainedSteps = "trained_steps", trainPrompts = "train_prompts", testPrompts = "test_prompts"
        case promptSeed = "prompt_seed"
    }

    /// The policy settings these describe.
    public var policySettings: SanaPolicySettings {
        SanaPolicySettings(steps: samplingSteps, shift: shift, noiseLevel: noiseLevel, kind: sdeKind,
                           guidanceScale: guidanceScale, trainedSteps: trainedSteps > 0 ? .random(trainedSteps) : .all)
    }

    /// These settings with `key=value` overrides applied (keys as in the JSON form).
    public func applying(overrides: [String]) throws -> TextToImageSettings {
        guard !overrides.isEmpty else { return self }
        guard var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(self)) as? [String: Any] else { return self }
        for item in overrides {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ScenarioSettingsError.invalidValue(key: item, reason: "expected key=value") }
            guard object[parts[0]] != nil else { throw ScenarioSettingsError.unknownKey(parts[0]) }
            let v = parts[1]
            object[parts[0]] = Int(v).map { $0 as Any } ?? Double(v).map { $0 as Any } ?? Bool(v).map { $0 as Any } ?? v
        }
        do {
            let updated = try JSONDecoder().decode(TextToImageSettings.self, from: JSONSerialization.data(withJSONObject: object))
            try updated.validate()
            return updated
        } catch let error as ScenarioSettingsError {
            throw error
        } catch {
            throw ScenarioSettingsError.invalidValue(key: overrides.joined(separator: " "), reason: "\(error)")
        }
    }

    public func validate() throws {
        func check(_ ok: Bool, _ key: String, _ reason: String) throws {
            if !ok { throw ScenarioSettingsError.invalidValue(key: key, reason: reason) }
        }
        try check(samplingSteps >= 1, "sampling_steps", "must be ≥ 1")
        try check(evaluationSteps >= 1, "evaluation_steps", "must be ≥ 1")
        try check(shift > 0, "shift", "must be > 0")
        try check(noiseLevel > 0, "noise_level", "must be > 0")
        try check(trainedSteps >= 0, "trained_steps", "must be ≥ 0")
        try check(trainPrompts >= 1 && testPrompts >= 1, "train_prompts", "prompt counts must be ≥ 1")
    }
}
