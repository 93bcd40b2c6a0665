import Foundation
import UniRLCore
import UniRLExperts
import UniRLRewards
import UniRLShapesWorld
import UniRLTensor

/// Text-to-image GRPO on ShapesWorld with the tiny *unified* model (UniRL-Zero's image branch):
/// a caption goes into the LM's chat prompt, the t2i queries follow, the connector turns the LM's
/// states at the queries into the DiT's condition, and the DiT draws a group of latents through
/// Flow-GRPO's SDE sampler with classifier-free guidance (zero null condition); the DC-AE decodes
/// them to 32 × 32 images that the reward scores together with their prompt.
///
/// The LM and the DC-AE are frozen: the one expert, `dm` (``UnifiedImagePolicy``), holds the
/// connector with its queries and the DiT, and its replay recomputes the condition on the tape
/// so that the GRPO loss moves all three.
///
/// ```swift
/// let scenario = try UnifiedTextToImageScenario(generator: UnifiedImageGenerator(directory: folder),
///                                               reward: ShapesEvalReward(partialCredit: true))
/// try await GRPOTrainer(scenario: scenario, configuration: config).train()
/// let (report, images) = try scenario.evaluate(try scenario.prompts(.test), seed: 0)
/// ```
public final class UnifiedTextToImageScenario: Scenario {
    public typealias Prompt = ShapesPrompt
    public typealias Output = PromptedImage

    public let generator: UnifiedImageGenerator
    public let policy: UnifiedImagePolicy
    public let reward: any RewardFunction<PromptedImage>
    public let experts: [AnyPolicyExpert]
    public let settings: TextToImageSettings
    private var chatPrompts: [String: LanguagePrompt] = [:]

    public var model: UnifiedModel { generator.model }

    public init(generator: UnifiedImageGenerator, reward: any RewardFunction<PromptedImage>,
                settings: TextToImageSettings = TextToImageSettings()) {
        self.generator = generator
        self.reward = reward
        self.settings = settings
        generator.model.lm.freeze()
        generator.model.autoencoder?.freeze()
        generator.model.transformer.gradientCheckpointing = settings.gradientCheckpointing
        policy = UnifiedImagePolicy(model: generator.model, settings: settings.policySettings)
        experts = [AnyPolicyExpert(policy)]
    }

    /// Training: `train_prompts` prompts of ShapesWorld's training split (all six categories);
    /// test: `test_prompts` evenly spaced prompts of the 600 bundled evaluation prompts (all of them by default).
    public func prompts(_ split: DatasetSplit) throws -> [ShapesPrompt] { try settings.prompts(split) }

    public func promptKey(_ prompt: ShapesPrompt) -> String { prompt.caption }

    /// The caption's chat prompt (tokenised once).
    public func chatPrompt(_ caption: String) -> LanguagePrompt {
        if let cached = chatPrompts[caption] { return cached }
        let prompt = generator.prompt(caption: caption)
        chatPrompts[caption] = prompt
        return prompt
    }

    public func rollout(_ prompts: [ShapesPrompt], group: Int, using rng: inout RandomState) throws -> [Trajectory<PromptedImage>] {
        let conditions = prompts.flatMap { p in
            [UnifiedImageCondition](repeating: UnifiedImageCondition(prompt: chatPrompt(p.caption)), count: group)
        }
        let rollouts = try policy.sample(conditions, using: &rng)
        let images = try model.decode(Tensor.stack(rollouts.map(\.sample), axis: 0))
        return rollouts.indices.map { i in
            Trajectory(promptIndex: i / group, output: PromptedImage(prompt: prompts[i / group], image: images[i]),
                       segments: [TrajectorySegment(expert: policy, rollout: rollouts[i], condition: conditions[i])])
        }
    }

    /// What evaluation images are drawn with: `unirl generate`'s sampler (Euler ODE,
    /// `evaluation_steps` steps, the rollouts' guidance and shift), one image per prompt.
    public func generationSettings(seed: UInt64) -> UnifiedGenerationSettings {
        UnifiedGenerationSettings(steps: settings.evaluationSteps, guidanceScale: settings.guidanceScale, shift: settings.shift,
                                  samples: 1, seed: seed)
    }

    /// One image per prompt through ``UnifiedImageGenerator`` (the code path of `unirl generate`)
    /// scored by ShapesEval's strict rules (as `unirl shapes eval`).
    public func evaluate(_ prompts: [ShapesPrompt], seed: UInt64,
                         progress: (Int) -> Void = { _ in }) throws -> (report: ShapesEvalReport, images: [RGBImage]) {
        let images = try generator.generate(captions: prompts.map(\.caption), settings: generationSettings(seed: seed),
                                            progress: progress).map { $0[0] }
        return (ShapesEval().evaluate(prompts: prompts, images: images), images)
    }
}
