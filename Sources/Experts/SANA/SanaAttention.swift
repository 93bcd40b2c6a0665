import UniRLTensor

// The attention of a SANA block, named as diffusers' `Attention` (models/attention_processor.py).

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

/// diffusers' `Attention` as SANA's blocks configure it: the projections `to_q` (from the hidden
/// states), `to_k`, `to_v` (from the context: the hidden states themselves, or the caption),
/// optional RMSNorms `norm_q` / `norm_k` over all heads' channels (`qk_norm="rms_norm_across_heads"`,
/// ε = 1e-5) and `to_out.0`; what differs between the two attentions of a block is the processor:
///
/// - `attn1`, ``Processor/reluLinear``: diffusers' `SanaLinearAttnProcessor2_0`,
///
///       out[n] = Σ_m v[m]·(q'[n]·k'[m]) / (Σ_m q'[n]·k'[m] + 1e-15),   q' = relu(q), k' = relu(k)
///
///   per head, computed as q'·(k'ᵀv) / (q'·Σk' + ε) in linear time by the engine's fused kernel;
/// - `attn2`, ``Processor/softmax``: diffusers' `SanaAttnProcessor2_0`, softmax attention of the
///   (un-normalised) hidden states to the projected caption, scale 1/√head_dim, with the caption
///   mask as an additive bias. Its head count and width may differ from the self-attention's.
public final class SanaAttention: Module {
    /// How the heads attend.
    public enum Processor: Sendable { case reluLinear, softmax }

    public let processor: Processor
    public let heads: Int
    let toQ: Linear, toK: Linear, toV: Linear
    let normQ: RMSNorm?, normK: RMSNorm?
    let toOut: ModuleList<Linear>

    /// `contextWidth` is the width of what keys and values are computed from (`width` for
    /// self-attention); `bias` applies to q/k/v (`to_out.0` always has one).
    public init(processor: Processor, width: Int, contextWidth: Int? = nil, heads: Int, headDim: Int, bias: Bool, qkNorm: Bool,
                _ vb: ParameterBuilder) {
        let inner = heads * headDim, context = contextWidth ?? width
        self.processor = processor
        self.heads = heads
        toQ = Linear(inputSize: width, outputSize: inner, bias: bias, vb.scoped("to_q"))
        toK = Linear(inputSize: context, outputSize: inner, bias: bias, vb.scoped("to_k"))
        toV = Linear(inputSize: context, outputSize: inner, bias: bias, vb.scoped("to_v"))
        normQ = qkNorm ? RMSNorm(dimension: inner, eps: 1e-5, vb.scoped("norm_q")) : nil
        normK = qkNorm ? RMSNorm(dimension: inner, eps: 1e-5, vb.scoped("norm_k")) : nil
        toOut = ModuleList([Linear(inputSize: inner, outputSize: width, bias: true, vb.scoped("to_out.0"))])
    }

    /// A randomly initialised attention, drawing from `rng`.
    public convenience init(processor: Processor, width: Int, contextWidth: Int? = nil, heads: Int, headDim: Int, bias: Bool,
                            qkNorm: Bool, rng: inout RandomState) {
        let vb = ParameterBuilder.random(rng)
        self.init(processor: processor, width: width, contextWidth: contextWidth, heads: heads, headDim: headDim, bias: bias,
                  qkNorm: qkNorm, vb)
        rng = vb.randomState
    }

    public var submodules: [String: any Module] {
        var m: [String: any Module] = ["to_q": toQ, "to_k": toK, "to_v": toV, "to_out": toOut]
        if let normQ { m["norm_q"] = normQ }
        if let normK { m["norm_k"] = normK }
        return m
    }

    /// x [B, N, C] attending to `context` [B, L, C'] (to itself when `nil`) → [B, N, C]; `mask`
    /// applies to the softmax processor only.
    public func callAsFunction(_ x: Tensor, context: Tensor? = nil, mask: AttentionMask = .none) -> Tensor {
        let source = context ?? x
        var q = toQ(x), k = toK(source)
        if let normQ { q = normQ(q) }
        if let normK { k = normK(k) }
        let (query, key, value) = (splitHeads(q, heads: heads), splitHeads(k, heads: heads), splitHeads(toV(source), heads: heads))
        let o =
            switch processor {
            case .reluLinear: Tensor.reluLinearAttention(query: query, key: key, value: value, eps: 1e-15)
            case .softmax: Tensor.scaledDotProductAttention(query: query, key: key, value: value, mask: mask)
            }
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
