import UniRLTensor

// The two attentions of a SANA block, named as diffusers' `Attention` (models/attention_processor.py):
// `to_q`, `to_k`, `to_v`, optional `norm_q` / `norm_k`, and `to_out.0`.

/// Splits [B, N, H·D] into heads [B, H, N, D].
@inline(__always)
func splitHeads(_ x: Tensor, heads: Int) -> Tensor {
    x.reshaped([x.shape[0], x.shape[1], heads, x.shape[2] / heads]).transposed(1, 2)
}

/// Joins heads [B, H, N, D] into [B, N, H·D].
@inline(__always)
func mergeHeads(_ x: Tensor) -> Tensor {
    x.transposed(1, 2).reshaped([x.shape[0], x.shape[2], x.shape[1] * x.shape[3]])
}

/// The self-attention `attn1`: diffusers' `SanaLinearAttnProcessor2_0`, ReLU linear attention
///
///     out[n] = Σ_m v[m]·(q'[n]·k'[m]) / (Σ_m q'[n]·k'[m] + 1e-15),   q' = relu(q), k' = relu(k)
///
/// per head, computed as q'·(k'ᵀv) / (q'·Σk' + ε) in linear time by the engine's fused kernel.
final class SanaLinearSelfAttention: Module {
    let heads: Int
    let toQ: SanaLinear, toK: SanaLinear, toV: SanaLinear
    /// RMSNorm over all heads' channels (`qk_norm="rms_norm_across_heads"`, ε = 1e-5).
    let normQ: SanaRMSNorm?, normK: SanaRMSNorm?
    let toOut: ModuleList<SanaLinear>

    init(width: Int, heads: Int, headDim: Int, bias: Bool, qkNorm: Bool, _ factory: SanaParameterFactory) {
        let inner = heads * headDim
        self.heads = heads
        toQ = SanaLinear(width, inner, bias: bias, factory)
        toK = SanaLinear(width, inner, bias: bias, factory)
        toV = SanaLinear(width, inner, bias: bias, factory)
        normQ = qkNorm ? SanaRMSNorm(inner, eps: 1e-5, factory) : nil
        normK = qkNorm ? SanaRMSNorm(inner, eps: 1e-5, factory) : nil
        toOut = ModuleList([SanaLinear(inner, width, bias: true, factory)])
    }

    var submodules: [String: any Module] {
        var m: [String: any Module] = ["to_q": toQ, "to_k": toK, "to_v": toV, "to_out": toOut]
        if let normQ { m["norm_q"] = normQ }
        if let normK { m["norm_k"] = normK }
        return m
    }

    /// x [B, N, C] → [B, N, C].
    func callAsFunction(_ x: Tensor) -> Tensor {
        var q = toQ(x), k = toK(x)
        if let normQ { q = normQ(q) }
        if let normK { k = normK(k) }
        let o = Tensor.reluLinearAttention(query: splitHeads(q, heads: heads), key: splitHeads(k, heads: heads),
                                           value: splitHeads(toV(x), heads: heads), eps: 1e-15)
        return toOut[0](mergeHeads(o))
    }
}

/// The cross-attention `attn2`: diffusers' `SanaAttnProcessor2_0`, softmax attention of the
/// (un-normalised) hidden states to the projected caption, scale 1/√head_dim, with the caption
/// mask as an additive bias. Its head count and width may differ from the self-attention's.
final class SanaCrossAttention: Module {
    let heads: Int
    let toQ: SanaLinear, toK: SanaLinear, toV: SanaLinear
    let normQ: SanaRMSNorm?, normK: SanaRMSNorm?
    let toOut: ModuleList<SanaLinear>

    init(width: Int, contextWidth: Int, heads: Int, headDim: Int, qkNorm: Bool, _ factory: SanaParameterFactory) {
        let inner = heads * headDim
        self.heads = heads
        toQ = SanaLinear(width, inner, bias: true, factory)
        toK = SanaLinear(contextWidth, inner, bias: true, factory)
        toV = SanaLinear(contextWidth, inner, bias: true, factory)
        normQ = qkNorm ? SanaRMSNorm(inner, eps: 1e-5, factory) : nil
        normK = qkNorm ? SanaRMSNorm(inner, eps: 1e-5, factory) : nil
        toOut = ModuleList([SanaLinear(inner, width, bias: true, factory)])
    }

    var submodules: [String: any Module] {
        var m: [String: any Module] = ["to_q": toQ, "to_k": toK, "to_v": toV, "to_out": toOut]
        if let normQ { m["norm_q"] = normQ }
        if let normK { m["norm_k"] = normK }
        return m
    }

    /// x [B, N, C], context [B, L, C'] → [B, N, C].
    func callAsFunction(_ x: Tensor, context: Tensor, mask: AttentionMask) -> Tensor {
        var q = toQ(x), k = toK(context)
        if let normQ { q = normQ(q) }
        if let normK { k = normK(k) }
        let o = Tensor.scaledDotProductAttention(query: splitHeads(q, heads: heads), key: splitHeads(k, heads: heads),
                                                 value: splitHeads(toV(context), heads: heads), mask: mask)
        return toOut[0](mergeHeads(o))
    }

    /// The cross-attention mask for a caption mask [B, L] (1 keep, 0 drop), as diffusers builds it:
    /// the additive bias (1 − m)·(−10000) on the scaled scores.
    ///
    /// When the mask is 0/1 and every row keeps a token, that bias drives each dropped key's
    /// weight to exactly 0 in float32, so the cheaper key-padding form (−∞) gives the same
    /// numbers; otherwise (a fully masked caption, fractional values) the bias itself is used,
    /// which for a fully masked row still weights the keys by their scores, as diffusers does.
    static func mask(forCaptionMask mask: Tensor?) -> AttentionMask {
        guard let mask else { return .none }
        let (b, l) = (mask.shape[0], mask.shape[1])
        let values = mask.scalars
        let binary = values.allSatisfy { $0 == 0 || $0 == 1 }
        let everyRowKeeps = (0..<b).allSatisfy { row in values[(row * l)..<((row + 1) * l)].contains(1) }
        if binary && everyRowKeeps { return AttentionMask(keyPadding: mask.detached()) }
        let bias = Tensor(shape: [b, 1, 1, l], scalars: values.map { (1 - $0) * -10000 })
        return AttentionMask(additive: bias)
    }
}
