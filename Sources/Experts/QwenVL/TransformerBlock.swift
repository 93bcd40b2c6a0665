import UniRLTensor

/// Configuration of a pre-norm transformer block (snake_case keys, as in `config.json`).
public struct TransformerBlockConfiguration: Codable, Sendable, Equatable {
    public var hiddenSize: Int
    public var numHeads: Int
    public var numKeyValueHeads: Int?
    public var intermediateSize: Int
    public var ropeTheta: Float
    public var eps: Float

    public init(hiddenSize: Int, numHeads: Int, numKeyValueHeads: Int? = nil, intermediateSize: Int,
                ropeTheta: Float = 10_000, eps: Float = 1e-6) {
        self.hiddenSize = hiddenSize; self.numHeads = numHeads; self.numKeyValueHeads = numKeyValueHeads
        self.intermediateSize = intermediateSize; self.ropeTheta = ropeTheta; self.eps = eps
    }

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size", numHeads = "num_heads", numKeyValueHeads = "num_key_value_heads"
        case intermediateSize = "intermediate_size", ropeTheta = "rope_theta", eps
    }
}

/// A Qwen2-style decoder layer (transformers' `Qwen2DecoderLayer`, models/qwen2/modeling_qwen2.py):
///
///     h = x + attention(RMSNorm(x))
///     y = h + SwiGLU(RMSNorm(h))
///
/// with parameter names `input_layernorm`, `self_attn.{q,k,v,o}_proj`, `post_attention_layernorm`,
/// `mlp.{gate,up,down}_proj`.
public final class TransformerBlock: Module {
    public let configuration: TransformerBlockConfiguration
    public let inputLayerNorm: RMSNorm, selfAttention: MultiHeadAttention
    public let postAttentionLayerNorm: RMSNorm, mlp: SwiGLU

    public init(_ c: TransformerBlockConfiguration, _ vb: ParameterBuilder) {
        configuration = c
        inputLayerNorm = RMSNorm(dimension: c.hiddenSize, eps: c.eps, vb.scoped("input_layernorm"))
        selfAttention = MultiHeadAttention(
            hidden: c.hiddenSize, heads: c.numHeads, keyValueHeads: c.numKeyValueHeads, vb.scoped("self_attn"))
        postAttentionLayerNorm = RMSNorm(dimension: c.hiddenSize, eps: c.eps, vb.scoped("post_attention_layernorm"))
        mlp = SwiGLU(hidden: c.hiddenSize, intermediate: c.intermediateSize, vb.scoped("mlp"))
    }

    /// A randomly initialised layer, drawing from `rng`.
    public convenience init(_ c: TransformerBlockConfiguration, rng: inout RandomState) {
        let vb = ParameterBuilder.random(rng)
        self.init(c, vb)
        rng = vb.randomState
    }

    public var submodules: [String: any Module] {
        ["input_layernorm": inputLayerNorm, "self_attn": selfAttention,
         "post_attention_layernorm": postAttentionLayerNorm, "mlp": mlp]
    }

    /// x [B, T, C]; positions 0..<T with 1-D rotary embedding; causal attention with optional
    /// key padding `attentionMask` [B, T] (1 keep, 0 pad).
    public func callAsFunction(_ x: Tensor, attentionMask: Tensor? = nil) -> Tensor {
        let t = x.shape[1]
        let rotary = RotaryEmbedding.tables(
            positions: Array(0..<t), dimension: selfAttention.headDim, theta: configuration.ropeTheta)
        return callAsFunction(x, rotary: rotary, mask: AttentionMask(causal: true, keyPadding: attentionMask))
    }

    /// x [B, T, C] with explicit rotary tables and mask; `cache`/`layer` as in ``MultiHeadAttention``.
    public func callAsFunction(_ x: Tensor, rotary: (cos: Tensor, sin: Tensor)?, mask: AttentionMask,
                               cache: KeyValueCache? = nil, layer: Int = 0) -> Tensor {
        let h = x + selfAttention(inputLayerNorm(x), rotary: rotary, mask: mask, cache: cache, layer: layer)
        return h + mlp(postAttentionLayerNorm(h))
    }
}
