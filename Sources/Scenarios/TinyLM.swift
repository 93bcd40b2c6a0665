import Foundation
import UniRLExperts
import UniRLTensor

/// Problems finding or reading the tiny LM.
public enum TinyLMError: Error, CustomStringConvertible, Equatable {
    /// The package was built without the `tiny-unified/lm` resource folder.
    case notBundled
    /// The model folder lacks a file.
    case missingFile(path: String)
    /// A file is there but cannot be used (the file and the cause are named).
    case damaged(path: String, reason: String)

    public var description: String {
        switch self {
        case .notBundled:
            "the tiny LM is not in the UniRLScenarios bundle (Sources/Scenarios/Resources/tiny-unified/lm)"
        case .missingFile(let p):
            "the tiny LM folder has no \(p); run `unirl pretrain lm --output <dir>` to make one"
        case .damaged(let p, let r): "the tiny LM file \(p) is damaged: \(r)"
        }
    }
}

/// The tiny Qwen2.5-VL-architecture language expert of ShapesWorld that ships with the package:
/// a 3-layer decoder of width 128 with tied embeddings, a 2-block vision tower of width 64
/// (patch 14, merge 2: the shipped processor's `min_pixels` of 84² resizes a 32 × 32 render to
/// 84 × 84, 9 image tokens, one per grid cell), and a byte-level BPE tokenizer trained on
/// ShapesWorld text by ``BPETrainer``. `unirl pretrain lm` trains it (``TinyLMPretraining``,
/// then ``TinyLMVisionStage`` for the vision tower); the result lies in
/// `Sources/Scenarios/Resources/tiny-unified/lm/` in transformers' layout:
///
///     config.json  model.safetensors (F16)  tokenizer.json  tokenizer_config.json
///     preprocessor_config.json  generation_config.json
///
/// ```swift
/// let lm = try TinyLM.load()
/// let prompt = lm.tokenizer.encode(conversation: [ChatMessage(role: .user, "What is 3 + 4?")],
///                                  addGenerationPrompt: true)
/// ```
public struct TinyLM {
    public let model: QwenVLForConditionalGeneration
    public let tokenizer: QwenTokenizer
    public let imageProcessor: QwenImageProcessor

    /// The processor defaults to the vision tower's patch settings with `min_pixels` 56².
    public init(model: QwenVLForConditionalGeneration, tokenizer: QwenTokenizer, imageProcessor: QwenImageProcessor? = nil) {
        self.model = model
        self.tokenizer = tokenizer
        self.imageProcessor = imageProcessor ?? QwenImageProcessor(model.configuration.vision)
    }

    /// Qwen2.5's added tokens in Qwen's order (Qwen/Qwen2.5-VL-7B-Instruct tokenizer.json), then
    /// the four tags of ``TinyLMFormat``.
    public static let addedTokens =
        [
            "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
            "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
            "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>",
            "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
        ] + TinyLMFormat.tags

    /// The model's settings for a vocabulary of `vocabularySize` tokens and the tokenizer's vision ids.
    public static func configuration(vocabularySize: Int, tokenizer: QwenTokenizer) -> QwenVLConfiguration {
        var text = Qwen2Configuration(
            vocabSize: vocabularySize, hiddenSize: 128, intermediateSize: 256,
            numHiddenLayers: 3, numAttentionHeads: 4, numKeyValueHeads: 2, rmsNormEps: 1e-6,
            tieWordEmbeddings: true, ropeTheta: 10_000)
        text.useSlidingWindow = false
        let vision = QwenVisionConfiguration(
            depth: 2, hiddenSize: 64, intermediateSize: 128, numHeads: 2,
            outHiddenSize: 128, patchSize: 14, spatialMergeSize: 2, temporalPatchSize: 2,
            windowSize: 56, fullAttentionBlocks: [1], inChannels: 3, tokensPerSecond: 2)
        return QwenVLConfiguration(
            text: text, vision: vision, mropeSection: [4, 6, 6],
            imageTokenID: tokenizer.imagePadID, videoTokenID: tokenizer.videoPadID,
            visionStartTokenID: tokenizer.visionStartID, visionEndTokenID: tokenizer.visionEndID)
    }

    /// The bundled folder, if the package was built with it.
    public static var bundledDirectory: URL? {
        Bundle.module.url(forResource: "tiny-unified/lm", withExtension: nil, subdirectory: "Resources")
            ?? Bundle.module.url(forResource: "lm", withExtension: nil, subdirectory: "Resources/tiny-unified")
    }

    /// The bundled text-stage folder (`Sources/Scenarios/Resources/tiny-lm-text`: the bundled LM
    /// continued on worked text tasks by `unirl pretrain lm --stage text`), the `text` scenario's
    /// cold start; nil if the package was built without it.
    public static var bundledTextDirectory: URL? {
        Bundle.module.url(forResource: "tiny-lm-text", withExtension: nil, subdirectory: "Resources")
    }

    /// The files a model folder must hold.
    public static let requiredFiles = ["config.json", "model.safetensors", "tokenizer.json"]

    /// Loads the model and tokenizer from `directory` (the bundled folder by default); a missing
    /// or damaged file is a ``TinyLMError`` naming it.
    public static func load(from directory: URL? = nil) throws -> TinyLM {
        guard let root = directory ?? bundledDirectory else { throw TinyLMError.notBundled }
        for file in requiredFiles where !FileManager.default.fileExists(atPath: root.appendingPathComponent(file).path) {
            throw TinyLMError.missingFile(path: root.appendingPathComponent(file).path)
        }
        let tokenizer: QwenTokenizer, model: QwenVLForConditionalGeneration
        let tokenizerPath = root.appendingPathComponent("tokenizer.json").path
        do { tokenizer = try QwenTokenizer(tokenizerJSON: root.appendingPathComponent("tokenizer.json")) } catch {
            throw TinyLMError.damaged(path: tokenizerPath, reason: "\(error)")
        }
        do { model = try QwenVLForConditionalGeneration.load(from: root) } catch {
            throw TinyLMError.damaged(
                path: root.appendingPathComponent("model.safetensors").path + " or config.json",
                reason: "\(error)")
        }
        guard tokenizer.bpe.vocabularySize <= model.vocabularySize else {
            throw TinyLMError.damaged(
                path: tokenizerPath,
                reason: "\(tokenizer.bpe.vocabularySize) tokens for a model of \(model.vocabularySize)")
        }
        guard model.configuration.imageTokenID == tokenizer.imagePadID else {
            let reason = "image_token_id \(model.configuration.imageTokenID) ≠ the tokenizer's <|image_pad|> \(tokenizer.imagePadID)"
            throw TinyLMError.damaged(path: root.appendingPathComponent("config.json").path, reason: reason)
        }
        let processor = try imageProcessor(for: model.configuration.vision, in: root)
        return TinyLM(model: model, tokenizer: tokenizer, imageProcessor: processor)
    }

    /// The image processor of a model folder: the vision tower's patch settings with
    /// `min_pixels` / `max_pixels` from `preprocessor_config.json` when the folder has one.
    static func imageProcessor(for vision: QwenVisionConfiguration, in root: URL) throws -> QwenImageProcessor {
        var processor = QwenImageProcessor(vision)
        let url = root.appendingPathComponent("preprocessor_config.json")
        guard let data = try? Data(readingFileAt: url) else { return processor }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw TinyLMError.damaged(path: url.path, reason: "not a JSON object")
        }
        let size = json["size"] as? [String: Any]
        let minimum = (json["min_pixels"] ?? size?["shortest_edge"]).flatMap { $0 as? Int }
        let maximum = (json["max_pixels"] ?? size?["longest_edge"]).flatMap { $0 as? Int }
        if let minimum { processor.minPixels = minimum }
        if let maximum { processor.maxPixels = maximum }
        guard processor.minPixels > 0, processor.maxPixels >= processor.minPixels else {
            throw TinyLMError.damaged(path: url.path, reason: "min_pixels \(processor.minPixels), max_pixels \(processor.maxPixels)")
        }
        return processor
    }

    /// Stop tokens of a reply: `<|im_end|>` and `<|endoftext|>`.
    public var stopTokens: Set<Int> { [tokenizer.imEndID, tokenizer.endOfTextID] }

    /// Writes the model folder (see the type's documentation); the tokenizer files come from `trained`.
    public func save(to directory: URL, trained: TrainedBPE, dtype: SafeTensorsDType = .F16) throws {
        try saveModel(to: directory, dtype: dtype)
        try trained.tokenizerJSON().write(to: directory.appendingPathComponent("tokenizer.json"), options: .atomic)
        try Self.writeJSON(
            HFTokenizerConfig.qwen2(trained, eos: "<|im_end|>", pad: "<|endoftext|>"),
            to: directory.appendingPathComponent("tokenizer_config.json"))
        let generation: [String: Any] = [
            "do_sample": false, "eos_token_id": [tokenizer.imEndID, tokenizer.endOfTextID],
            "pad_token_id": tokenizer.endOfTextID, "bos_token_id": tokenizer.endOfTextID, "transformers_version": "5.0.0",
        ]
        try Self.writeJSON(generation, to: directory.appendingPathComponent("generation_config.json"))
    }

    /// Writes the model folder with the tokenizer and generation files copied unchanged from the
    /// folder `source` (the vision stage changes neither).
    public func save(to directory: URL, tokenizerFrom source: URL, dtype: SafeTensorsDType = .F16) throws {
        try saveModel(to: directory, dtype: dtype)
        for name in ["tokenizer.json", "tokenizer_config.json", "generation_config.json"] {
            let from = source.appendingPathComponent(name), to = directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: from.path) else { throw TinyLMError.missingFile(path: from.path) }
            if from.standardizedFileURL == to.standardizedFileURL { continue }
            try Data(readingFileAt: from).write(to: to, options: .atomic)
        }
    }

    /// `config.json`, `model.safetensors` and `preprocessor_config.json`.
    func saveModel(to directory: URL, dtype: SafeTensorsDType) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Self.writeJSON(Self.configJSON(model.configuration, tokenizer: tokenizer), to: directory.appendingPathComponent("config.json"))
        try SafeTensors.write(model.stateDict(), dtype: dtype, to: directory.appendingPathComponent("model.safetensors"))
        try Self.writeJSON(preprocessorJSON, to: directory.appendingPathComponent("preprocessor_config.json"))
    }

    static func writeJSON(_ object: Any, to url: URL) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try data.write(to: url, options: .atomic)
    }

    /// `config.json` in transformers 5's layout (`text_config`, `rope_parameters`).
    static func configJSON(_ c: QwenVLConfiguration, tokenizer: QwenTokenizer) -> [String: Any] {
        let t = c.text, v = c.vision
        let text: [String: Any] = [
            "model_type": "qwen2_5_vl_text", "vocab_size": t.vocabSize, "hidden_size": t.hiddenSize,
            "intermediate_size": t.intermediateSize, "num_hidden_layers": t.numHiddenLayers,
            "num_attention_heads": t.numAttentionHeads, "num_key_value_heads": t.numKeyValueHeads,
            "rms_norm_eps": Double(t.rmsNormEps), "hidden_act": t.hiddenAct,
            "tie_word_embeddings": t.tieWordEmbeddings,
            "rope_parameters": [
                "mrope_section": c.mropeSection, "rope_theta": Double(t.ropeTheta), "rope_type": "default",
            ] as [String: Any],
            "use_sliding_window": false, "max_position_embeddings": 2048, "attention_dropout": 0.0,
            "layer_types": [String](repeating: "full_attention", count: t.numHiddenLayers),
            "bos_token_id": tokenizer.endOfTextID, "eos_token_id": tokenizer.imEndID,
            "pad_token_id": tokenizer.endOfTextID,
        ]
        let vision: [String: Any] = [
            "model_type": "qwen2_5_vl_vision", "depth": v.depth, "hidden_size": v.hiddenSize,
            "intermediate_size": v.intermediateSize, "num_heads": v.numHeads, "out_hidden_size": v.outHiddenSize,
            "patch_size": v.patchSize, "spatial_merge_size": v.spatialMergeSize,
            "temporal_patch_size": v.temporalPatchSize, "window_size": v.windowSize,
            "fullatt_block_indexes": v.fullAttentionBlocks, "in_channels": v.inChannels,
            "tokens_per_second": v.tokensPerSecond, "hidden_act": v.hiddenAct,
            "rope_parameters": ["rope_theta": Double(v.ropeTheta), "rope_type": "axial"] as [String: Any],
        ]
        return [
            "architectures": ["Qwen2_5_VLForConditionalGeneration"], "model_type": "qwen2_5_vl", "dtype": "float16",
            "text_config": text, "vision_config": vision, "tie_word_embeddings": t.tieWordEmbeddings,
            "image_token_id": c.imageTokenID, "video_token_id": c.videoTokenID,
            "vision_start_token_id": c.visionStartTokenID, "vision_end_token_id": c.visionEndTokenID,
        ]
    }

    /// `preprocessor_config.json` of `Qwen2VLImageProcessor` with this model's patch settings.
    var preprocessorJSON: [String: Any] {
        let p = imageProcessor
        return [
            "image_processor_type": "Qwen2VLImageProcessor", "processor_class": "Qwen2_5_VLProcessor",
            "patch_size": p.patchSize, "temporal_patch_size": p.temporalPatchSize, "merge_size": p.mergeSize,
            "min_pixels": p.minPixels, "max_pixels": p.maxPixels,
            "size": ["shortest_edge": p.minPixels, "longest_edge": p.maxPixels], "image_mean": p.mean.map(Double.init),
            "image_std": p.std.map(Double.init), "do_resize": true, "do_rescale": true, "do_normalize": true,
            "do_convert_rgb": true, "resample": 3, "rescale_factor": 1.0 / 255.0,
        ]
    }
}
