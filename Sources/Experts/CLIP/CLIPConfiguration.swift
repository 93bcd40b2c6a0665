import Foundation
import UniRLTensor

/// One tower of CLIP (transformers' `CLIPTextConfig` or `CLIPVisionConfig`): the fields both share
/// plus the text-only and vision-only ones, with transformers' defaults for absent keys.
public struct CLIPTowerConfiguration: Sendable, Equatable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    /// `quick_gelu` (the OpenAI checkpoints), `gelu` (exact), `gelu_new` / `gelu_pytorch_tanh` (tanh approximation).
    public var hiddenAct: String
    public var layerNormEps: Float
    // Text tower.
    public var vocabSize: Int
    public var maxPositionEmbeddings: Int
    public var eosTokenID: Int?
    // Vision tower.
    public var numChannels: Int
    public var imageSize: Int
    public var patchSize: Int

    public var headDim: Int { hiddenSize / numAttentionHeads }
    /// Patches per side of the vision tower's input (a remainder of pixels is ignored, as by the strided conv).
    public var gridSize: Int { imageSize / patchSize }

    /// A text tower; defaults are `CLIPTextConfig`'s.
    public static func text(vocabSize: Int = 49_408, hiddenSize: Int = 512, intermediateSize: Int = 2_048,
                            numHiddenLayers: Int = 12, numAttentionHeads: Int = 8, maxPositionEmbeddings: Int = 77,
                            hiddenAct: String = "quick_gelu", layerNormEps: Float = 1e-5,
                            eosTokenID: Int? = 49_407) -> CLIPTowerConfiguration {
        CLIPTowerConfiguration(hiddenSize: hiddenSize, intermediateSize: intermediateSize, numHiddenLayers: numHiddenLayers,
                               numAttentionHeads: numAttentionHeads, hiddenAct: hiddenAct, layerNormEps: layerNormEps,
                               vocabSize: vocabSize, maxPositionEmbeddings: maxPositionEmbeddings, eosTokenID: eosTokenID,
                               numChannels: 3, imageSize: 224, patchSize: 32)
    }

    /// A vision tower; defaults are `CLIPVisionConfig`'s (ViT-B/32).
    public static func vision(hiddenSize: Int = 768, intermediateSize: Int = 3_072, numHiddenLayers: Int = 12,
                              numAttentionHeads: Int = 12, numChannels: Int = 3, imageSize: Int = 224, patchSize: Int = 32,
                              hiddenAct: String = "quick_gelu", layerNormEps: Float = 1e-5) -> CLIPTowerConfiguration {
        CLIPTowerConfiguration(hiddenSize: hiddenSize, intermediateSize: intermediateSize, numHiddenLayers: numHiddenLayers,
                               numAttentionHeads: numAttentionHeads, hiddenAct: hiddenAct, layerNormEps: layerNormEps,
                               vocabSize: 0, maxPositionEmbeddings: 0, eosTokenID: nil,
                               numChannels: numChannels, imageSize: imageSize, patchSize: patchSize)
    }

    func validate(_ tower: String, vision: Bool) throws {
        func fail(_ s: String) -> ModelConfigurationError { .inconsistent("\(tower): \(s)") }
        guard hiddenSize > 0, intermediateSize > 0, numHiddenLayers >= 0, numAttentionHeads > 0 else {
            throw fail("sizes must be positive (hidden \(hiddenSize), intermediate \(intermediateSize), heads \(numAttentionHeads))")
        }
        guard hiddenSize % numAttentionHeads == 0 else {
            throw fail("\(numAttentionHeads) heads do not divide hidden size \(hiddenSize)")
        }
        guard CLIPActivation(rawValue: hiddenAct) != nil else {
            throw fail("hidden_act '\(hiddenAct)' is not supported (quick_gelu, gelu, gelu_new, gelu_pytorch_tanh)")
        }
        guard layerNormEps > 0 else { throw fail("layer_norm_eps must be positive") }
        if vision {
            guard numChannels > 0, patchSize > 0, imageSize >= patchSize else {
                throw fail("image_size \(imageSize) must be at least patch_size \(patchSize), both positive")
            }
        } else {
            guard vocabSize > 0, maxPositionEmbeddings > 0 else {
                throw fail("vocab_size \(vocabSize) and max_position_embeddings \(maxPositionEmbeddings) must be positive")
            }
        }
    }
}

/// The activation between a CLIP MLP's two linear maps.
public enum CLIPActivation: String, Sendable {
    case quickGELU = "quick_gelu", gelu = "gelu", geluNew = "gelu_new", geluTanh = "gelu_pytorch_tanh"
}

/// CLIP's settings (transformers' `CLIPConfig`): the two towers, the shared projection width and the
/// initial `logit_scale`. Reads `config.json` as `save_pretrained` writes it and as the hub's
/// checkpoints hold it (which may add `text_config_dict` / `vision_config_dict` and generation keys).
public struct CLIPConfiguration: Sendable, Equatable {
    public var text: CLIPTowerConfiguration
    public var vision: CLIPTowerConfiguration
    public var projectionDim: Int
    public var logitScaleInitValue: Float

    public init(text: CLIPTowerConfiguration, vision: CLIPTowerConfiguration, projectionDim: Int = 512,
                logitScaleInitValue: Float = 2.6592) {
        self.text = text; self.vision = vision
        self.projectionDim = projectionDim; self.logitScaleInitValue = logitScaleInitValue
    }

    /// Keys every transformers `PretrainedConfig` may write (generation and bookkeeping settings
    /// that have no effect on CLIP's forward pass).
    static let genericKeys: Set<String> = [
        "return_dict", "output_hidden_states", "output_attentions", "torchscript", "torch_dtype", "dtype", "pruned_heads",
        "tie_word_embeddings", "chunk_size_feed_forward", "is_encoder_decoder", "is_decoder", "cross_attention_hidden_size",
        "add_cross_attention", "tie_encoder_decoder", "max_length", "min_length", "do_sample", "early_stopping", "num_beams",
        "num_beam_groups", "diversity_penalty", "temperature", "top_k", "top_p", "typical_p", "repetition_penalty",
        "length_penalty", "no_repeat_ngram_size", "encoder_no_repeat_ngram_size", "bad_words_ids", "num_return_sequences",
        "output_scores", "return_dict_in_generate", "forced_bos_token_id", "forced_eos_token_id", "remove_invalid_values",
        "exponential_decay_length_penalty", "suppress_tokens", "begin_suppress_tokens", "architectures", "finetuning_task",
        "id2label", "label2id", "tokenizer_class", "prefix", "bos_token_id", "pad_token_id", "eos_token_id", "sep_token_id",
        "decoder_start_token_id", "task_specific_params", "problem_type", "transformers_version", "model_type",
        "name_or_path", "use_cache", "initializer_range", "initializer_factor", "attention_dropout", "dropout",
        "use_bfloat16", "attn_implementation", "output_router_logits",
    ]
    static let towerKeys: Set<String> = [
        "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "hidden_act", "layer_norm_eps",
        "projection_dim", "vocab_size", "max_position_embeddings", "num_channels", "image_size", "patch_size",
    ]
    static let topLevelKeys: Set<String> = [
        "text_config", "vision_config", "text_config_dict", "vision_config_dict", "projection_dim", "logit_scale_init_value",
    ]

    /// Reads `config.json`, refusing unknown keys and settings CLIP cannot run with.
    public static func load(from url: URL) throws -> CLIPConfiguration {
        let data: Data
        do { data = try Data(readingFileAt: url) } catch {
            throw ModelConfigurationError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        return try decode(data, path: url.path)
    }

    /// As ``load(from:)`` for JSON in memory.
    public static func decode(_ data: Data, path: String) throws -> CLIPConfiguration {
        guard let top = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelConfigurationError.invalid(path: path, reason: "not a JSON object")
        }
        try refuseUnknown(top, known: topLevelKeys, path: path)
        // The hub's older files keep `*_config_dict` next to (or instead of) `*_config`; the dict wins as in transformers.
        func tower(_ name: String) throws -> [String: Any] {
            var object = (top[name] as? [String: Any]) ?? [:]
            if let override = top[name + "_dict"] as? [String: Any] { object.merge(override) { $1 } }
            try refuseUnknown(object, known: towerKeys, path: path + " (\(name))")
            return object
        }
        let textObject = try tower("text_config"), visionObject = try tower("vision_config")
        let reader = JSONFieldReader(path: path)
        let t = CLIPTowerConfiguration.text()
        let text = try CLIPTowerConfiguration.text(
            vocabSize: reader.int(textObject, "vocab_size", t.vocabSize),
            hiddenSize: reader.int(textObject, "hidden_size", t.hiddenSize),
            intermediateSize: reader.int(textObject, "intermediate_size", t.intermediateSize),
            numHiddenLayers: reader.int(textObject, "num_hidden_layers", t.numHiddenLayers),
            numAttentionHeads: reader.int(textObject, "num_attention_heads", t.numAttentionHeads),
            maxPositionEmbeddings: reader.int(textObject, "max_position_embeddings", t.maxPositionEmbeddings),
            hiddenAct: reader.string(textObject, "hidden_act", t.hiddenAct),
            layerNormEps: reader.float(textObject, "layer_norm_eps", t.layerNormEps),
            eosTokenID: reader.eosTokenID(textObject, default: t.eosTokenID))
        let v = CLIPTowerConfiguration.vision()
        let vision = try CLIPTowerConfiguration.vision(
            hiddenSize: reader.int(visionObject, "hidden_size", v.hiddenSize),
            intermediateSize: reader.int(visionObject, "intermediate_size", v.intermediateSize),
            numHiddenLayers: reader.int(visionObject, "num_hidden_layers", v.numHiddenLayers),
            numAttentionHeads: reader.int(visionObject, "num_attention_heads", v.numAttentionHeads),
            numChannels: reader.int(visionObject, "num_channels", v.numChannels),
            imageSize: reader.squareSize(visionObject, "image_size", v.imageSize),
            patchSize: reader.squareSize(visionObject, "patch_size", v.patchSize),
            hiddenAct: reader.string(visionObject, "hidden_act", v.hiddenAct),
            layerNormEps: reader.float(visionObject, "layer_norm_eps", v.layerNormEps))
        let c = try CLIPConfiguration(text: text, vision: vision,
                                      projectionDim: reader.int(top, "projection_dim", 512),
                                      logitScaleInitValue: reader.float(top, "logit_scale_init_value", 2.6592))
        try c.validate()
        return c
    }

    static func refuseUnknown(_ object: [String: Any], known: Set<String>, path: String) throws {
        let unknown = object.keys.filter {
            !known.contains($0) && !genericKeys.contains($0) && !standardIgnoredConfigurationKeys.contains($0) && !$0.hasPrefix("_")
        }
        guard unknown.isEmpty else { throw ModelConfigurationError.unknownKeys(path: path, keys: unknown.sorted()) }
    }

    /// Throws a typed error for settings no CLIP can run with.
    public func validate() throws {
        try text.validate("text_config", vision: false)
        try vision.validate("vision_config", vision: true)
        guard projectionDim > 0 else { throw ModelConfigurationError.inconsistent("projection_dim must be positive, got \(projectionDim)") }
        guard logitScaleInitValue.isFinite else { throw ModelConfigurationError.inconsistent("logit_scale_init_value must be finite") }
    }

    /// `config.json` as transformers writes it (enough for `CLIPModel.from_pretrained`).
    public func jsonObject() -> [String: Any] {
        let textObject: [String: Any] = [
            "vocab_size": text.vocabSize, "hidden_size": text.hiddenSize, "intermediate_size": text.intermediateSize,
            "num_hidden_layers": text.numHiddenLayers, "num_attention_heads": text.numAttentionHeads,
            "max_position_embeddings": text.maxPositionEmbeddings, "hidden_act": text.hiddenAct,
            "layer_norm_eps": shortestDecimal(text.layerNormEps), "projection_dim": projectionDim, "model_type": "clip_text_model",
            "eos_token_id": text.eosTokenID.map { $0 as Any } ?? NSNull(), "bos_token_id": NSNull(), "pad_token_id": NSNull(),
        ]
        let visionObject: [String: Any] = [
            "hidden_size": vision.hiddenSize, "intermediate_size": vision.intermediateSize,
            "num_hidden_layers": vision.numHiddenLayers, "num_attention_heads": vision.numAttentionHeads,
            "num_channels": vision.numChannels, "image_size": vision.imageSize, "patch_size": vision.patchSize,
            "hidden_act": vision.hiddenAct, "layer_norm_eps": shortestDecimal(vision.layerNormEps), "projection_dim": projectionDim,
            "model_type": "clip_vision_model",
        ]
        return ["architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": projectionDim,
                "logit_scale_init_value": shortestDecimal(logitScaleInitValue), "text_config": textObject, "vision_config": visionObject]
    }
}

/// The Double that prints as the Float's shortest decimal (1e-05, not 9.999999747378752e-06).
func shortestDecimal(_ x: Float) -> Double { Double("\(x)") ?? Double(x) }

/// Typed reads of optional JSON fields with defaults.
struct JSONFieldReader {
    let path: String

    func bad(_ key: String, _ expected: String) -> ModelConfigurationError {
        .invalid(path: path, reason: "'\(key)' must be \(expected)")
    }

    func int(_ o: [String: Any], _ key: String, _ fallback: Int) throws -> Int {
        guard let value = o[key], !(value is NSNull) else { return fallback }
        guard let n = value as? NSNumber, n.doubleValue == n.doubleValue.rounded() else { throw bad(key, "an integer") }
        return n.intValue
    }

    func float(_ o: [String: Any], _ key: String, _ fallback: Float) throws -> Float {
        guard let value = o[key], !(value is NSNull) else { return fallback }
        guard let n = value as? NSNumber else { throw bad(key, "a number") }
        return n.floatValue
    }

    func string(_ o: [String: Any], _ key: String, _ fallback: String) throws -> String {
        guard let value = o[key], !(value is NSNull) else { return fallback }
        guard let s = value as? String else { throw bad(key, "a string") }
        return s
    }

    /// `image_size` / `patch_size`: an integer or a square pair.
    func squareSize(_ o: [String: Any], _ key: String, _ fallback: Int) throws -> Int {
        if let pair = o[key] as? [NSNumber] {
            guard pair.count == 2, pair[0] == pair[1] else { throw bad(key, "an integer or a square pair") }
            return pair[0].intValue
        }
        return try int(o, key, fallback)
    }

    /// `eos_token_id`: an integer, a one-element list, or null (then no position matches and row 0 is pooled).
    func eosTokenID(_ o: [String: Any], default fallback: Int?) throws -> Int? {
        guard let value = o["eos_token_id"] else { return fallback }
        if value is NSNull { return nil }
        if let list = value as? [NSNumber] {
            guard list.count == 1 else { throw bad("eos_token_id", "one token id (CLIP pools at a single end token)") }
            return list[0].intValue
        }
        return try int(o, "eos_token_id", 0)
    }
}
