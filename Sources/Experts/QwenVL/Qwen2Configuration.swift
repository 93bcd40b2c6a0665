import Foundation

/// The text decoder settings of Qwen2 / Qwen2.5 (transformers' `Qwen2Config`), read from either
/// the current layout (`rope_parameters`) or the older flat one (`rope_theta`, `rope_scaling`).
public struct Qwen2Configuration: Codable, Sendable, Equatable, ModelConfigurationFile {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int
    public var rmsNormEps: Float
    public var tieWordEmbeddings: Bool
    public var hiddenAct: String
    public var ropeTheta: Float
    public var useSlidingWindow: Bool

    public init(vocabSize: Int, hiddenSize: Int, intermediateSize: Int, numHiddenLayers: Int, numAttentionHeads: Int,
                numKeyValueHeads: Int, rmsNormEps: Float = 1e-6, tieWordEmbeddings: Bool = false, ropeTheta: Float = 10_000) {
        self.vocabSize = vocabSize; self.hiddenSize = hiddenSize; self.intermediateSize = intermediateSize
        self.numHiddenLayers = numHiddenLayers; self.numAttentionHeads = numAttentionHeads
        self.numKeyValueHeads = numKeyValueHeads; self.rmsNormEps = rmsNormEps
        self.tieWordEmbeddings = tieWordEmbeddings; self.hiddenAct = "silu"; self.ropeTheta = ropeTheta
        self.useSlidingWindow = false
    }

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads", rmsNormEps = "rms_norm_eps"
        case tieWordEmbeddings = "tie_word_embeddings", hiddenAct = "hidden_act", ropeTheta = "rope_theta"
        case ropeParameters = "rope_parameters", useSlidingWindow = "use_sliding_window"
    }

    struct RopeParameters: Codable { var rope_theta: Float?; var rope_type: String? }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
        numKeyValueHeads = try c.decodeIfPresent(Int.self, forKey: .numKeyValueHeads) ?? numAttentionHeads
        rmsNormEps = try c.decodeIfPresent(Float.self, forKey: .rmsNormEps) ?? 1e-6
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "silu"
        useSlidingWindow = try c.decodeIfPresent(Bool.self, forKey: .useSlidingWindow) ?? false
        let rope = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeParameters)
        if let type = rope?.rope_type, type != "default" {
            throw ModelConfigurationError.inconsistent("rope_type '\(type)' is not supported (only 'default')")
        }
        ropeTheta = try rope?.rope_theta ?? c.decodeIfPresent(Float.self, forKey: .ropeTheta) ?? 10_000
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vocabSize, forKey: .vocabSize); try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(intermediateSize, forKey: .intermediateSize); try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
        try c.encode(numAttentionHeads, forKey: .numAttentionHeads); try c.encode(numKeyValueHeads, forKey: .numKeyValueHeads)
        try c.encode(rmsNormEps, forKey: .rmsNormEps); try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        try c.encode(hiddenAct, forKey: .hiddenAct)
        try c.encode(RopeParameters(rope_theta: ropeTheta, rope_type: "default"), forKey: .ropeParameters)
        try c.encode(useSlidingWindow, forKey: .useSlidingWindow)
    }

    /// Keys of transformers' `Qwen2Config` (used or deliberately without effect here).
    public static var configurationKeys: Set<String> { knownKeys }
    /// The same set, by its earlier name.
    public static let knownKeys: Set<String> = [
        "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
        "num_key_value_heads", "rms_norm_eps", "tie_word_embeddings", "hidden_act", "rope_theta", "rope_scaling",
        "rope_parameters", "use_sliding_window", "sliding_window", "max_window_layers", "layer_types",
        "max_position_embeddings", "initializer_range", "attention_dropout", "pad_token_id", "bos_token_id",
        "eos_token_id",
    ]

    public func validate() throws {
        guard hiddenAct == "silu" else {
            throw ModelConfigurationError.inconsistent("hidden_act '\(hiddenAct)' is not supported (only 'silu')")
        }
        guard !useSlidingWindow else { throw ModelConfigurationError.inconsistent("use_sliding_window is not supported") }
        guard numAttentionHeads > 0, hiddenSize % numAttentionHeads == 0, numKeyValueHeads > 0,
              numAttentionHeads % numKeyValueHeads == 0 else {
            throw ModelConfigurationError.inconsistent(
                "\(numAttentionHeads) heads / \(numKeyValueHeads) KV heads do not divide hidden size \(hiddenSize)")
        }
    }
}
