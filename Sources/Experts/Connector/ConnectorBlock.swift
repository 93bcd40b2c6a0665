import UniRLTensor

// The blocks of the meta-query connector, computed as UniRL-Zero's `TransformerBlock` /
// `SelfAttentionBlock` / `SwiGLU` (G-U-N/UniRL unimodel/blip3o/model/multimodal_projector/
// transformer_projector.py) with its parameter names. Built through a ``ParameterBuilder`` so
// that one construction path serves random initialisation, loading and shape listing.

/// Bidirectional multi-head self-attention over the query states: biased q/k/v/out projections,
/// RMSNorm over each head's q and k (weight [head_dim]), softmax(q·kᵀ/√head_dim)·v with no mask
/// and no positions.
final class ConnectorAttention: Module {
    let qProj: Linear, kProj: Linear, vProj: Linear, outProj: Linear
    let qNorm: RMSNorm, kNorm: RMSNorm
    let heads: Int, headDim: Int

    init(_ c: MetaQueryConnectorConfiguration, _ vb: ParameterBuilder) {
        let d = c.hiddenSize
        heads = c.numAttentionHeads
        headDim = c.headDim
        qProj = Linear(inputSize: d, outputSize: d, vb.scoped("q_proj"))
        kProj = Linear(inputSize: d, outputSize: d, vb.scoped("k_proj"))
        vProj = Linear(inputSize: d, outputSize: d, vb.scoped("v_proj"))
        outProj = Linear(inputSize: d, outputSize: d, vb.scoped("out_proj"))
        qNorm = RMSNorm(dimension: headDim, eps: Float(c.rmsNormEps), vb.scoped("q_norm"))
        kNorm = RMSNorm(dimension: headDim, eps: Float(c.rmsNormEps), vb.scoped("k_norm"))
    }

    var submodules: [String: any Module] {
        ["q_proj": qProj, "k_proj": kProj, "v_proj": vProj, "out_proj": outProj, "q_norm": qNorm, "k_norm": kNorm]
    }

    /// x [B, N, d] → [B, N, d].
    func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, n) = (x.shape[0], x.shape[1])
        // [B, N, d] → [B, N, H, hd] (norm over hd) → [B, H, N, hd]
        func heads(_ t: Tensor) -> Tensor { t.reshaped([b, n, self.heads, headDim]) }
        let q = qNorm(heads(qProj(x))).transposed(1, 2)
        let k = kNorm(heads(kProj(x))).transposed(1, 2)
        let v = heads(vProj(x)).transposed(1, 2)
        let o = Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: .none)
        return outProj(o.transposed(1, 2).reshaped([b, n, self.heads * headDim]))
    }
}

/// The official `SwiGLU`: w3(silu(w1·x) · w2·x), all three biased, hidden width 2d.
final class ConnectorFeedForward: Module {
    let w1: Linear, w2: Linear, w3: Linear

    init(_ c: MetaQueryConnectorConfiguration, _ vb: ParameterBuilder) {
        w1 = Linear(inputSize: c.hiddenSize, outputSize: c.feedForwardSize, vb.scoped("w1"))
        w2 = Linear(inputSize: c.hiddenSize, outputSize: c.feedForwardSize, vb.scoped("w2"))
        w3 = Linear(inputSize: c.feedForwardSize, outputSize: c.hiddenSize, vb.scoped("w3"))
    }

    var submodules: [String: any Module] { ["w1": w1, "w2": w2, "w3": w3] }

    func callAsFunction(_ x: Tensor) -> Tensor { w3(w1(x).silu() * w2(x)) }
}

/// One pre-norm block: x += attn(norm1(x)); x += ffn(norm2(x)).
final class ConnectorBlock: Module {
    let norm1: RMSNorm, norm2: RMSNorm
    let attn: ConnectorAttention
    let ffn: ConnectorFeedForward

    init(_ c: MetaQueryConnectorConfiguration, _ vb: ParameterBuilder) {
        norm1 = RMSNorm(dimension: c.hiddenSize, eps: Float(c.rmsNormEps), vb.scoped("norm1"))
        attn = ConnectorAttention(c, vb.scoped("attn"))
        norm2 = RMSNorm(dimension: c.hiddenSize, eps: Float(c.rmsNormEps), vb.scoped("norm2"))
        ffn = ConnectorFeedForward(c, vb.scoped("ffn"))
    }

    var submodules: [String: any Module] { ["norm1": norm1, "attn": attn, "norm2": norm2, "ffn": ffn] }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = x + attn(norm1(x))
        return h + ffn(norm2(h))
    }
}
