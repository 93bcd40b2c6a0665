import Foundation
import UniRLCore
import UniRLExperts
import UniRLShapesWorld
import UniRLTensor

/// The settings of `unirl pretrain cot`.
public struct ChainOfThoughtPretrainingSettings: Sendable, Equatable {
    /// Steps, batch size and peak learning rate of the LM phase (cosine decay).
    public var lmSteps = 120
    public var lmBatchSize = 32
    public var lmLearningRate: Float = 1e-3
    /// Share of the LM phase's examples that are chain-of-thought replies; the rest are the tiny
    /// LM's text tasks (arithmetic, word problems), so its arithmetic is kept in practice.
    public var cotShare = 0.7
    /// Steps, batch size and peak learning rate of the alignment phase (queries, connector, DiT).
    public var alignmentSteps = 150
    public var alignmentBatchSize = 32
    public var alignmentLearningRate: Float = 5e-4
    /// Share of alignment examples that are direct captions (the t2i instruction, no reply), so
    /// that plain text-to-image keeps working.
    public var directShare = 0.25
    /// Share of conditions replaced by the zero null condition (classifier-free guidance training).
    public var conditionDropout: Float = 0.1
    public var seed: UInt64 = 0

    public init() {}
}

/// The chain-of-thought SFT cold start of the tiny unified model (the paper's cold start before
/// CoT RL), by our own command. It reuses the two cold starts of the bundled model:
///
/// 1. **LM** — ``TinyLMPretraining``'s supervised examples (``TinyLMPretraining/example(_:lm:)``,
///    ``SupervisedFineTuning``'s masked next-token loss) on training-side indirect prompts written
///    as the t2i instruction, the reply being `<think>reasoning</think><answer>resolved caption</answer>`,
///    mixed with the tiny LM's text tasks;
/// 2. **alignment** — ``UnifiedPretraining``'s phase (``SanaFineTuning``: flow matching with
///    logit-normal t, dropped conditions) of queries + connector + DiT with the LM and the DC-AE
///    frozen, the condition being the connector over [prompt ; reference reply ; queries] and the
///    target a render of a scene that satisfies the resolved prompt.
///
/// Both start from the bundled tiny unified model; only training-side prompts are seen.
public struct ChainOfThoughtPretraining {
    public var settings: ChainOfThoughtPretrainingSettings

    public init(settings: ChainOfThoughtPretrainingSettings) { self.settings = settings }

    /// The starting point: the tiny LM of `lmFolder` (its tokenizer and processor) inside the
    /// unified model of `unifiedFolder` (defaults: the bundled ones).
    public func initialModel(lmFolder: URL? = nil, unifiedFolder: URL? = nil) throws -> (generator: UnifiedImageGenerator, lm: TinyLM) {
        let lm = try TinyLM.load(from: lmFolder)
        guard let folder = unifiedFolder ?? BundledUnifiedModel.directory else { throw TinyModelError.unifiedNotBundled }
        let base = try UnifiedModel.load(from: folder)
        let model = try UnifiedModel(lm: lm.model, connector: base.connector, transformer: base.transformer,
                                     autoencoder: base.autoencoder)
        model.padID = lm.tokenizer.endOfTextID
        return (UnifiedImageGenerator(model: model, tokenizer: lm.tokenizer), lm)
    }

    /// Phase 1: the LM learns to reason its way to the resolved caption. Returns the losses.
    @discardableResult
    public func trainLanguage(_ lm: TinyLM, progress: (PretrainingProgress) -> Void) throws -> [Float] {
        var rng = RandomState(seed: settings.seed &+ 11)
        let sft = SupervisedFineTuning(model: lm.model, padID: lm.tokenizer.endOfTextID)
        let parameters = lm.model.trainableParameters()
        let optimizer = AdamW(parameters: parameters, learningRate: settings.lmLearningRate, weightDecay: 0.01)
        let total = settings.lmSteps
        let schedule = LearningRateSchedule.cosine(warmupSteps: Swift.min(20, total / 10), totalSteps: total, minimumRatio: 0.05)
        let tasks = TinyLMTaskGenerator()
        var losses: [Float] = []
        for step in 0..<total {
            let examples = try (0..<settings.lmBatchSize).map { _ in
                let task = Double(rng.nextUniform()) < settings.cotShare
                    ? ChainOfThoughtPrompts.task(ChainOfThoughtPrompts.trainingSample(using: &rng))
                    : tasks.task(.text, split: .train, using: &rng)
                return try TinyLMPretraining.example(task, lm: lm)
            }
            lm.model.zeroGrad()
            guard let loss = try sft.loss(examples) else { continue }
            loss.backward()
            clipGradientNorm(parameters.map(\.parameter), maxNorm: 1)
            optimizer.learningRate = schedule.rate(base: settings.lmLearningRate, step: step)
            optimizer.step()
            losses.append(loss.item)
            progress(PretrainingProgress(phase: "lm", step: step + 1, total: total, loss: loss.item))
        }
        lm.model.zeroGrad()
        return losses
    }

    /// Phase 2: queries, connector and DiT learn to draw the resolved scene from the LM's states
    /// over the prompt and its reference reply (the LM and the DC-AE frozen). Returns the losses.
    @discardableResult
    public func trainAlignment(_ generator: UnifiedImageGenerator, progress: (PretrainingProgress) -> Void) throws -> [Float] {
        let model = generator.model, tokenizer = generator.tokenizer
        let autoencoder = try model.requireAutoencoder()
        model.lm.freeze()
        autoencoder.freeze()
        defer { model.lm.freeze(false) }
        var rng = RandomState(seed: settings.seed &+ 12)
        let total = settings.alignmentSteps, batchSize = settings.alignmentBatchSize
        let tuning = SanaFineTuning(
            transformer: model.transformer, extraParameters: model.connector.trainableParameters(),
            learningRate: settings.alignmentLearningRate,
            schedule: .cosine(warmupSteps: Swift.min(20, total / 10), totalSteps: total, minimumRatio: 0.05))
        let renderer = SceneRenderer(size: 32), direct = PromptGenerator()
        let scale = Float(autoencoder.configuration.scalingFactor)
        var failure: (any Error)?
        let losses = tuning.train(steps: total, using: &rng, makeBatch: { _, rng in
            var images: [Tensor] = [], prompts: [LanguagePrompt] = []
            for _ in 0..<batchSize {
                if Double(rng.nextUniform()) < settings.directShare {
                    let p = direct.prompt(split: .train, using: &rng)
                    images.append(renderer.render(p.scene).tensor())
                    prompts.append(generator.prompt(caption: p.prompt.caption))
                } else {
                    let p = ChainOfThoughtPrompts.trainingSample(using: &rng)
                    images.append(renderer.render(p.scene).tensor())
                    prompts.append(ChainOfThoughtPrompts.conditionPrompt(
                        p, reply: ChainOfThoughtPrompts.referenceReply(p, tokenizer: tokenizer), tokenizer: tokenizer))
                }
            }
            let latents = withoutGrad { autoencoder.encode(Tensor.stack(images, axis: 0)) } * scale
            let keep = prompts.map { _ in rng.nextUniform() < settings.conditionDropout ? Float(0) : 1 }
            let condition: Tensor
            do { condition = try model.condition(for: prompts, querySet: .t2i) } catch {
                failure = error
                condition = .zeros([batchSize, model.connector.configuration.numQueries ?? 1, model.connector.configuration.outputSize])
            }
            return FlowMatchingBatch(latents: latents, encoderHiddenStates: condition * Tensor(shape: [batchSize, 1, 1], scalars: keep))
        }, progress: { step, loss in
            progress(PretrainingProgress(phase: "alignment", step: step, total: total, loss: loss))
        })
        if let failure { throw failure }
        return losses
    }
}
