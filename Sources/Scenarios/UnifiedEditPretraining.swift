import Foundation
import UniRLCore
import UniRLExperts
import UniRLShapesWorld
import UniRLTensor

/// The settings of `unirl pretrain unified --stage edit`.
public struct UnifiedEditPretrainingSettings: Sendable, Equatable {
    /// Optimizer steps and batch size.
    public var steps = 250
    public var batchSize = 32
    /// Peak learning rate (linear warm-up, cosine decay to 5 %) of the queries, the connector and the DiT.
    public var learningRate: Float = 1e-3
    /// The share of rows whose text condition is dropped, whose reference is dropped, and whose
    /// both are dropped (each; the official `mask_drop_joint` uses 0.05).
    public var conditionDropout: Float = 0.05
    public var seed: UInt64 = 0

    public init() {}
}

/// The edit cold start of the tiny unified model (the official edit SFT of G-U-N/UniRL
/// unimodel/blip3o/model/language_model/blip3o_qwen.py, at this scale): starting from the
/// text-to-image model with the editing parts added (``UnifiedEditModel/addingEditParts(to:seed:)``),
/// the i2i queries, the connector and the DiT — its reference path included — learn flow matching
/// on ShapesWorld editing quadruples of the training split, read in both directions; the LM and
/// the DC-AE stay frozen.
///
///     prompt = chat(user: [source image] + instruction)        the source through the vision tower
///     c = connector(LM([prompt ; i2i queries])[-N:])
///     ref = 0.8·E(source) + 0.2·z                              the reference path's input
///     t = sigmoid(n), x_t = (1 − t)·E(target) + t·ε;  L = ‖DiT(x_t, t, c, ref) − (ε − E(target))‖²
///
/// Conditions are dropped as the official `mask_drop_joint` does: 5 % of rows lose the text
/// (c = 0), 5 % the reference (ref = 0), 5 % both — what triple guidance needs.
///
/// ```swift
/// let pretraining = UnifiedEditPretraining(settings: .init())
/// let generator = try pretraining.initialModel()           // bundled t2i model + editing parts
/// try pretraining.train(generator) { print($0.step, $0.loss) }
/// try UnifiedEditModel.save(generator, to: folder)
/// ```
public struct UnifiedEditPretraining {
    public var settings: UnifiedEditPretrainingSettings

    public init(settings: UnifiedEditPretrainingSettings) {
        self.settings = settings
    }

    /// The starting point: the unified model in `base` (default: the bundled tiny unified model)
    /// with the editing parts added. A `base` with only `connector/` and `dm/` (an edit folder, e.g.
    /// an earlier run of this stage) takes the LM and DC-AE of the bundled tiny unified model.
    public func initialModel(base: URL? = nil) throws -> UnifiedImageGenerator {
        guard let base = base ?? BundledUnifiedModel.directory else { throw TinyModelError.unifiedNotBundled }
        let hasLM = FileManager.default.fileExists(atPath: base.appendingPathComponent("lm/config.json").path)
        let generator = hasLM ? try UnifiedImageGenerator(directory: base) : try UnifiedEditModel.load(from: base)
        return try UnifiedEditModel.addingEditParts(to: generator, seed: settings.seed)
    }

    /// Trains `generator.model` in place; `progress` after each step. Returns the losses.
    @discardableResult
    public func train(_ generator: UnifiedImageGenerator, progress: (PretrainingProgress) -> Void) throws -> [Float] {
        let model = generator.model
        let autoencoder = try model.requireAutoencoder()
        guard model.transformer.hasReferencePath, model.connector.queryParameter(.i2i) != nil else {
            throw UnifiedModelError.invalidRequest("the edit cold start needs i2i queries and the DiT's reference path")
        }
        model.lm.freeze()
        autoencoder.freeze()
        // The t2i queries are not used by editing: leave them out of the optimizer.
        let connectorParameters = model.connector.trainableParameters().filter { $0.name != MetaQuerySet.t2i.parameterName }
        var rng = RandomState(seed: settings.seed &+ 1)
        let total = settings.steps, batchSize = settings.batchSize, drop = settings.conditionDropout
        let tuning = SanaFineTuning(
            transformer: model.transformer, extraParameters: connectorParameters, learningRate: settings.learningRate,
            schedule: .cosine(warmupSteps: Swift.min(100, total / 10), totalSteps: total, minimumRatio: 0.05))
        var failure: (any Error)?
        let losses = tuning.train(steps: total, using: &rng, makeBatch: { _, rng in
            do {
                return try batch(generator, size: batchSize, dropout: drop, using: &rng)
            } catch {
                failure = error
                let shape = [batchSize, model.transformer.configuration.inChannels, model.transformer.configuration.sampleSize,
                             model.transformer.configuration.sampleSize]
                let empty = Tensor.zeros([batchSize, 1, model.connector.configuration.outputSize])
                return FlowMatchingBatch(latents: .zeros(shape), encoderHiddenStates: empty)
            }
        }, progress: { step, loss in
            progress(PretrainingProgress(phase: "edit", step: step, total: total, loss: loss))
        })
        if let failure { throw failure }
        return losses
    }

    /// One batch of training-split quadruples, each read forwards or backwards with equal odds.
    func batch(_ generator: UnifiedImageGenerator, size: Int, dropout: Float, using rng: inout RandomState) throws
        -> FlowMatchingBatch
    {
        let model = generator.model
        let examples = (0..<size).map { _ in
            let e = EditExamples.next(split: .train, using: &rng)
            return rng.nextUniform() < 0.5 ? e : e.reversed
        }
        let sources = try model.encode(examples.map(\.source))
        let targets = try model.encode(examples.map(\.target))
        let references = sources * 0.8 + Tensor.randomNormal(sources.shape, using: &rng) * 0.2
        // Official mask_drop_joint: [0, p) text, [p, 2p) reference, [2p, 3p) both.
        var keepText: [Float] = [], keepReference: [Float] = []
        for _ in 0..<size {
            let r = rng.nextUniform()
            keepText.append(r < dropout || (r >= 2 * dropout && r < 3 * dropout) ? 0 : 1)
            keepReference.append(r >= dropout && r < 3 * dropout ? 0 : 1)
        }
        let prompts = try examples.map { try generator.editPrompt(instruction: $0.sample.instruction, source: $0.source) }
        let condition = try model.condition(for: prompts, querySet: .i2i)
        return FlowMatchingBatch(
            latents: targets, encoderHiddenStates: condition * Tensor(shape: [size, 1, 1], scalars: keepText),
            referenceLatents: references * Tensor(shape: [size, 1, 1, 1], scalars: keepReference))
    }
}
