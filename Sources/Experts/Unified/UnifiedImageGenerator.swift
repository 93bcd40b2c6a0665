import Foundation
import UniRLTensor

/// How ``UnifiedImageGenerator`` samples: the deterministic Euler ODE with classifier-free
/// guidance (null condition = zeros), as the official `generate_image` without SDE.
public struct UnifiedGenerationSettings: Sendable, Equatable {
    /// Euler steps.
    public var steps: Int = 20
    /// w (text guidance).
    public var guidanceScale: Float = 3
    /// w_ref of triple guidance when editing (official 1).
    public var referenceGuidanceScale: Float = 1
    /// SANA's flow shift (the official sampler uses 3).
    public var shift: Float = 3
    /// Images per prompt.
    public var samples: Int = 1
    /// Seed of the initial noise (and of the reference noise when editing).
    public var seed: UInt64 = 0
    /// Rows per DiT batch.
    public var batchSize: Int = 8

    public init(
        steps: Int = 20, guidanceScale: Float = 3, referenceGuidanceScale: Float = 1, shift: Float = 3, samples: Int = 1,
        seed: UInt64 = 0, batchSize: Int = 8
    ) {
        self.steps = steps; self.guidanceScale = guidanceScale; self.referenceGuidanceScale = referenceGuidanceScale
        self.shift = shift; self.samples = samples; self.seed = seed; self.batchSize = batchSize
    }
}

/// Text-to-image generation and editing with a ``UnifiedModel`` and its tokenizer
/// (`lm/tokenizer.json`): the caption goes into the official instruction ("Please generate image
/// based on the following caption: …", G-U-N/UniRL unimodel/blip3o/train/train_joint.py) as a
/// ChatML user turn with the assistant prompt opened, the t2i queries follow; an edit puts the
/// source image in the user turn (vision tower), uses the i2i queries and gives the DiT the
/// source's latent (noised 0.8·ref + 0.2·z) with triple guidance.
///
/// ```swift
/// let generator = try UnifiedImageGenerator(directory: folder)
/// let images = try generator.generate(captions: ["a red circle"], settings: .init(samples: 4))   // [[RGBImage]]
/// ```
public final class UnifiedImageGenerator {
    public let model: UnifiedModel
    public let tokenizer: QwenTokenizer

    public init(model: UnifiedModel, tokenizer: QwenTokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Loads the model (with its DC-AE) and `lm/tokenizer.json` (or `tokenizer.json` beside an
    /// official checkpoint).
    public convenience init(directory: URL) throws {
        let model = try UnifiedModel.load(from: directory)
        let candidates = ["lm/tokenizer.json", "tokenizer.json"].map { directory.appendingPathComponent($0) }
        guard let url = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw UnifiedModelError.missingPart(path: candidates[0].path)
        }
        self.init(model: model, tokenizer: try QwenTokenizer(tokenizerJSON: url))
    }

    /// The chat-formatted text-to-image prompt of a caption.
    public func prompt(caption: String) -> LanguagePrompt {
        let message = ChatMessage(role: .user, "Please generate image based on the following caption: \(caption)")
        return LanguagePrompt(tokens: tokenizer.encode(conversation: [message], addGenerationPrompt: true))
    }

    /// The chat-formatted edit prompt of an instruction on a source image.
    public func editPrompt(instruction: String, source: RGBImage) throws -> LanguagePrompt {
        let processed = try QwenImageProcessor(model.lm.configuration.vision)(source)
        let tokens = tokenizer.encode(
            conversation: [ChatMessage(role: .user, parts: [.image, .text(instruction)])], addGenerationPrompt: true,
            imagePadCounts: [processed.tokenCount(spatialMerge: model.lm.configuration.vision.spatialMergeSize)])
        return LanguagePrompt(tokens: tokens, images: [processed])
    }

    /// `settings.samples` images per caption; `progress` is called with the number of images done.
    public func generate(
        captions: [String], settings: UnifiedGenerationSettings,
        progress: (Int) -> Void = { _ in }
    ) throws -> [[RGBImage]] {
        try run(requests: captions.map { UnifiedRequest(prompt: prompt(caption: $0)) }, settings: settings, progress: progress)
    }

    /// `settings.samples` edits per (instruction, source) pair. Sources must have the size the
    /// DC-AE maps onto the DiT's latent grid.
    public func edit(
        instructions: [String], sources: [RGBImage], settings: UnifiedGenerationSettings,
        progress: (Int) -> Void = { _ in }
    ) throws -> [[RGBImage]] {
        guard instructions.count == sources.count else {
            throw UnifiedModelError.invalidRequest("\(instructions.count) instructions for \(sources.count) source images")
        }
        guard model.transformer.hasReferencePath else {
            throw UnifiedModelError.invalidRequest("editing needs a DiT with the reference path (ref_patch_embed, ref_linear)")
        }
        let ae = try model.requireAutoencoder()
        let side = model.transformer.configuration.sampleSize * ae.configuration.spatialCompressionRatio
        var requests: [UnifiedRequest] = []
        for (instruction, source) in zip(instructions, sources) {
            guard source.width == side && source.height == side else {
                throw UnifiedModelError.invalidRequest(
                    "a source image is \(source.width)×\(source.height), the model edits \(side)×\(side)")
            }
            requests.append(
                UnifiedRequest(
                    prompt: try editPrompt(instruction: instruction, source: source), querySet: .i2i,
                    reference: try model.encode([source]).squeezed(0)))
        }
        return try run(requests: requests, settings: settings, progress: progress)
    }

    func run(requests: [UnifiedRequest], settings: UnifiedGenerationSettings, progress: (Int) -> Void) throws -> [[RGBImage]] {
        guard settings.samples >= 1, settings.steps >= 1, settings.batchSize >= 1 else {
            throw UnifiedModelError.invalidRequest("samples, steps and batch size must be ≥ 1")
        }
        let policy = UnifiedImagePolicy(
            model: model,
            settings: SanaPolicySettings(
                steps: settings.steps, shift: settings.shift, guidanceScale: settings.guidanceScale,
                referenceGuidanceScale: settings.referenceGuidanceScale))
        var rng = RandomState(seed: settings.seed)
        // Request-major: sample k of request i is row i·K + k; noise is drawn in that order, batch by batch.
        let rows = requests.indices.flatMap { i in (0..<settings.samples).map { _ in i } }
        var images: [RGBImage] = []
        for start in stride(from: 0, to: rows.count, by: settings.batchSize) {
            let chunk = rows[start..<min(start + settings.batchSize, rows.count)]
            let conditions = chunk.map { i in
                UnifiedImageCondition(
                    prompt: requests[i].prompt, querySet: requests[i].querySet,
                    reference: requests[i].reference.map { $0 * 0.8 + Tensor.randomNormal($0.shape, using: &rng) * 0.2 })
            }
            let latents = try policy.generate(conditions, steps: settings.steps, using: &rng)
            images += try model.decode(latents)
            progress(images.count)
        }
        return requests.indices.map { i in Array(images[(i * settings.samples)..<((i + 1) * settings.samples)]) }
    }
}
