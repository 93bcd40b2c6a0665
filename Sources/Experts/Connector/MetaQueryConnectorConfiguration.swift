import Foundation

/// The settings of the meta-query connector (UniRL-Zero's `VisionTransformerProjector`,
/// G-U-N/UniRL unimodel/blip3o/model/multimodal_projector/transformer_projector.py), stored as its
/// `config.json` with snake_case keys:
///
///     {"hidden_size": 2048, "num_hidden_layers": 12, "num_attention_heads": 8,
///      "output_size": 2304, "rms_norm_eps": 1e-6, "num_queries": 256}
///
/// `num_queries` is present when the folder also stores the learned `t2i_queries` /
/// `i2i_queries` ([1, N, hidden_size]).
public struct MetaQueryConnectorConfiguration: Codable, Sendable, Equatable, ModelConfigurationFile {
    /// d, the LM's hidden size (the connector's width).
    public var hiddenSize: Int
    /// Pre-norm blocks (official default 12).
    public var numHiddenLayers: Int = 12
    /// Heads of the bidirectional self-attention (official default 8).
    public var numAttentionHeads: Int = 8
    /// Width of the output: SANA's `caption_channels` (2304 for Sana_1600M).
    public var outputSize: Int = 2304
    /// ε of every RMSNorm (the official code's default 1e-6).
    public var rmsNormEps: Double = 1e-6
    /// N, the number of meta-queries per set, when the queries are stored with the connector.
    public var numQueries: Int?

    public init(hiddenSize: Int, numHiddenLayers: Int = 12, numAttentionHeads: Int = 8, outputSize: Int = 2304,
                rmsNormEps: Double = 1e-6, numQueries: Int? = nil) {
        self.hiddenSize = hiddenSize; self.numHiddenLayers = numHiddenLayers; self.numAttentionHeads = numAttentionHeads
        self.outputSize = outputSize; self.rmsNormEps = rmsNormEps; self.numQueries = numQueries
    }

    /// UniRL-Zero's connector: Qwen2.5-VL-3B's width 2048, 12 layers of 8 heads, into
    /// Sana_1600M's 2304 caption channels, 256 queries per set.
    public static let unirlZero = MetaQueryConnectorConfiguration(hiddenSize: 2048, numHiddenLayers: 12, numAttentionHeads: 8,
                                                                  outputSize: 2304, rmsNormEps: 1e-6, numQueries: 256)

    /// Channels per head.
    public var headDim: Int { hiddenSize / numAttentionHeads }
    /// Hidden width of the SwiGLU feed-forward (2·d, as the official `SwiGLU` default).
    public var feedForwardSize: Int { 2 * hiddenSize }

    /// Throws ``ModelConfigurationError/inconsistent(_:)`` for settings that describe no working connector.
    public func validate() throws {
        func fail(_ reason: String) -> ModelConfigurationError { .inconsistent("meta-query connector: " + reason) }
        for (name, value) in [("hidden_size", hiddenSize), ("num_attention_heads", numAttentionHeads), ("output_size", outputSize)]
        where value < 1 { throw fail("\(name) must be positive, is \(value)") }
        guard numHiddenLayers >= 0 else { throw fail("num_hidden_layers must be ≥ 0, is \(numHiddenLayers)") }
        guard hiddenSize % numAttentionHeads == 0 else {
            throw fail("hidden_size \(hiddenSize) is not divisible by num_attention_heads \(numAttentionHeads)")
        }
        guard rmsNormEps > 0, rmsNormEps.isFinite else { throw fail("rms_norm_eps must be positive, is \(rmsNormEps)") }
        if let n = numQueries, n < 1 { throw fail("num_queries must be positive, is \(n)") }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case outputSize = "output_size", rmsNormEps = "rms_norm_eps", numQueries = "num_queries"
    }

    /// Every key of the file.
    public static let configurationKeys = Set(CodingKeys.allCases.map(\.rawValue))

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? 12
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? 8
        outputSize = try c.decodeIfPresent(Int.self, forKey: .outputSize) ?? 2304
        rmsNormEps = try c.decodeIfPresent(Double.self, forKey: .rmsNormEps) ?? 1e-6
        numQueries = try c.decodeIfPresent(Int.self, forKey: .numQueries)
    }
}
