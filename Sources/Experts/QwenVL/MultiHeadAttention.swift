import UniRLTensor

/// Multi-head self-attention with grouped-query key/value heads, q/k/v biases and rotary
/// positions, laid out as Qwen2's `Qwen2Attention` (`q_proj`, `k_proj`, `v_proj`, `o_proj`;
/// transformers models/qwen2/modeling_qwen2.py).
public final class MultiHeadAttention: Module {
    public let heads: Int, keyValueHeads: Int, headDim: Int
    public let qProj: Linear, kProj: Linear, vProj: Linear, oProj: Linear

    public init(hidden: Int, heads: Int, keyValueHeads: Int? = nil, headDim: Int? = nil, qkvBias: Bool = true,
                _ vb: ParameterBuilder) {
        self.heads = heads
        self.keyValueHeads = keyValueHeads ?? heads
        self.headDim = headDim ?? hidden / heads
        qProj = Linear(inputSize: hidden, outputSize: heads * self.headDim, bias: qkvBias, vb.scoped("q_proj"))
        kProj = Linear(inputSize: hidden, outputSize: self.keyValueHeads * self.headDim, bias: qkvBias, vb.scoped("k_proj"))
        vProj = Linear(inputSize: hidden, outputSize: self.keyValueHeads * self.headDim, bias: qkvBias, vb.scoped("v_proj"))
        oProj = Linear(inputSize: heads * self.headDim, outputSize: hidden, bias: false, vb.scoped("o_proj"))
    }

    public var submodules: [String: any Module] { ["q_proj": qProj, "k_proj": kProj, "v_proj": vProj, "o_proj": oProj] }

    /// Splits [B, T, n·D] into [B, n, T, D].
    func splitHeads(_ x: Tensor, _ n: Int) -> Tensor {
        x.reshaped([x.shape[0], x.shape[1], n, headDim]).transposed(1, 2)
    }

    /// x [B, T, C] → [B, T, C]; `rotary` holds cos/sin tables broadcastable to [B, H, T, D].
    /// With a `cache`, the new keys/values are appended to layer `layer`'s history and the queries
    /// attend to all of it (the mask's key padding then covers the history too, [B, S + T]).
    public func callAsFunction(_ x: Tensor, rotary: (cos: Tensor, sin: Tensor)?, mask: AttentionMask,
                               cache: KeyValueCache? = nil, layer: Int = 0) -> Tensor {
        var q = splitHeads(qProj(x), heads), k = splitHeads(kProj(x), keyValueHeads)
        var v = splitHeads(vProj(x), keyValueHeads)
        if let rotary {
            q = q.applyingRotaryEmbedding(cos: rotary.cos, sin: rotary.sin)
            k = k.applyingRotaryEmbedding(cos: rotary.cos, sin: rotary.sin)
        }
        if let cache { (k, v) = cache.append(layer: layer, key: k, value: v) }
        let o = Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask)
        return oProj(o.transposed(1, 2).reshaped([x.shape[0], x.shape[1], heads * headDim]))
    }
}
