import Foundation
import UniRLCore
import UniRLExperts
import UniRLShapesWorld
import UniRLTensor

/// Text-to-image GRPO on ShapesWorld with the tiny SANA: a prompt is a ShapesWorld caption; the
/// diffusion expert (``SanaPolicy``, named `dm`) draws a group of latents through its SDE sampler
/// with classifier-free guidance; the DC-AE decodes them to 32 × 32 ``RGBImage``s; any
/// `RewardFunction<RGBImage>` scores them (the paper's sanity check: JPEG (in)compressibility).
///
/// The caption encoder and the autoencoder stay frozen: captions are encoded once, without a
/// tape, and the GRPO update trains the transformer only.
///
/// ```swift
/// let scenario = try TextToImageScenario(models: TinySana.load(), reward: JPEGCompressibilityReward())
/// try await GRPOTrainer(scenario: scenario, configuration: config).train()
/// ```
public final class TextToImageScenario: Scenario {
    public typealias Prompt = ShapesPrompt
    public typealias Output = RGBImage

    public let models: TinySana
    public let policy: SanaPolicy
    public let reward: any RewardFunction<RGBImage>
    public let experts: [AnyPolicyExpert]
    public let settings: TextToImageSettings
    private var conditions: [String: SanaCondition] = [:]

    public init(models: TinySana, reward: any RewardFunction<RGBImage>, settings: TextToImageSettings = TextToImageSettings()) {
        self.models = models
        self.reward = reward
        self.settings = settings
        models.transformer.gradientCheckpointing = settings.gradientCheckpointing
        let empty = withoutGrad { models.captionEncoder.unconditional(count: 1) }
        policy = SanaPolicy(transformer: models.transformer, settings: settings.policySettings,
                            unconditional: SanaCondition(embedding: empty.features.squeezed(0), mask: empty.mask.squeezed(0)))
        experts = [AnyPolicyExpert(policy)]
    }

    /// Training: `train_prompts` prompts of ShapesWorld's training split; test: `test_prompts`
    /// evenly spaced prompts of the bundled evaluation set (all six categories).
    public func prompts(_ split: DatasetSplit) throws -> [ShapesPrompt] { try settings.prompts(split) }

    public func promptKey(_ prompt: ShapesPrompt) -> String { prompt.caption }

    /// The caption's features (computed once, without a tape).
    public func condition(for caption: String) -> SanaCondition {
        if let cached = conditions[caption] { return cached }
        let encoded = withoutGrad { models.captionEncoder.encode([caption]) }
        let c = SanaCondition(embedding: encoded.features.squeezed(0), mask: encoded.mask.squeezed(0))
        conditions[caption] = c
        return c
    }

    public func rollout(_ prompts: [ShapesPrompt], group: Int, using rng: inout RandomState) throws -> [Trajectory<RGBImage>] {
        let conditions = prompts.flatMap { p in [SanaCondition](repeating: condition(for: p.caption), count: group) }
        let rollouts = try policy.sample(conditions, using: &rng)
        let images = models.decode(Tensor.stack(rollouts.map(\.sample), axis: 0))
        return rollouts.indices.map { i in
            Trajectory(promptIndex: i / group, output: images[i],
                       segments: [TrajectorySegment(expert: policy, rollout: rollouts[i], condition: conditions[i])])
        }
    }

    /// Evaluation images: one per caption, the Euler ODE with `steps` steps (default
    /// `evaluation_steps`) and the rollouts' guidance, from noise seeded by `seed`.
    public func generate(captions: [String], steps: Int? = nil, seed: UInt64) throws -> [RGBImage] {
        var rng = RandomState(seed: seed)
        let latents = try policy.generate(captions.map(condition(for:)), steps: steps ?? settings.evaluationSteps, using: &rng)
        return models.decode(latents)
    }
}
