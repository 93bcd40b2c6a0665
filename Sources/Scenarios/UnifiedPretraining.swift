import Foundation
import UniRLCore
import UniRLExperts
import UniRLShapesWorld
import UniRLTensor

/// The settings of `unirl pretrain unified`.
public struct UnifiedPretrainingSettings: Sendable, Equatable {
    /// Optimizer steps and batch size of the alignment phase.
    public var steps = 250
    public var batchSize = 32
    /// Peak learning rate (linear warm-up, cosine decay) of the queries, the connector and the DiT.
    public var learningRate: Float = 1e-3
    /// The share of conditions replaced by the zero null condition (classifier-free guidance training).
    public var conditionDropout: Float = 0.1
    /// N, the t2i meta-queries appended after the prompt.
    public var numQueries = 8
    /// Blocks of the connector.
    public var connectorLayers = 2
    public var seed: UInt64 = 0

    public init() {}
}

/// The alignment SFT of the tiny unified model (docs/ARCHITECTURE.md, "The unified model", training phases; the
/// official "stage 1" of G-U-N/UniRL unimodel/blip3o/train/train_joint.py): the bundled tiny LM
/// and the tiny SANA's DC-AE stay frozen; the t2i meta-queries, a new connector and the DiT
/// (started from the bundled tiny SANA transformer) learn flow matching on 32 × 32 ShapesWorld
/// renders conditioned on their captions, written as the LM's chat prompt
/// ("Please generate image based on the following caption: …"):
///
///     c = connector(LM([prompt ; queries])[-N:])        zeros for a dropped condition (the null condition)
///     t = sigmoid(n), n ~ N(0, 1);  x_t = (1 − t)·x_0 + t·ε;  L = ‖DiT(x_t, t, c) − (ε − x_0)‖²
///
/// ```swift
/// let model = try UnifiedPretraining(settings: .init()).run { print($0.step, $0.loss) }
/// try UnifiedPretraining.save(model, lmFolder: lm, to: folder)
/// ```
public struct UnifiedPretraining {
    public var settings: UnifiedPretrainingSettings

    public init(settings: UnifiedPretrainingSettings) {
        self.settings = settings
    }

    /// The connector of the tiny unified model: from the LM's width to the DiT's caption channels.
    public func connectorConfiguration(lmWidth: Int, captionChannels: Int) -> MetaQueryConnectorConfiguration {
        MetaQueryConnectorConfiguration(hiddenSize: lmWidth, numHiddenLayers: settings.connectorLayers, numAttentionHeads: 4,
                                        outputSize: captionChannels, rmsNormEps: 1e-6, numQueries: settings.numQueries)
    }

    /// The starting point: the bundled tiny LM (`lmFolder`, default the bundled one), a fresh
    /// connector with t2i queries, the tiny SANA's transformer and DC-AE (`sanaFolder`, default bundled).
    public func initialModel(lmFolder: URL? = nil, sanaFolder: URL? = nil) throws -> UnifiedImageGenerator {
        let lm = try TinyLM.load(from: lmFolder)
        let sana = try TinySana.load(from: sanaFolder)
        var rng = RandomState(seed: settings.seed)
        let connector = try MetaQueryConnector(
            configuration: connectorConfiguration(lmWidth: lm.model.configuration.text.hiddenSize,
                                                  captionChannels: sana.transformer.configuration.captionChannels),
            querySets: [.t2i], rng: &rng)
        let model = try UnifiedModel(lm: lm.model, connector: connector, transformer: sana.transformer,
                                     autoencoder: sana.autoencoder)
        model.padID = lm.tokenizer.endOfTextID
        return UnifiedImageGenerator(model: model, tokenizer: lm.tokenizer)
    }

    /// A continuation: the connector (with its queries), the DiT and the DC-AE of the unified model
    /// folder `folder` (e.g. the bundled one), on the LM of `lmFolder` (default: the folder's own
    /// LM) — to align longer, or to re-align onto a retrained LM.
    public func continuedModel(from folder: URL, lmFolder: URL? = nil) throws -> UnifiedImageGenerator {
        let previous = try UnifiedImageGenerator(directory: folder)
        guard let lmFolder else { return previous }
        let lm = try TinyLM.load(from: lmFolder)
        let model = try UnifiedModel(lm: lm.model, connector: previous.model.connector, transformer: previous.model.transformer,
                                     autoencoder: previous.model.autoencoder)
        model.padID = lm.tokenizer.endOfTextID
        return UnifiedImageGenerator(model: model, tokenizer: lm.tokenizer)
    }

    /// Trains `generator.model` in place; `progress` after each step. Returns the losses.
    @discardableResult
    public func train(_ generator: UnifiedImageGenerator, progress: (PretrainingProgress) -> Void) throws -> [Float] {
        let model = generator.model
        let autoencoder = try model.requireAutoencoder()
        model.lm.freeze()
        autoencoder.freeze()
        var rng = RandomState(seed: settings.seed &+ 1)
        let total = settings.steps, batchSize = settings.batchSize, dropout = settings.conditionDropout
        let tuning = SanaFineTuning(
            transformer: model.transformer, extraParameters: model.connector.trainableParameters(),
            learningRate: settings.learningRate,
            schedule: .cosine(warmupSteps: Swift.min(100, total / 10), totalSteps: total, minimumRatio: 0.05))
        let scale = Float(autoencoder.configuration.scalingFactor)
        var failure: (any Error)?
        let losses = tuning.train(steps: total, using: &rng, makeBatch: { _, rng in
            let (images, captions) = TinySanaPretraining.shapesBatch(count: batchSize, using: &rng)
            let latents = withoutGrad { autoencoder.encode(images) } * scale
            let keep = captions.map { _ in rng.nextUniform() < dropout ? Float(0) : 1 }
            let condition: Tensor
            do {
                condition = try model.condition(for: captions.map { generator.prompt(caption: $0) }, querySet: .t2i)
            } catch {
                failure = error
                condition = .zeros([batchSize, settings.numQueries, model.connector.configuration.outputSize])
            }
            let states = condition * Tensor(shape: [batchSize, 1, 1], scalars: keep)
            return FlowMatchingBatch(latents: latents, encoderHiddenStates: states)
        }, progress: { step, loss in
            progress(PretrainingProgress(phase: "alignment", step: step, total: total, loss: loss))
        })
        if let failure { throw failure }
        return losses
    }

    /// Writes the whole model folder: `lm/` copied file by file from `lmFolder` (weights,
    /// tokenizer and processor files as shipped), `connector/`, `dm/` and `vae/` in F16.
    public static func save(_ generator: UnifiedImageGenerator, lmFolder: URL, to folder: URL) throws {
        let fm = FileManager.default
        let staging = folder.appendingPathComponent(".staging-\(ProcessInfo.processInfo.processIdentifier)")
        try? fm.removeItem(at: staging)
        try generator.model.save(to: staging, dtype: .F16)
        let lm = staging.appendingPathComponent("lm")
        try? fm.removeItem(at: lm)
        try fm.createDirectory(at: lm, withIntermediateDirectories: true)
        for name in try fm.contentsOfDirectory(atPath: lmFolder.path) where !name.hasPrefix(".") {
            try fm.copyItem(at: lmFolder.appendingPathComponent(name), to: lm.appendingPathComponent(name))
        }
        try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        for part in ["lm", "connector", "dm", "vae"] {
            let target = folder.appendingPathComponent(part)
            try? fm.removeItem(at: target)
            try fm.moveItem(at: staging.appendingPathComponent(part), to: target)
        }
        try fm.removeItem(at: staging)
    }
}
