import Foundation
import UniRLCore
import UniRLExperts
import UniRLShapesWorld
import UniRLTensor

/// The settings of `unirl pretrain lm --stage vision`.
public struct TinyLMVisionStageSettings: Sendable, Equatable {
    /// Optimizer steps, batch size and peak learning rate (cosine decay, 10% warm-up).
    public var steps = 300
    public var batchSize = 32
    public var learningRate: Float = 3e-3
    /// The processor's `min_pixels`: 84² resizes a 32 × 32 render to 84 × 84, a 6 × 6 patch grid
    /// merged into 3 × 3 image tokens, one per ShapesWorld grid cell.
    public var minPixels = 84 * 84
    public var seed: UInt64 = 0

    public init() {}
}

/// The second cold-start stage of the tiny LM, LLaVA's recipe (Liu et al., "Visual Instruction
/// Tuning", stage 1): the decoder and the embeddings stay frozen and only the vision tower and
/// its patch merger learn, by ``SupervisedFineTuning``'s masked next-token loss on training-split
/// ShapesWorld VQA (count, colour-of, position-of, existence) in ``TinyLMFormat``. The text path
/// of the model is untouched: a text-only prompt gives bit-identical hidden states before and after.
public struct TinyLMVisionStage {
    public var settings: TinyLMVisionStageSettings

    public init(settings: TinyLMVisionStageSettings) { self.settings = settings }

    /// `lm` with the stage's image processor (same model object).
    public func prepared(_ lm: TinyLM) -> TinyLM {
        var processor = lm.imageProcessor
        processor.minPixels = settings.minPixels
        return TinyLM(model: lm.model, tokenizer: lm.tokenizer, imageProcessor: processor)
    }

    /// Trains the vision tower of `lm` (its model is changed in place) and returns the model with
    /// the stage's processor and the losses; `progress` gets (step, total, loss) after every step.
    public func train(_ lm: TinyLM, progress: (Int, Int, Float) -> Void = { _, _, _ in }) throws -> (lm: TinyLM, losses: [Float]) {
        let lm = prepared(lm)
        var rng = RandomState(seed: settings.seed)
        let generator = TinyLMTaskGenerator()
        lm.model.freeze()
        lm.model.visual.freeze(false)
        defer { lm.model.freeze(false) }
        let sft = SupervisedFineTuning(model: lm.model, padID: lm.tokenizer.endOfTextID)
        let parameters = lm.model.trainableParameters()
        let optimizer = AdamW(parameters: parameters, learningRate: settings.learningRate, weightDecay: 0.01)
        let total = settings.steps
        let schedule = LearningRateSchedule.cosine(warmupSteps: Swift.max(1, total / 10), totalSteps: total, minimumRatio: 0.05)
        var losses: [Float] = []
        for step in 0..<total {
            let examples = try (0..<settings.batchSize).map { _ in
                try TinyLMPretraining.example(generator.task(.vqa, split: .train, using: &rng), lm: lm)
            }
            lm.model.zeroGrad()
            guard let loss = try sft.loss(examples) else { continue }
            loss.backward()
            clipGradientNorm(parameters.map(\.parameter), maxNorm: 1)
            optimizer.learningRate = schedule.rate(base: settings.learningRate, step: step)
            optimizer.step()
            losses.append(loss.item)
            progress(step + 1, total, loss.item)
        }
        lm.model.zeroGrad()
        return (lm, losses)
    }

    /// The final-norm hidden states [1, T, C] of a text-only prompt (no image): what the
    /// connector of the unified model reads, and what this stage must leave bit-identical.
    public static func textHiddenStates(_ lm: TinyLM, prompt: String) throws -> [Float] {
        let ids = lm.tokenizer.encode(conversation: [ChatMessage(role: .user, prompt)], addGenerationPrompt: true)
        let batch = TokenBatch(leftPadding: [ids], padID: lm.tokenizer.endOfTextID)
        return try withoutGrad {
            try lm.model.model(
                embeddings: lm.model.inputEmbeddings(for: batch), positions: lm.model.positionIDs(for: batch),
                attentionMask: batch.maskTensor, cache: nil
            ).scalars
        }
    }

    /// The names of parameters outside the vision tower whose values differ between `a` and `b`
    /// (empty when the text path is bit-identical).
    public static func changedTextParameters(_ a: TinyLM, _ b: TinyLM) -> [String] {
        let right = b.model.stateDict()
        return a.model.stateDict().filter { !$0.key.hasPrefix("visual.") }
            .filter { name, value in right[name].map { $0.shape != value.shape || $0.scalars != value.scalars } ?? true }
            .map(\.key).sorted()
    }
}
