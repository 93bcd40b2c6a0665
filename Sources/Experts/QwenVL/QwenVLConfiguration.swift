import Foundation
import UniRLTensor

/// Qwen2.5-VL's settings (transformers' `Qwen2_5_VLConfig`), read from both layouts of
/// `config.json`: transformers 5 nests the text settings under `text_config` with
/// `rope_parameters.mrope_section`; the hub's files (e.g. Qwen2.5-VL-3B-Instruct) keep them flat
/// with `rope_scaling: {"type": "mrope", "mrope_section": …}`.
public struct QwenVLConfiguration: Sendable, Equatable {
    public var text: Qwen2Configuration
    public var vision: QwenVisionConfiguration
    /// Frequencies per temporal/height/width stream of the multimodal rotary embedding.
    public var mropeSection: [Int]
    public var imageTokenID: Int
    public var videoTokenID: Int
    public var visionStartTokenID: Int
    public var visionEndTokenID: Int

    public init(text: Qwen2Configuration, vision: QwenVisionConfiguration, mropeSection: [Int],
                imageTokenID: Int = 151_655, videoTokenID: Int = 151_656,
                visionStartTokenID: Int = 151_652, visionEndTokenID: Int = 151_653) {
        self.text = text; self.vision = vision; self.mropeSection = mropeSection
        self.imageTokenID = imageTokenID; self.videoTokenID = videoTokenID
        self.visionStartTokenID = visionStartTokenID; self.visionEndTokenID = visionEndTokenID
    }

    /// Keys of the top level besides the text settings (flat layout) or `text_config`.
    static let topLevelKeys: Set<String> = [
        "text_config", "vision_config", "image_token_id", "video_token_id", "vision_start_token_id",
        "vision_end_token_id", "vision_token_id", "tie_word_embeddings", "rope_scaling", "initializer_range",
        "pad_token_id", "bos_token_id", "eos_token_id",
    ]

    /// Reads `config.json`, refusing unknown keys (at every level) and features not computed here.
    public static func load(from url: URL) throws -> QwenVLConfiguration {
        let data: Data
        do { data = try Data(readingFileAt: url) } catch {
            throw ModelConfigurationError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        return try decode(data, path: url.path)
    }

    /// As ``load(from:)`` for JSON in memory.
    public static func decode(_ data: Data, path: String) throws -> QwenVLConfiguration {
        guard let top = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelConfigurationError.invalid(path: path, reason: "not a JSON object")
        }
        func json(_ object: [String: Any]) throws -> Data {
            try JSONSerialization.data(withJSONObject: object.filter { !($0.value is NSNull) })
        }
        // The text settings: `text_config` (transformers 5) or the top level itself (hub layout).
        var textObject: [String: Any]
        if let nested = top["text_config"] as? [String: Any] {
            textObject = nested
            let unknown = top.keys.filter {
                !topLevelKeys.contains($0) && !standardIgnoredConfigurationKeys.contains($0) && !$0.hasPrefix("_")
            }
            guard unknown.isEmpty else { throw ModelConfigurationError.unknownKeys(path: path, keys: unknown.sorted()) }
        } else {
            textObject = top.filter { !["text_config", "vision_config", "image_token_id", "video_token_id", "vision_start_token_id",
                                        "vision_end_token_id", "vision_token_id"].contains($0.key) }
        }
        if textObject["tie_word_embeddings"] == nil, let tie = top["tie_word_embeddings"] { textObject["tie_word_embeddings"] = tie }
        // mrope_section: rope_parameters (5.x) or rope_scaling (hub); the latter's "type": "mrope" means default rope.
        var section: [Int]?
        if var rp = textObject["rope_parameters"] as? [String: Any] {
            section = rp["mrope_section"] as? [Int]
            rp.removeValue(forKey: "mrope_section")
            textObject["rope_parameters"] = rp
        }
        if let rs = (textObject["rope_scaling"] ?? top["rope_scaling"]) as? [String: Any] {
            section = section ?? rs["mrope_section"] as? [Int]
            let type = (rs["rope_type"] ?? rs["type"]) as? String
            if let type, type != "mrope" && type != "default" {
                throw ModelConfigurationError.inconsistent("rope scaling '\(type)' is not supported (only mrope/default)")
            }
            textObject.removeValue(forKey: "rope_scaling")
        }
        let textKeys = Qwen2Configuration.knownKeys.union(["model_type", "vision_config", "layer_types", "rope_scaling"])
        let text = try decodeModelConfiguration(Qwen2Configuration.self, from: try json(textObject), path: path + " (text)",
                                                knownKeys: textKeys)
        try text.validate()
        guard let visionObject = top["vision_config"] as? [String: Any] else {
            throw ModelConfigurationError.invalid(path: path, reason: "missing vision_config")
        }
        let vision = try decodeModelConfiguration(QwenVisionConfiguration.self, from: try json(visionObject),
                                                  path: path + " (vision_config)", knownKeys: QwenVisionConfiguration.knownKeys)
        try vision.validate()
        let headDim = text.hiddenSize / text.numAttentionHeads
        let mrope = section ?? [16, 24, 24]
        guard mrope.count == 3, mrope.reduce(0, +) == headDim / 2 else {
            throw ModelConfigurationError.inconsistent("mrope_section \(mrope) must hold 3 counts adding up to head_dim/2 = \(headDim / 2)")
        }
        guard vision.outHiddenSize == text.hiddenSize else {
            throw ModelConfigurationError.inconsistent(
                "vision out_hidden_size \(vision.outHiddenSize) ≠ text hidden_size \(text.hiddenSize)")
        }
        return QwenVLConfiguration(text: text, vision: vision, mropeSection: mrope,
                                   imageTokenID: top["image_token_id"] as? Int ?? 151_655,
                                   videoTokenID: top["video_token_id"] as? Int ?? 151_656,
                                   visionStartTokenID: top["vision_start_token_id"] as? Int ?? 151_652,
                                   visionEndTokenID: top["vision_end_token_id"] as? Int ?? 151_653)
    }

    /// Qwen2.5-VL-3B-Instruct as its hub `config.json` declares it.
    public static let qwen2_5_VL_3B_Instruct = QwenVLConfiguration(
        text: {
            var t = Qwen2Configuration(vocabSize: 151_936, hiddenSize: 2048, intermediateSize: 11_008, numHiddenLayers: 36,
                                       numAttentionHeads: 16, numKeyValueHeads: 2, rmsNormEps: 1e-6,
                                       tieWordEmbeddings: true, ropeTheta: 1_000_000)
            t.useSlidingWindow = false
            return t
        }(),
        vision: QwenVisionConfiguration(depth: 32, hiddenSize: 1280, intermediateSize: 3420, numHeads: 16, outHiddenSize: 2048,
                                        patchSize: 14, spatialMergeSize: 2, temporalPatchSize: 2, windowSize: 112,
                                        fullAttentionBlocks: [7, 15, 23, 31], inChannels: 3, tokensPerSecond: 2),
        mropeSection: [16, 24, 24])
}
