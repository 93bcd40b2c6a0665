import Foundation
import UniRLCore
import UniRLExperts
import UniRLShapesWorld
import UniRLTensor

/// The settings of `unirl pretrain sana`.
public struct TinySanaPretrainingSettings: Sendable, Equatable {
    /// Optimizer steps, batch size and learning rate of the autoencoder phase.
    public var autoencoderSteps = 2000
    public var autoencoderBatchSize = 32
    public var autoencoderLearningRate: Float = 2e-3
    /// Optimizer steps, batch size and learning rate of the transformer + caption encoder phase.
    public var transformerSteps = 6000
    public var transformerBatchSize = 32
    public var transformerLearningRate: Float = 1e-3
    /// The share of captions replaced by the null embedding (classifier-free guidance training).
    public var conditionDropout: Float = 0.1
    public var seed: UInt64 = 0

    public init() {}
}

/// What one pretraining phase reports after each step.
public struct PretrainingProgress: Sendable {
    public var phase: String
    public var step: Int
    public var total: Int
    public var loss: Float
}

/// Pretraining of the tiny SANA (``TinySana``) on ShapesWorld — the paper's "cold start", made by
/// our own command:
///
/// 1. the DC-AE learns to reconstruct 32 × 32 renders of training-split scenes,
///    L = mean (D(E(x)) − x)² on pixels in [−1, 1]; its `scaling_factor` is then set to
///    1 / std of the latents, so the transformer sees unit-variance latents (as SANA's 0.41407);
/// 2. the transformer and the caption encoder learn flow matching on those latents conditioned on
///    the scenes' captions (``SanaFineTuning``: logit-normal t, v = ε − x_0), with a share of
///    captions replaced by the null embedding so that guidance works.
///
/// ```swift
/// let models = try TinySanaPretraining(settings: .init()).run { print($0.phase, $0.step, $0.loss) }
/// try models.save(to: folder)
/// ```
public struct TinySanaPretraining {
    public var settings: TinySanaPretrainingSettings

    public init(settings: TinySanaPretrainingSettings) {
        self.settings = settings
    }

    /// A batch of training-split prompts with their scenes rendered at 32 × 32: images
    /// [B, 3, 32, 32] in [−1, 1] and the captions.
    public static func shapesBatch(count: Int, using rng: inout RandomState) -> (images: Tensor, captions: [String]) {
        let generator = PromptGenerator(), renderer = SceneRenderer(size: TinySana.imageSize)
        let prompts = (0..<count).map { _ in generator.prompt(split: .train, using: &rng) }
        return (Tensor.stack(prompts.map { renderer.render($0.scene).tensor() }, axis: 0), prompts.map(\.prompt.caption))
    }

    /// Every word ShapesWorld captions use: those of 4,000 drawn prompts per split and of the
    /// bundled evaluation set.
    public static func vocabulary() -> [String] {
        var rng = RandomState(seed: 11)
        var captions: [String] = []
        for split in PromptSplit.allCases {
            for _ in 0..<4000 { captions.append(PromptGenerator().prompt(split: split, using: &rng).prompt.caption) }
        }
        captions += PromptGenerator.evaluationSet().map(\.caption)
        return CaptionEncoderConfiguration.vocabulary(from: captions)
    }

    /// Both phases; `progress` is called after every step.
    public func run(progress: (PretrainingProgress) -> Void = { _ in }) throws -> TinySana {
        var rng = RandomState(seed: settings.seed)
        let autoencoder = try trainAutoencoder(using: &rng, progress: progress)
        return try trainTransformer(autoencoder: autoencoder, using: &rng, progress: progress)
    }

    /// Phase 1: the autoencoder, then its latent scale.
    public func trainAutoencoder(using rng: inout RandomState, progress: (PretrainingProgress) -> Void) throws -> AutoencoderDC {
        var configuration = TinySana.autoencoderConfiguration
        let autoencoder = try AutoencoderDC(configuration: configuration, rng: &rng)
        let parameters = autoencoder.trainableParameters()
        let optimizer = AdamW(parameters: parameters, learningRate: settings.autoencoderLearningRate, weightDecay: 0)
        let total = settings.autoencoderSteps
        let schedule = LearningRateSchedule.cosine(warmupSteps: Swift.min(100, total / 10), totalSteps: total, minimumRatio: 0.05)
        for step in 0..<total {
            let (images, _) = Self.shapesBatch(count: settings.autoencoderBatchSize, using: &rng)
            autoencoder.zeroGrad()
            let loss = (autoencoder.decode(autoencoder.encode(images)) - images).square().mean()
            loss.backward()
            clipGradientNorm(parameters.map(\.parameter), maxNorm: 1)
            optimizer.learningRate = schedule.rate(base: settings.autoencoderLearningRate, step: step)
            optimizer.step()
            progress(PretrainingProgress(phase: "autoencoder", step: step + 1, total: total, loss: loss.item))
        }
        autoencoder.zeroGrad()
        // scaling_factor = 1 / std of the latents of 256 fresh renders.
        let (images, _) = Self.shapesBatch(count: 256, using: &rng)
        let latents = withoutGrad { autoencoder.encode(images) }.scalars
        let mean = latents.reduce(0, +) / Float(latents.count)
        let std = (latents.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(latents.count)).squareRoot()
        configuration.scalingFactor = Double(1 / Swift.max(std, 1e-6))
        let scaled = try AutoencoderDC(configuration: configuration, rng: &rng)
        try scaled.load(from: autoencoder.stateDict(), strict: true)
        return scaled
    }

    /// Phase 2: the transformer and caption encoder by flow matching on the autoencoder's latents.
    public func trainTransformer(autoencoder: AutoencoderDC, using rng: inout RandomState,
                                 progress: (PretrainingProgress) -> Void) throws -> TinySana {
        let transformer = try SanaTransformer(configuration: TinySana.transformerConfiguration, rng: &rng)
        let captionConfiguration = TinySana.captionEncoderConfiguration(vocabulary: Self.vocabulary())
        let captionEncoder = try CaptionEncoder(configuration: captionConfiguration, rng: &rng)
        autoencoder.freeze()
        let total = settings.transformerSteps
        let tuning = SanaFineTuning(transformer: transformer, extraParameters: captionEncoder.trainableParameters(),
                                    learningRate: settings.transformerLearningRate,
                                    schedule: .cosine(warmupSteps: Swift.min(200, total / 10), totalSteps: total, minimumRatio: 0.05))
        let scale = Float(autoencoder.configuration.scalingFactor), dropout = settings.conditionDropout
        let batchSize = settings.transformerBatchSize
        tuning.train(steps: total, using: &rng, makeBatch: { _, rng in
            let (images, captions) = Self.shapesBatch(count: batchSize, using: &rng)
            let latents = withoutGrad { autoencoder.encode(images) } * scale
            let dropped = captions.map { _ in rng.nextUniform() < dropout }
            let encoded = captionEncoder.encode(captions), empty = captionEncoder.unconditional(count: batchSize)
            // Row i from the captions, or from the null embedding when dropped.
            let rows = dropped.enumerated().map { $0.element ? batchSize + $0.offset : $0.offset }
            let features = Tensor.concatenate([encoded.features, empty.features], axis: 0).indexSelect(axis: 0, rows)
            let mask = Tensor.concatenate([encoded.mask, empty.mask], axis: 0).indexSelect(axis: 0, rows)
            return FlowMatchingBatch(latents: latents, encoderHiddenStates: features, encoderAttentionMask: mask)
        }, progress: { step, loss in
            progress(PretrainingProgress(phase: "transformer", step: step, total: total, loss: loss))
        })
        return TinySana(transformer: transformer, autoencoder: autoencoder, captionEncoder: captionEncoder)
    }
}
