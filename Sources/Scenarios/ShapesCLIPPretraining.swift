import Foundation
import UniRLCore
import UniRLExperts
import UniRLShapesWorld
import UniRLTensor

/// The settings of `unirl pretrain clip`.
public struct ShapesCLIPPretrainingSettings: Sendable, Equatable {
    public var steps = 1500
    /// Image–caption pairs per step (captions distinct within a batch, so no false negatives).
    public var batchSize = 128
    public var learningRate: Float = 2e-3
    public var warmupSteps = 100
    public var weightDecay: Float = 0.05
    /// The share of pairs that are ShapesWorld prompts with their scenes instead of full descriptions.
    public var promptShare: Float = 0.25
    public var seed: UInt64 = 0

    public init() {}
}

/// Contrastive pretraining of ``ShapesCLIP``: each step draws training-split pairs (a render and its
/// caption), and minimises CLIP's symmetric InfoNCE loss,
/// L = ½ [CE(logits_per_text, diag) + CE(logits_per_image, diag)] with a learned temperature
/// (`logit_scale`, capped at ln 100 as OpenAI's training does). AdamW with warm-up and cosine decay.
public struct ShapesCLIPPretraining {
    public var settings: ShapesCLIPPretrainingSettings

    public init(settings: ShapesCLIPPretrainingSettings) { self.settings = settings }

    /// A batch of `count` training pairs with distinct captions: images and captions.
    func batch(count: Int, using rng: inout RandomState) -> (images: [RGBImage], captions: [String]) {
        let renderer = SceneRenderer(size: ShapesCLIP.imageSize)
        var images: [RGBImage] = [], captions: [String] = [], seen = Set<String>()
        while captions.count < count {
            let (scene, caption): (Scene, String)
            if rng.nextUniform() < settings.promptShare {
                let p = PromptGenerator().prompt(split: .train, using: &rng)
                (scene, caption) = (p.scene, p.prompt.caption)
            } else {
                (scene, caption) = ShapesCLIP.pair(split: .train, using: &rng)
            }
            guard seen.insert(caption).inserted else { continue }
            images.append(renderer.render(scene)); captions.append(caption)
        }
        return (images, captions)
    }

    /// Learns the tokenizer, then trains; `progress` is called after every step.
    public func run(progress: (PretrainingProgress) -> Void = { _ in }) throws -> CLIPEmbedder {
        var rng = RandomState(seed: settings.seed)
        let tokenizer = try CLIPTokenizer.train(on: ShapesCLIP.tokenizerCorpus(), maxLength: 32)
        let config = ShapesCLIP.configuration(vocabularySize: tokenizer.vocabularySize, eosTokenID: tokenizer.eosID)
        let model = CLIPModel(config, rng: &rng)
        initialize(model, using: &rng)
        let clip = CLIPEmbedder(model: model, tokenizer: tokenizer)
        // Weight decay on matrices only (not on biases, norms, the class token or the temperature).
        let params = model.trainableParameters()
        let decayed = AdamW(
            parameters: params.filter { $0.parameter.value.rank >= 2 }, learningRate: settings.learningRate,
            weightDecay: settings.weightDecay)
        let plain = AdamW(
            parameters: params.filter { $0.parameter.value.rank < 2 }, learningRate: settings.learningRate,
            weightDecay: 0)
        let schedule = LearningRateSchedule.cosine(warmupSteps: settings.warmupSteps, totalSteps: settings.steps, minimumRatio: 0.05)
        for step in 1...max(settings.steps, 1) where settings.steps > 0 {
            let (images, captions) = batch(count: settings.batchSize, using: &rng)
            let tokens = tokenizer(captions, padToLongest: true)
            let mask = Tensor(shape: [captions.count, tokens.length], scalars: tokens.attentionMask.map(Float.init))
            let pixels = try clip.processor(images)
            let rate = schedule.rate(base: settings.learningRate, step: step - 1)
            decayed.learningRate = rate; plain.learningRate = rate
            model.zeroGrad()
            let out = try model(tokens.ids, batch: captions.count, attentionMask: mask, pixels: pixels)
            let targets = Array(0..<captions.count)
            let loss = (out.logitsPerText.crossEntropy(targets: targets) + out.logitsPerImage.crossEntropy(targets: targets)) * 0.5
            loss.backward()
            decayed.step(); plain.step()
            // OpenAI clamps the temperature so logits stay ≤ 100.
            let scale = model.logitScale.value.item
            if scale > Foundation.log(100) { model.logitScale.assign(Tensor(shape: [], scalars: [Float(Foundation.log(100.0))])) }
            progress(PretrainingProgress(phase: "clip", step: step, total: settings.steps, loss: loss.item))
        }
        return clip
    }

    /// transformers' CLIP initialisation, scaled as its `_init_weights` does: embeddings N(0, 0.02),
    /// attention and MLP weights N(0, d^-0.5 / √(2·layers)) and N(0, d^-0.5), projections N(0, d^-0.5),
    /// biases 0, norms 1.
    func initialize(_ model: CLIPModel, using rng: inout RandomState) {
        for (name, p) in model.namedParameters() {
            let shape = p.value.shape
            if name == "logit_scale" { continue }
            if name.contains("norm") || name.contains("layrnorm") {
                p.assign(name.hasSuffix("weight") ? .ones(shape) : .zeros(shape)); continue
            }
            if name.hasSuffix("bias") { p.assign(.zeros(shape)); continue }
            let width = Float(shape.last ?? 1)
            let layers = Float(
                name.hasPrefix("text") ? model.configuration.text.numHiddenLayers : model.configuration.vision.numHiddenLayers)
            let std: Float
            if name.contains("embedding") {
                std = name.contains("class") || name.contains("patch") ? 1 / width.squareRoot() : 0.02
            } else if name.contains("self_attn") {
                std = 1 / width.squareRoot() / (2 * layers).squareRoot()
            } else if name.contains("fc2") {
                std = 1 / Float(shape[1]).squareRoot() / (2 * layers).squareRoot()
            } else {
                std = 1 / width.squareRoot()
            }
            p.assign(.randomNormal(shape, std: std, using: &rng))
        }
    }
}

/// How well a CLIP knows ShapesWorld, on held-out pairs (captions of the evaluation split, never
/// trained on): image→text and text→image recall@1 over `pairs` pairs (a retrieved caption that is
/// the same string as the image's own counts as a hit: equal captions are one caption), and
/// zero-shot accuracy on single-kind scenes, each image scored against prompts that differ only in
/// colour (6 choices), shape (3) or count (4).
public struct ShapesCLIPEvaluation: Sendable, Codable, Equatable {
    public var pairs: Int
    public var imageToTextRecall: Double
    public var textToImageRecall: Double
    public var colourAccuracy: Double
    public var shapeAccuracy: Double
    public var countAccuracy: Double

    /// Runs the evaluation with seeded draws.
    public static func run(_ clip: CLIPEmbedder, pairs: Int = 500, seed: UInt64 = 2026) throws -> ShapesCLIPEvaluation {
        var rng = RandomState(seed: seed)
        let renderer = SceneRenderer(size: ShapesCLIP.imageSize)
        let held = (0..<pairs).map { _ in ShapesCLIP.pair(split: .evaluation, using: &rng) }
        let captions = held.map(\.caption)
        let image = try clip.imageEmbeddings(held.map { renderer.render($0.scene) })
        let text = try clip.textEmbeddings(captions)
        let sim = image.matmul(text, transposeOther: true).scalars  // [images, texts]
        var i2t = 0, t2i = 0
        for i in 0..<pairs {
            let row = (0..<pairs).map { sim[i * pairs + $0] }
            if captions[row.indices.max { row[$0] < row[$1] }!] == captions[i] { i2t += 1 }
            let column = (0..<pairs).map { sim[$0 * pairs + i] }
            if captions[column.indices.max { column[$0] < column[$1] }!] == captions[i] { t2i += 1 }
        }
        // Zero-shot: held-out single-kind scenes of 1–4 objects.
        var single: [(scene: Scene, color: PaletteColor, shape: ShapeKind, count: Int)] = []
        while single.count < pairs {
            let (scene, caption) = ShapesCLIP.pair(split: .evaluation, using: &rng)
            let kinds = Set(scene.objects.map { "\($0.color)-\($0.shape)" })
            guard kinds.count == 1, let o = scene.objects.first, !caption.isEmpty else { continue }
            single.append((scene, o.color, o.shape, scene.objects.count))
        }
        let images = try clip.imageEmbeddings(single.map { renderer.render($0.scene) })
        func accuracy(_ choices: (Int) -> [String], correct: (Int) -> Int) throws -> Double {
            var hits = 0
            for k in 0..<single.count {
                let prompts = choices(k)
                let t = try clip.textEmbeddings(prompts)
                let scores = images.slice(axis: 0, k..<(k + 1)).matmul(t, transposeOther: true).scalars
                if scores.indices.max(by: { scores[$0] < scores[$1] }) == correct(k) { hits += 1 }
            }
            return Double(hits) / Double(single.count)
        }
        let colours = PaletteColor.allCases, shapes = ShapeKind.allCases
        let colour = try accuracy(
            { k in colours.map { ShapesCLIP.phrase(count: single[k].count, color: $0, shape: single[k].shape) } },
            correct: { colours.firstIndex(of: single[$0].color)! })
        let shape = try accuracy(
            { k in shapes.map { ShapesCLIP.phrase(count: single[k].count, color: single[k].color, shape: $0) } },
            correct: { shapes.firstIndex(of: single[$0].shape)! })
        let count = try accuracy(
            { k in (1...4).map { ShapesCLIP.phrase(count: $0, color: single[k].color, shape: single[k].shape) } },
            correct: { single[$0].count - 1 })
        return ShapesCLIPEvaluation(
            pairs: pairs, imageToTextRecall: Double(i2t) / Double(pairs),
            textToImageRecall: Double(t2i) / Double(pairs),
            colourAccuracy: colour, shapeAccuracy: shape, countAccuracy: count)
    }
}
